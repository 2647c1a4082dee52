# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: a UEFI boot entry named so a person recognises it, pointing at the
# loader on the new disk's ESP, first in BootOrder. Older entries of the same
# name (from earlier installs) are removed first.

BOOT_LABEL="Edge Microvisor Toolkit"
: "${EMT_SYSFS:=/sys}"

# The loader on the ESP, as an EFI path (backslashes).
_esp_loader() {
  local f
  for f in EFI/BOOT/BOOTX64.EFI EFI/BOOT/bootx64.efi; do
    [[ -f $ESP_MNT/$f ]] && { printf '\\%s' "${f//\//\\}"; return 0; }
  done
  for f in "$ESP_MNT"/EFI/*/shimx64.efi "$ESP_MNT"/EFI/*/grubx64.efi "$ESP_MNT"/EFI/*/systemd-bootx64.efi; do
    [[ -f $f ]] || continue
    f=${f#"$ESP_MNT"/}
    printf '\\%s' "${f//\//\\}"
    return 0
  done
  return 1
}

add_boot_entry() {
  if [[ ! -d $EMT_SYSFS/firmware/efi ]]; then
    warn "not booted in UEFI mode: no boot entry added (the disk's EFI/BOOT loader still boots it)"
    return 0
  fi
  local loader="\\EFI\\BOOT\\BOOTX64.EFI" partnum="<esp>" n
  if [[ $DRY_RUN != 1 ]]; then
    if [[ -d $EMT_SYSFS/firmware/efi/efivars ]] && ! mountpoint -q "$EMT_SYSFS/firmware/efi/efivars"; then
      run_cmd mount -t efivarfs efivarfs "$EMT_SYSFS/firmware/efi/efivars" || warn "cannot mount efivarfs"
    fi
    mkdir -p "$ESP_MNT"
    mount_fat ro "$ESP_PART" "$ESP_MNT" || die "cannot mount the new ESP $ESP_PART"
    loader=$(_esp_loader) || { umount "$ESP_MNT" || true; die "no UEFI loader (EFI/BOOT/BOOTX64.EFI) on the new ESP $ESP_PART"; }
    umount "$ESP_MNT" >>"$EMT_LOG" 2>&1 || true
    partnum=$(cat "$EMT_SYSFS/class/block/${ESP_PART##*/}/partition") || die "cannot tell the partition number of $ESP_PART"
  fi
  # Remove earlier entries with our label.
  local out
  out=$(efibootmgr 2>>"$EMT_LOG") || die "efibootmgr cannot read the UEFI boot entries"
  while read -r n; do
    [[ -n $n ]] && { run_cmd efibootmgr -q -b "$n" -B || warn "cannot remove old boot entry $n"; }
  done < <(printf '%s\n' "$out" | sed -n "s/^Boot\([0-9A-Fa-f]\{4\}\)\*\{0,1\} $BOOT_LABEL\([[:space:]].*\)\{0,1\}$/\1/p")
  run_cmd efibootmgr -q -c -d "$TARGET_DISK" -p "$partnum" -L "$BOOT_LABEL" -l "$loader" ||
    die "efibootmgr could not add the boot entry"
  [[ $DRY_RUN == 1 ]] && return 0
  # efibootmgr -c puts the new entry first; make sure of it.
  out=$(efibootmgr 2>>"$EMT_LOG") || die "efibootmgr cannot read the UEFI boot entries"
  local new order
  new=$(printf '%s\n' "$out" | sed -n "s/^Boot\([0-9A-Fa-f]\{4\}\)\*\{0,1\} $BOOT_LABEL\([[:space:]].*\)\{0,1\}$/\1/p" | head -n1)
  [[ -n $new ]] || die "the new boot entry '$BOOT_LABEL' is not listed by efibootmgr"
  order=$(printf '%s\n' "$out" | sed -n 's/^BootOrder: //p')
  if [[ ${order%%,*} != "$new" ]]; then
    local rest=",$order,"
    rest=${rest//,$new,/,}
    rest=${rest#,}
    rest=${rest%,}
    run_cmd efibootmgr -q -o "$new${rest:+,$rest}" || die "cannot put the boot entry first in BootOrder"
  fi
  say "UEFI boot entry Boot$new '$BOOT_LABEL' -> $loader on $ESP_PART, first in BootOrder"
}

# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: when lvm_size_ingb > 0, make a partition of that size in the free space
# after the image (parted) and put the volume group 'lvmvg' on it (lvm2).
# There is no udev in the installer's view of LVM: tell lvm2 not to wait for it.

LVM_VG=lvmvg
LVM_PARTNAME=emt-lvm

# Start and end (MiB) of the largest free region, from `parted -m ... print free`.
_largest_free_mib() {
  parted -s -m "$TARGET_DISK" unit MiB print free 2>>"$EMT_LOG" |
    awk -F: '$5 ~ /^free;?$/ { s = $2; e = $3; gsub(/MiB/, "", s); gsub(/MiB/, "", e);
      if (e - s > best) { best = e - s; bs = s; be = e } }
      END { if (best > 0) printf "%d %d\n", bs + 0.999, be; else exit 1 }'
}

setup_lvm() {
  local gb need start end part
  gb=$(cfg_get lvm_size_ingb)
  if ((${gb:-0} == 0)); then
    say "no LVM data volume requested (lvm_size_ingb is 0)"
    return 0
  fi
  # GB as the config-file means it (10^9 bytes), rounded up to whole MiB.
  need=$(((gb * 1000000000 + 1048575) / 1048576))
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: parted -s -a optimal $TARGET_DISK mkpart $LVM_PARTNAME <start of free space> (+${need} MiB)"
    say "dry-run: pvcreate + vgcreate $LVM_VG on it"
    return 0
  fi
  read -r start end < <(_largest_free_mib) || die "no free space left on $TARGET_DISK for a ${gb} GB LVM volume"
  if ((end - start < need)); then
    die "$TARGET_DISK has $(((end - start) * 1048576 / 1000000000)) GB free after the OS image; lvm_size_ingb asks for ${gb} GB"
  fi
  run_cmd parted -s -a optimal "$TARGET_DISK" mkpart "$LVM_PARTNAME" "${start}MiB" "$((start + need))MiB" ||
    die "parted could not create the LVM partition on $TARGET_DISK"
  run_cmd partprobe "$TARGET_DISK" || run_cmd blockdev --rereadpt "$TARGET_DISK" || true
  udevadm settle --timeout=10 >/dev/null 2>&1 || true
  local tries
  for tries in 1 2 3 4 5; do
    disk_scan
    part=$(disk_find_part "$TARGET_DISK" "$LVM_PARTNAME") && break
    sleep "$EMT_SETTLE_SLEEP"
  done
  [[ -n $part ]] || die "the new LVM partition on $TARGET_DISK did not appear (tried $tries times)"
  run_cmd parted -s "$TARGET_DISK" set "$(cat "/sys/class/block/${part##*/}/partition")" lvm on || true
  run_cmd pvcreate -ff -y --config "$LVM_NO_UDEV" "$part" || die "pvcreate failed on $part"
  run_cmd vgcreate --config "$LVM_NO_UDEV" "$LVM_VG" "$part" || die "vgcreate $LVM_VG failed on $part"
  run_cmd vgchange -an --config "$LVM_NO_UDEV" "$LVM_VG" || true
  say "LVM volume group $LVM_VG on $part (${gb} GB)"
}

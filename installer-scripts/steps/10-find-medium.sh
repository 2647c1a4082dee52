# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: find the install medium by content (our manifest on an iso9660 file
# system) and its EMTCONFIG partition by GPT name or label; never by number.
# Mounts the ISO read-only at $ISO_MNT and EMTCONFIG at $CONFIG_MNT (read-write,
# read-only under --dry-run).

: "${EMT_INSTALLER_CONF:=/etc/emt-installer/installer.conf}"
: "${EMT_MEDIUM_WAIT:=60}"

read_installer_conf() {
  declare -gA ICONF=()
  if [[ -f $EMT_INSTALLER_CONF ]]; then
    cfg_parse "$EMT_INSTALLER_CONF" ICONF || die "$CFG_ERROR"
  else
    warn "$EMT_INSTALLER_CONF not found: using defaults"
  fi
  CONFIG_PARTLABEL=${ICONF[config_partlabel]:-EMTCONFIG}
  MANIFEST=${ICONF[manifest]:-/emt-installer.json}
  [[ $MANIFEST == /* && $MANIFEST != *..* ]] || die "installer.conf: manifest must be an absolute path"
}

# Try each iso9660 device; the one carrying our manifest is the medium.
# Partitions first: mounting the whole disk would claim it exclusively and the
# kernel would then refuse to mount EMTCONFIG, a partition of the same disk
# (our ISO partition 1 carries the same file system, -partition_offset 16).
_find_iso() {
  local i dev order=()
  for i in "${!D_NAME[@]}"; do [[ ${D_TYPE[i]} == part ]] && order+=("$i"); done
  for i in "${!D_NAME[@]}"; do [[ ${D_TYPE[i]} != part ]] && order+=("$i"); done
  for i in "${order[@]}"; do
    [[ ${D_FSTYPE[i]} == iso9660 ]] || continue
    dev=${D_NAME[i]}
    mountpoint -q "$ISO_MNT" 2>/dev/null && umount "$ISO_MNT" 2>/dev/null
    if mount -t iso9660 -o ro "$dev" "$ISO_MNT" >>"$EMT_LOG" 2>&1; then
      if [[ -f $ISO_MNT$MANIFEST ]]; then
        ISO_DEV=$dev
        return 0
      fi
      umount "$ISO_MNT" >>"$EMT_LOG" 2>&1 || true
    fi
  done
  return 1
}

_find_config_part() {
  local i want=${CONFIG_PARTLABEL,,} on_medium=() elsewhere=()
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == part ]] || continue
    [[ ${D_PARTLABEL[i],,} == "$want" || ${D_LABEL[i],,} == "$want" ]] || continue
    if [[ ${D_PKNAME[i]} == "$MEDIUM_DISK" ]]; then on_medium+=("${D_NAME[i]}"); else elsewhere+=("${D_NAME[i]}"); fi
  done
  if ((${#on_medium[@]} == 1)); then
    CONFIG_DEV=${on_medium[0]}
  elif ((${#on_medium[@]} > 1)); then
    die "the install medium $MEDIUM_DISK has ${#on_medium[@]} partitions named $CONFIG_PARTLABEL"
  elif ((${#elsewhere[@]} == 1)); then
    CONFIG_DEV=${elsewhere[0]}
  else
    die "no $CONFIG_PARTLABEL partition on the install medium $MEDIUM_DISK (was the stick written from the whole image?)"
  fi
}

find_medium() {
  read_installer_conf
  mkdir -p "$ISO_MNT" "$CONFIG_MNT"
  local waited=0
  until disk_scan && _find_iso; do
    if ((waited >= EMT_MEDIUM_WAIT)); then
      die "install medium not found: no iso9660 file system with $MANIFEST (waited ${EMT_MEDIUM_WAIT}s)"
    fi
    ((waited == 0)) && say "waiting for the install medium..."
    udevadm settle --timeout=5 >/dev/null 2>&1 || true
    sleep 2
    waited=$((waited + 2))
  done
  MEDIUM_DISK=$(disk_of "$ISO_DEV")
  say "install medium: $ISO_DEV on $MEDIUM_DISK"
  _find_config_part
  local opts=rw
  [[ $DRY_RUN == 1 ]] && opts=ro
  mount_fat "$opts" "$CONFIG_DEV" "$CONFIG_MNT" ||
    die "cannot mount the $CONFIG_PARTLABEL partition $CONFIG_DEV"
  CONFIG_MOUNTED=1
  say "site config partition: $CONFIG_DEV"
}

# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # globals shared between steps; D_* come from lib/disk.sh
# Step: find the install medium: ONE disk holding both an iso9660 file system with
# our manifest (on a partition) and a partition named EMTCONFIG (GPT name or fs
# label, never a number). Waits for both within one deadline (medium_wait), however
# late the stick, its partitions or their labels show up, and never settles for the
# whole disk while its partitions are still coming: mounting the whole disk would
# claim it and the kernel would then refuse EMTCONFIG, a partition of the same disk.
# Mounts the ISO read-only at $ISO_MNT and EMTCONFIG at $CONFIG_MNT (read-write,
# read-only under --dry-run).

: "${EMT_INSTALLER_CONF:=/etc/emt-installer/installer.conf}"
# A disk whose partitions stay missing this many tries gets its table re-read.
: "${EMT_REREAD_EVERY:=5}"

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
  # The environment wins (tests, a technician's debug shell), then installer.conf.
  MEDIUM_WAIT=${EMT_MEDIUM_WAIT:-${ICONF[medium_wait]:-60}}
  [[ $MEDIUM_WAIT =~ ^[0-9]{1,5}$ ]] || die "installer.conf: medium_wait '$MEDIUM_WAIT' is not a whole number of seconds"
}

declare -gA _PENDING_TRIES=()
MEDIUM_SEEN=()  # what each disk lacked at the last look, one line per disk
SEEN_CONFIG=()  # EMTCONFIG partitions seen at the last look (for the log on failure)
OTHER_DISKS=()  # disks not worth a line (internal, nothing of ours on them)

# Mount DEV read-only at $ISO_MNT and keep it there if it carries our manifest.
_iso_has_manifest() {
  if mountpoint -q "$ISO_MNT" 2>/dev/null; then umount "$ISO_MNT" >>"$EMT_LOG" 2>&1 || true; fi
  mount -t iso9660 -o ro "$1" "$ISO_MNT" >>"$EMT_LOG" 2>&1 || return 1
  [[ -f $ISO_MNT$MANIFEST ]] && return 0
  umount "$ISO_MNT" >>"$EMT_LOG" 2>&1 || true
  return 1
}

# The kernel may have missed the partitions (a stick that came up slowly): re-read
# the table now and then, but only when nothing holds the disk.
_nudge_disk() {
  local d=$1 n=$((${_PENDING_TRIES[$1]:-0} + 1))
  _PENDING_TRIES[$d]=$n
  ((n % EMT_REREAD_EVERY == 0)) || return 0
  if disk_is_free "$d"; then
    run_cmd blockdev --rereadpt "$d" || log "blockdev --rereadpt $d failed"
  else
    log "$d is in use: its partition table is not re-read"
  fi
}

# Does disk number I hold the whole medium? 0 with ISO_DEV, MEDIUM_DISK and
# CONFIG_DEV set; else 1, with what it lacks added to MEDIUM_SEEN.
_medium_on_disk() {
  local i=$1 d=${D_NAME[$1]} parts=() isos=() cfgs=() p n want=${CONFIG_PARTLABEL,,} what pending=""
  local stick=0
  [[ ${D_TYPE[i]} == disk && (${D_TRAN[i]} == usb || ${D_RM[i]} == 1) ]] && stick=1
  # An empty card reader waits for its medium; an idle nbd/loop device or an
  # empty optical drive is not worth a word.
  [[ ${D_SIZE[i]} != 0 || $stick == 1 ]] || return 1
  disk_parts "$d" parts
  for p in "${parts[@]}"; do
    [[ ${D_FSTYPE[p]} == iso9660 ]] && isos+=("${D_NAME[p]}")
    [[ ${D_PARTLABEL[p],,} == "$want" || ${D_LABEL[p],,} == "$want" ]] && cfgs+=("${D_NAME[p]}")
  done
  SEEN_CONFIG+=("${cfgs[@]}")
  what=$(disk_describe "$i")
  if ((${#isos[@]} > 0 && ${#cfgs[@]} > 0)); then
    ((${#cfgs[@]} == 1)) || die "the install medium $d has ${#cfgs[@]} partitions named $CONFIG_PARTLABEL (${cfgs[*]}): re-flash the stick"
    for p in "${isos[@]}"; do
      if _iso_has_manifest "$p"; then
        ISO_DEV=$p MEDIUM_DISK=$d CONFIG_DEV=${cfgs[0]}
        return 0
      fi
    done
    MEDIUM_SEEN+=("$what: iso9660 on ${isos[*]} without $MANIFEST (not an EMT installer stick)")
    return 1
  fi
  # Something is missing: is the kernel still adding partitions?
  if ((D_SIZE[i] == 0)); then
    pending="no medium yet (size 0)"
  elif n=$(disk_table_count "$d") && ((n > ${#parts[@]})); then
    pending="its partition table lists $n partitions, the kernel shows ${#parts[@]}"
  elif [[ -n ${D_PTTYPE[i]} ]] && ((${#parts[@]} == 0)); then
    pending="it has a ${D_PTTYPE[i]} partition table, the kernel shows no partitions yet"
  fi
  if [[ -n $pending ]]; then
    MEDIUM_SEEN+=("$what: $pending")
    ((D_SIZE[i] == 0)) || _nudge_disk "$d"
  elif ((${#isos[@]} > 0)); then
    MEDIUM_SEEN+=("$what: iso9660 on ${isos[*]} but no partition named $CONFIG_PARTLABEL ($(disk_parts_summary "$d"))")
  elif ((${#cfgs[@]} > 0)); then
    MEDIUM_SEEN+=("$what: $CONFIG_PARTLABEL on ${cfgs[*]} but no iso9660 partition ($(disk_parts_summary "$d"))")
  elif ((${#parts[@]} == 0)) && [[ ${D_FSTYPE[i]} == iso9660 ]]; then
    MEDIUM_SEEN+=("$what: iso9660 on the whole disk and no partitions (was the stick written from the whole image?)")
  elif ((stick)); then
    MEDIUM_SEEN+=("$what: no iso9660 file system ($(disk_parts_summary "$d"))")
  else
    OTHER_DISKS+=("$d")
  fi
  return 1
}

# One look at every disk; 0 when one holds the medium (the first in lsblk order).
medium_look() {
  local i
  MEDIUM_SEEN=() SEEN_CONFIG=() OTHER_DISKS=()
  disk_scan
  disk_probe_unknown
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == disk || ${D_TYPE[i]} == rom ]] || continue
    _medium_on_disk "$i" && return 0
  done
  return 1
}

# Tell the console what the last look saw, when that changed.
_LAST_SEEN=""
_report_seen() {
  local now l
  now=$(printf '%s\n' "${MEDIUM_SEEN[@]}")
  [[ $now != "$_LAST_SEEN" ]] || return 0
  _LAST_SEEN=$now
  for l in "${MEDIUM_SEEN[@]}"; do say "  seen: $l"; done
}

_medium_look_reporting() {
  medium_look && return 0
  _report_seen
  return 1
}

# At the deadline: leave the log on the stick if its EMTCONFIG is there, then one
# line saying what was seen, what was expected, and what to try.
_medium_missing() {
  if ((${#SEEN_CONFIG[@]} == 1)); then
    local opts=rw
    [[ $DRY_RUN == 1 ]] && opts=ro
    if mount_fat "$opts" "${SEEN_CONFIG[0]}" "$CONFIG_MNT"; then CONFIG_MOUNTED=1; fi
  fi
  local seen="" l
  for l in "${MEDIUM_SEEN[@]}"; do seen+="${seen:+; }$l"; done
  if [[ -z $seen ]]; then
    seen="no USB stick seen"
    ((${#OTHER_DISKS[@]} == 0)) || seen+=" (other disks: ${OTHER_DISKS[*]})"
  fi
  die "install medium not found within ${MEDIUM_WAIT} s: $seen; expected one disk with an iso9660 file system holding $MANIFEST and a partition named $CONFIG_PARTLABEL; try: re-seat the stick, another USB port (not through a hub), or re-flash the stick with verify"
}

find_medium() {
  read_installer_conf
  mkdir -p "$ISO_MNT" "$CONFIG_MNT"
  ISO_DEV="" MEDIUM_DISK="" CONFIG_DEV=""
  if ! medium_look; then
    say "waiting up to ${MEDIUM_WAIT} s for the install medium (a USB stick written from the installer image)"
    _LAST_SEEN=""
    _report_seen
    wait_for "$MEDIUM_WAIT" _medium_look_reporting || _medium_missing
    say "install medium appeared after ${WAIT_ELAPSED} s"
  fi
  say "install medium: $ISO_DEV on $MEDIUM_DISK"
  local opts=rw
  [[ $DRY_RUN == 1 ]] && opts=ro
  mount_fat "$opts" "$CONFIG_DEV" "$CONFIG_MNT" ||
    die "cannot mount the $CONFIG_PARTLABEL partition $CONFIG_DEV"
  CONFIG_MOUNTED=1
  say "site config partition: $CONFIG_DEV"
}

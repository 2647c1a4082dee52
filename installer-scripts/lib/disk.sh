# shellcheck shell=bash
# Block devices as lsblk reports them, and the target-disk policy.
#
# Policy (stated once, here): the target is a whole disk that is
#  - not the install medium (the disk holding our ISO and EMTCONFIG),
#  - not read-only, not zero-sized, not a loop/ram/zram/nbd/optical device,
#  - not removable or on USB, unless the config names it,
#  - at least as large as the OS image needs;
# when the config names a disk (target_disk_serial / target_disk_path) that disk
# is used or the install stops; otherwise NVMe disks are preferred, then
# SATA/SAS/virtio/SCSI, then eMMC, and exactly one disk must be left in the best
# group: two equal candidates stop the install (name one by serial or path).

# shellcheck disable=SC2034 # the D_* arrays and TARGET_DISK are read by the steps
LSBLK_COLS=NAME,TYPE,SIZE,TRAN,RM,RO,SERIAL,MODEL,PKNAME,PARTLABEL,LABEL,FSTYPE,PARTTYPE,PTTYPE
declare -ga D_NAME=() D_TYPE=() D_SIZE=() D_TRAN=() D_RM=() D_RO=() D_SERIAL=() D_MODEL=()
declare -ga D_PKNAME=() D_PARTLABEL=() D_LABEL=() D_FSTYPE=() D_PARTTYPE=() D_PTTYPE=()
: "${EMT_SYSFS:=/sys}" "${EMT_MOUNTS:=/proc/mounts}"

# lsblk -P escapes unsafe bytes (quote, backslash, controls) as \xHH: undo that.
_lsblk_unescape() {
  local -n _u=$1
  printf -v _u '%b' "$2"
}

# Fill the D_* arrays from `lsblk -P` (KEY="value" pairs, one device a line).
disk_scan() {
  local out line rest key val i=0
  D_NAME=() D_TYPE=() D_SIZE=() D_TRAN=() D_RM=() D_RO=() D_SERIAL=() D_MODEL=()
  D_PKNAME=() D_PARTLABEL=() D_LABEL=() D_FSTYPE=() D_PARTTYPE=() D_PTTYPE=()
  out=$(lsblk -P -b -p -o "$LSBLK_COLS") || die "lsblk failed: cannot list the disks"
  local re='^[[:space:]]*([A-Z_:]+)="([^"]*)"(.*)$'
  while IFS= read -r line; do
    [[ -z $line ]] && continue
    rest=$line
    declare -A row=()
    while [[ $rest =~ $re ]]; do
      key=${BASH_REMATCH[1]}
      _lsblk_unescape val "${BASH_REMATCH[2]}"
      rest=${BASH_REMATCH[3]}
      row[$key]=$val
    done
    D_NAME[i]=${row[NAME]-}
    D_TYPE[i]=${row[TYPE]-}
    D_SIZE[i]=${row[SIZE]:-0}
    D_TRAN[i]=${row[TRAN]-}
    D_RM[i]=${row[RM]:-0}
    D_RO[i]=${row[RO]:-0}
    D_SERIAL[i]=${row[SERIAL]-}
    D_MODEL[i]=${row[MODEL]-}
    D_PKNAME[i]=${row[PKNAME]-}
    D_PARTLABEL[i]=${row[PARTLABEL]-}
    D_LABEL[i]=${row[LABEL]-}
    D_FSTYPE[i]=${row[FSTYPE]-}
    D_PARTTYPE[i]=${row[PARTTYPE]-}
    D_PTTYPE[i]=${row[PTTYPE]-}
    unset row
    i=$((i + 1))
  done <<<"$out"
}

# lsblk takes labels, GPT names and types from udev's database, which lags behind
# the kernel (seconds, on a slow stick): for a partition or disk udev has recorded
# nothing about yet, read them from the device itself (blkid -p, low-level probe).
disk_probe_unknown() {
  local i
  for i in "${!D_NAME[@]}"; do
    case ${D_TYPE[i]} in
    part) [[ -z ${D_FSTYPE[i]}${D_LABEL[i]}${D_PARTLABEL[i]}${D_PARTTYPE[i]} ]] || continue ;;
    disk) [[ -z ${D_FSTYPE[i]}${D_PTTYPE[i]} && ${D_SIZE[i]} != 0 ]] || continue ;;
    *) continue ;;
    esac
    _disk_probe "$i"
  done
}

_disk_probe() {
  local i=$1 out line val
  # Exit 2 is "nothing found": whatever was printed still counts.
  out=$(blkid -p -o export -- "${D_NAME[i]}" 2>/dev/null) || true
  while IFS= read -r line; do
    [[ $line == *=* ]] || continue
    # -o export escapes like the shell does (a backslash before specials): read undoes that.
    # shellcheck disable=SC2162
    IFS= read val <<<"${line#*=}"
    case ${line%%=*} in
    TYPE) D_FSTYPE[i]=$val ;;
    LABEL) D_LABEL[i]=$val ;;
    PART_ENTRY_NAME) D_PARTLABEL[i]=$val ;;
    PART_ENTRY_TYPE) D_PARTTYPE[i]=$val ;;
    PTTYPE) D_PTTYPE[i]=$val ;;
    esac
  done <<<"$out"
  [[ -z $out ]] || log "blkid -p ${D_NAME[i]}: ${out//$'\n'/ }"
}

# disk_parts DISK ARRAY: indices of DISK's partitions, in lsblk order.
disk_parts() {
  local -n _p=$2
  local i
  _p=()
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == part && ${D_PKNAME[i]} == "$1" ]] && _p+=("$i")
  done
  return 0
}

# How many entries DISK's partition table holds, read from the device (partx,
# util-linux); fails when that is unknown (no table, no partx, unreadable).
disk_table_count() {
  command -v partx >/dev/null || return 1
  local out
  out=$(partx -g -r -o NR -- "$1" 2>/dev/null) || return 1
  [[ -n $out ]] || return 1
  printf '%s' "$(grep -c . <<<"$out")"
}

# True when nothing holds DISK: no holder (dm, md) on it or its partitions, and
# nothing of it mounted (so re-reading its partition table cannot fail or harm).
disk_is_free() {
  local d=${1##*/} h
  for h in "$EMT_SYSFS/class/block/$d/holders"/* "$EMT_SYSFS/class/block/$d/$d"*/holders/*; do
    [[ -e $h ]] && return 1
  done
  ! grep -q "^$1[p0-9]* " "$EMT_MOUNTS" 2>/dev/null
}

# DISK's partitions for messages: "/dev/sda1 iso9660 'ISO9660', /dev/sda3 vfat 'EMTCONFIG'".
disk_parts_summary() {
  local idx=() i s="" name
  disk_parts "$1" idx
  for i in "${idx[@]}"; do
    name=${D_PARTLABEL[i]:-${D_LABEL[i]}}
    [[ -z $name ]] || name=" '$name'"
    s+="${s:+, }${D_NAME[i]} ${D_FSTYPE[i]:-(no file system seen)}$name"
  done
  printf '%s' "${s:-no partitions}"
}

# Index of a device by name, or fail.
disk_index() {
  local i
  for i in "${!D_NAME[@]}"; do
    if [[ ${D_NAME[i]} == "$1" ]]; then
      printf '%s' "$i"
      return 0
    fi
  done
  return 1
}

# The whole disk a device belongs to (itself for a disk).
disk_of() {
  local i
  i=$(disk_index "$1") || { printf '%s' "$1"; return 0; }
  if [[ ${D_TYPE[i]} == part && -n ${D_PKNAME[i]} ]]; then printf '%s' "${D_PKNAME[i]}"; else printf '%s' "$1"; fi
}

# Partition of DISK whose GPT name or fs label is LABEL (case-insensitive), or
# (third arg) whose GPT type GUID matches.
disk_find_part() {
  local disk=$1 label=${2,,} type=${3-} i
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == part && ${D_PKNAME[i]} == "$disk" ]] || continue
    if [[ ${D_PARTLABEL[i],,} == "$label" || ${D_LABEL[i],,} == "$label" ]]; then
      printf '%s' "${D_NAME[i]}"
      return 0
    fi
  done
  [[ -n $type ]] || return 1
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == part && ${D_PKNAME[i]} == "$disk" && ${D_PARTTYPE[i],,} == "${type,,}" ]] || continue
    printf '%s' "${D_NAME[i]}"
    return 0
  done
  return 1
}

# 1 NVMe, 2 SATA/SAS/SCSI/virtio/IDE, 3 eMMC/SD, 0 never a target.
disk_tier() {
  local name=${1##*/} tran=$2
  case $name in
  loop* | ram* | zram* | nbd* | sr* | fd* | md* | dm-*) echo 0; return ;;
  esac
  case $tran in
  usb) echo 0 ;;
  nvme) echo 1 ;;
  sata | sas | ata | scsi | spi | virtio) echo 2 ;;
  mmc) echo 3 ;;
  *)
    case $name in
    nvme*) echo 1 ;;
    sd* | vd* | hd* | xvd*) echo 2 ;;
    mmcblk*) echo 3 ;;
    *) echo 0 ;;
    esac
    ;;
  esac
}

_gb() { awk -v b="$1" 'BEGIN { if (b < 1e9) printf "%.0f MB", b / 1e6; else printf "%.1f GB", b / 1e9 }'; }

disk_describe() {
  local i=$1
  printf '%s (%s, %s%s%s)' "${D_NAME[i]}" "$(_gb "${D_SIZE[i]}")" "${D_TRAN[i]:-?}" \
    "${D_MODEL[i]:+, ${D_MODEL[i]}}" "${D_SERIAL[i]:+, serial ${D_SERIAL[i]}}"
}

# choose_target_disk MEDIUM_DISK NEEDED_BYTES SERIAL PATH -> sets TARGET_DISK or dies.
choose_target_disk() {
  local medium=$1 needed=$2 want_serial=$3 want_path=$4 i
  TARGET_DISK=""
  if [[ -n $want_serial || -n $want_path ]]; then
    local found="" resolved=""
    if [[ -n $want_path ]]; then
      resolved=$(readlink -f -- "$want_path" 2>/dev/null) || resolved=$want_path
      [[ -n $resolved ]] || resolved=$want_path
    fi
    for i in "${!D_NAME[@]}"; do
      [[ ${D_TYPE[i]} == disk ]] || continue
      if [[ -n $want_serial && ${D_SERIAL[i]} != "$want_serial" ]]; then continue; fi
      if [[ -n $want_path && ${D_NAME[i]} != "$resolved" && ${D_NAME[i]} != "$want_path" ]]; then continue; fi
      [[ -z $found ]] || die "more than one disk matches serial '$want_serial': name the disk by path instead"
      found=$i
    done
    local what=""
    [[ -z $want_serial ]] || what="serial '$want_serial'"
    [[ -z $want_serial || -z $want_path ]] || what+=" and "
    [[ -z $want_path ]] || what+="path '$want_path'"
    [[ -n $found ]] || die "the disk named in the config ($what) is not present"
    [[ ${D_NAME[found]} != "$medium" ]] || die "the disk named in the config ($what) is the install medium: refusing to overwrite it"
    [[ ${D_RO[found]} != 1 ]] || die "the disk named in the config ($what) is read-only"
    if ((needed > 0 && D_SIZE[found] < needed)); then
      die "the disk named in the config, $(disk_describe "$found"), is too small: the OS image needs $(_gb "$needed")"
    fi
    TARGET_DISK=${D_NAME[found]}
    say "target disk (named in the config): $(disk_describe "$found")"
    return 0
  fi

  local best=9 tier small=() seen=() cands=()
  for i in "${!D_NAME[@]}"; do
    [[ ${D_TYPE[i]} == disk ]] || continue
    [[ ${D_NAME[i]} != "$medium" ]] || continue
    tier=$(disk_tier "${D_NAME[i]}" "${D_TRAN[i]}")
    ((tier > 0)) || continue
    [[ ${D_RO[i]} != 1 && ${D_RM[i]} != 1 ]] || continue
    ((D_SIZE[i] > 0)) || continue
    seen+=("$i")
    if ((needed > 0 && D_SIZE[i] < needed)); then
      small+=("$(disk_describe "$i")")
      continue
    fi
    if ((tier < best)); then
      best=$tier
      cands=("$i")
    elif ((tier == best)); then
      cands+=("$i")
    fi
  done
  if ((${#cands[@]} == 0)); then
    if ((${#small[@]} > 0)); then
      local IFS=';'
      die "no disk is large enough for the OS image ($(_gb "$needed") needed): ${small[*]}"
    fi
    die "no target disk found (no internal NVMe, SATA, virtio or eMMC disk besides the install medium)"
  fi
  if ((${#cands[@]} > 1)); then
    local list=() c
    for c in "${cands[@]}"; do list+=("$(disk_describe "$c")"); done
    local IFS=';'
    die "more than one possible target disk: ${list[*]}; set target_disk_serial or target_disk_path in the config"
  fi
  TARGET_DISK=${D_NAME[${cands[0]}]}
  say "target disk: $(disk_describe "${cands[0]}")"
}

# mount_fat OPTS DEV DIR: a FAT file system, trying the kernel's default I/O
# charset, then utf8 and iso8859-1: kernels differ in which NLS module they ship
# (Debian's default 'ascii' may be absent from a trimmed bootkit).
mount_fat() {
  local opts=$1 dev=$2 dir=$3 cs
  mount -o "$opts" "$dev" "$dir" >>"$EMT_LOG" 2>&1 && return 0
  for cs in utf8 iso8859-1; do
    mount -t vfat -o "$opts,iocharset=$cs" "$dev" "$dir" >>"$EMT_LOG" 2>&1 && return 0
  done
  return 1
}

# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: grow the image's data partition (edge_persistent, when it is the last
# one) into the free space, keeping lvm_size_ingb GB at the end; then, when
# lvm_size_ingb > 0, make a partition there (parted) and put the volume group
# 'lvmvg' on it (lvm2). lvm2 runs without udev: tell it not to wait for it.

LVM_VG=lvmvg
LVM_PARTNAME=emt-lvm
: "${EMT_SYSFS:=/sys}"
# Seconds the kernel gets to show a grown partition's new size, and the new LVM partition.
: "${EMT_GROW_WAIT:=30}" "${EMT_LVM_WAIT:=30}"

# Start and end (MiB) of the largest free region, from `parted -m ... print free`.
_largest_free_mib() {
  parted -s -m "$TARGET_DISK" unit MiB print free 2>>"$EMT_LOG" |
    awk -F: '$5 ~ /^free;?$/ { s = $2; e = $3; gsub(/MiB/, "", s); gsub(/MiB/, "", e);
      if (e - s > best) { best = e - s; bs = s; be = e } }
      END { if (best > 0) printf "%d %d\n", bs + 0.999, be; else exit 1 }'
}

DATA_PARTNAME=edge_persistent

# The partition's size as the kernel sees it (sectors of 512 bytes) is parted's.
_part_size_is() {
  local part=$1 want=$2 have
  have=$(cat "$EMT_SYSFS/class/block/${part##*/}/size" 2>/dev/null) || have=""
  [[ $have == "$want" ]] && return 0
  log "the kernel sees $part as ${have:-?} sectors, the table says $want (try $WAIT_TRY)"
  ((WAIT_TRY % 5)) || _reread_target || true
  return 1
}

# _wait_grown PART NUM: resize2fs must not run before the kernel knows the new size.
# parted counts logical sectors (4096 bytes on a 4Kn disk), sysfs 512-byte ones.
_wait_grown() {
  local part=$1 num=$2 want have
  want=$(parted -s -m "$TARGET_DISK" unit s print 2>>"$EMT_LOG" |
    awk -F: -v n="$num" 'NR == 2 { lss = $4 } $1 == n && lss > 0 { sub(/s$/, "", $4); printf "%.0f\n", $4 * lss / 512 }')
  if ! [[ $want =~ ^[0-9]+$ ]]; then
    log "parted shows no size in sectors for partition $num: not waiting for the kernel"
    return 0
  fi
  wait_for "$EMT_GROW_WAIT" _part_size_is "$part" "$want" && return 0
  have=$(cat "$EMT_SYSFS/class/block/${part##*/}/size" 2>/dev/null) || have="?"
  die "the kernel still sees $part at $have sectors ${EMT_GROW_WAIT} s after it was grown to $want sectors (the partition table was changed, the kernel did not take it); try: power the node off and on and install again"
}

# The new LVM partition by name (the kernel and the device itself).
_lvm_part_seen() {
  disk_scan
  disk_probe_unknown
  LVM_PART=$(disk_find_part "$TARGET_DISK" "$LVM_PARTNAME") && return 0
  log "no $LVM_PARTNAME partition on $TARGET_DISK yet (try $WAIT_TRY): $(disk_parts_summary "$TARGET_DISK")"
  ((WAIT_TRY % 5)) || _reread_target || true
  return 1
}

# grow_data_partition KEEP_MIB: resize edge_persistent to end KEEP_MIB (+1 MiB
# for the backup GPT) before the end of the disk, then its ext4 file system.
grow_data_partition() {
  local keep=$1 part num disk_end last_end cur_end new_end
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: parted -s $TARGET_DISK resizepart <$DATA_PARTNAME> <end of disk - ${keep} MiB>; e2fsck -fy; resize2fs <$DATA_PARTNAME>"
    return 0
  fi
  disk_scan
  part=$(disk_find_part "$TARGET_DISK" "$DATA_PARTNAME") || {
    say "no $DATA_PARTNAME partition: nothing to grow"
    return 0
  }
  num=$(cat "$EMT_SYSFS/class/block/${part##*/}/partition") || die "cannot tell the partition number of $part"
  local table
  table=$(parted -s -m "$TARGET_DISK" unit MiB print 2>>"$EMT_LOG") || die "parted cannot read the partition table of $TARGET_DISK"
  disk_end=$(printf '%s\n' "$table" | awk -F: 'NR == 2 { sub(/MiB/, "", $2); print int($2) }')
  last_end=$(printf '%s\n' "$table" | awk -F: 'NR > 2 { sub(/MiB/, "", $3); if ($3 + 0 > m) m = $3 + 0 } END { print m }')
  cur_end=$(printf '%s\n' "$table" | awk -F: -v n="$num" 'NR > 2 && $1 == n { sub(/MiB/, "", $3); print $3 + 0 }')
  if [[ -z $cur_end || $cur_end != "$last_end" ]]; then
    say "$DATA_PARTNAME is not the last partition: left as it is"
    return 0
  fi
  new_end=$((disk_end - keep - 3))
  if ((new_end <= ${cur_end%.*} + 1)); then
    say "no room to grow $DATA_PARTNAME"
    return 0
  fi
  run_cmd parted -s "$TARGET_DISK" resizepart "$num" "${new_end}MiB" || die "parted could not grow $part"
  _reread_target || true
  settle 10
  _wait_grown "$part" "$num"
  # e2fsck exits 1 when it fixed something: only >= 4 is a failure.
  local st=0
  run_cmd e2fsck -f -y "$part" || st=$?
  ((st < 4)) || die "e2fsck found errors in $part it could not fix"
  run_cmd resize2fs "$part" || die "resize2fs could not grow the file system on $part"
  say "$DATA_PARTNAME ($part) grown to end at ${new_end} MiB"
}

setup_lvm() {
  local gb need start end part
  gb=$(cfg_get lvm_size_ingb)
  # GB as the config-file means it (10^9 bytes), rounded up to whole MiB.
  need=0
  ((${gb:-0} == 0)) || need=$(((gb * 1000000000 + 1048575) / 1048576))
  grow_data_partition "$need"
  if ((${gb:-0} == 0)); then
    say "no LVM data volume requested (lvm_size_ingb is 0)"
    return 0
  fi
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
  _reread_target || true
  settle 10
  wait_for "$EMT_LVM_WAIT" _lvm_part_seen ||
    die "the new LVM partition '$LVM_PARTNAME' on $TARGET_DISK did not show up within ${EMT_LVM_WAIT} s (the kernel shows: $(disk_parts_summary "$TARGET_DISK")); try: power the node off and on and install again"
  part=$LVM_PART
  run_cmd parted -s "$TARGET_DISK" set "$(cat "$EMT_SYSFS/class/block/${part##*/}/partition")" lvm on || true
  run_cmd pvcreate -ff -y --config "$LVM_NO_UDEV" "$part" || die "pvcreate failed on $part"
  run_cmd vgcreate --config "$LVM_NO_UDEV" "$LVM_VG" "$part" || die "vgcreate $LVM_VG failed on $part"
  run_cmd vgchange -an --config "$LVM_NO_UDEV" "$LVM_VG" || true
  say "LVM volume group $LVM_VG on $part (${gb} GB)"
}

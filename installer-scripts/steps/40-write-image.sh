# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: write the OS image to the target disk, hashing the bytes read from the
# ISO on the way (tee into sha256sum), then compare with the .sha256; re-read
# the partition table and find the new partitions by name, not number.

ESP_TYPE=c12a7328-f81f-11d2-ba4b-00a0c93ec93b

# Make a half-written or unverified disk unbootable, so it is never mistaken for
# a good install.
wipe_target_header() {
  wipefs -a "$TARGET_DISK" >>"$EMT_LOG" 2>&1 || true
  dd if=/dev/zero of="$TARGET_DISK" bs=1M count=1 conv=fsync status=none 2>>"$EMT_LOG" || true
}

_unmount_target_disk() {
  # Nothing of the target may stay mounted or active (a reused disk may carry LVM).
  local i
  for i in "${!D_NAME[@]}"; do
    [[ ${D_PKNAME[i]} == "$TARGET_DISK" || ${D_NAME[i]} == "$TARGET_DISK" ]] || continue
    if grep -q "^${D_NAME[i]} " /proc/mounts 2>/dev/null; then run_cmd umount "${D_NAME[i]}" || die "cannot unmount ${D_NAME[i]}"; fi
  done
  if command -v pvs >/dev/null; then
    local pv vg
    while read -r pv vg; do
      [[ $pv == "$TARGET_DISK"* && -n $vg ]] || continue
      run_cmd vgchange -an --config "$LVM_NO_UDEV" "$vg" || die "cannot deactivate the old volume group $vg on $TARGET_DISK"
    done < <(pvs --noheadings -o pv_name,vg_name --config "$LVM_NO_UDEV" 2>/dev/null || true)
  fi
}

LVM_NO_UDEV='devices{obtain_device_list_from_udev=0} activation{udev_sync=0 udev_rules=0}'

write_image() {
  local cmd sumfile fifo hpid got size
  read -r -a cmd <<<"$(codec_cmd "$IMAGE_CODEC")"
  size=$(stat -c %s -- "$IMAGE")
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: $(quote_cmd "${cmd[@]}") < ${IMAGE} | dd of=$TARGET_DISK bs=4M (sha256 of the image checked against ${IMAGE##*/}.sha256)"
    say "dry-run: partprobe $TARGET_DISK"
    return 0
  fi
  _unmount_target_disk
  say "writing ${IMAGE##*/} ($(_gb "$size") $IMAGE_CODEC) to $TARGET_DISK"
  sumfile=$EMT_RUN_DIR/image.sha256
  fifo=$EMT_RUN_DIR/image.fifo
  rm -f "$fifo" "$sumfile"
  mkfifo "$fifo"
  sha256sum <"$fifo" >"$sumfile" &
  hpid=$!
  log "run: tee $fifo < $IMAGE | ${cmd[*]} | dd of=$TARGET_DISK bs=4M conv=fsync"
  local st=0
  # Every stage must succeed (checked here, not left to the caller's pipefail).
  tee "$fifo" <"$IMAGE" | "${cmd[@]}" 2>>"$EMT_LOG" | dd of="$TARGET_DISK" bs=4M iflag=fullblock conv=fsync status=none 2>>"$EMT_LOG" ||
    st=$?
  local ps=("${PIPESTATUS[@]}")
  [[ ${ps[*]} == "0 0 0" ]] || st=1
  log "pipeline status: ${ps[*]}"
  if ((st != 0)); then
    wait "$hpid" || true
    wipe_target_header
    die "writing the OS image to $TARGET_DISK failed (corrupt image or disk error); the disk was left unbootable"
  fi
  wait "$hpid" || die "hashing the OS image failed"
  read -r got _ <"$sumfile"
  rm -f "$fifo"
  if [[ $got != "$IMAGE_SHA256" ]]; then
    wipe_target_header
    die "the OS image on the stick is corrupt: sha256 $got, expected $IMAGE_SHA256; $TARGET_DISK was left unbootable"
  fi
  say "OS image written and verified (sha256 $got)"
  sync
  reread_partitions
}

# The image's backup GPT sits at the image's end, not the disk's: move it there so
# the space after the image can be partitioned (with whichever tool the bootkit has).
fix_backup_gpt() {
  if command -v sgdisk >/dev/null && run_cmd sgdisk -e "$TARGET_DISK"; then return 0; fi
  if command -v sfdisk >/dev/null && run_cmd sfdisk --relocate gpt-bak-std "$TARGET_DISK"; then return 0; fi
  if command -v parted >/dev/null && run_cmd parted -s --fix "$TARGET_DISK" print; then return 0; fi
  warn "could not move the backup GPT to the end of $TARGET_DISK: the space after the image stays unused"
}

reread_partitions() {
  fix_backup_gpt
  _reread_target || log "re-reading the partition table of $TARGET_DISK failed: waiting for the kernel anyway"
  settle 10
  find_target_parts
}

# partprobe (parted) or blockdev (util-linux), whichever the bootkit has and works.
_reread_target() {
  if command -v partprobe >/dev/null && run_cmd partprobe "$TARGET_DISK"; then return 0; fi
  run_cmd blockdev --rereadpt "$TARGET_DISK"
}

# Both partitions by name, as the kernel and the device itself show them; every
# few tries the table is re-read again (nothing of the new disk is in use yet).
_target_parts_seen() {
  disk_scan
  disk_probe_unknown
  ROOTFS_PART=$(disk_find_part "$TARGET_DISK" rootfs) || ROOTFS_PART=""
  ESP_PART=$(disk_find_part "$TARGET_DISK" esp "$ESP_TYPE") || ESP_PART=""
  [[ -n $ROOTFS_PART && -n $ESP_PART ]] && return 0
  log "partitions of $TARGET_DISK not all visible yet (try $WAIT_TRY): $(disk_parts_summary "$TARGET_DISK")"
  ((WAIT_TRY % 5)) || _reread_target || true
  return 1
}

: "${EMT_TARGET_PARTS_WAIT:=30}"

find_target_parts() {
  if [[ $DRY_RUN == 1 ]]; then
    _target_parts_seen || true
    return 0
  fi
  if ! wait_for "$EMT_TARGET_PARTS_WAIT" _target_parts_seen; then
    local missing="" table=""
    [[ -n $ROOTFS_PART ]] || missing="no partition named 'rootfs'"
    [[ -n $ESP_PART ]] || missing+="${missing:+ and }no EFI system partition"
    table=$(disk_table_count "$TARGET_DISK") && table="; its partition table lists $table entries"
    die "the written disk $TARGET_DISK shows $missing within ${EMT_TARGET_PARTS_WAIT} s (the kernel shows: $(disk_parts_summary "$TARGET_DISK")$table); expected the OS image's partitions, found by GPT name; try: power the node off and on and install again; if it persists, check the OS image (its partition names)"
  fi
  say "new partitions: rootfs $ROOTFS_PART, esp $ESP_PART"
}

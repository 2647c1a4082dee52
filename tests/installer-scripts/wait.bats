#!/usr/bin/env bats
# lib/wait.sh wait_for, and the waits on the kernel after the image is written
# (40-write-image.sh find_target_parts): partitions that show up late, names read
# from the device, and the message at the deadline.

load test_helper

setup() {
  common_setup
  stub udevadm
  stub sleep
  export COUNT=$T/count
  echo 0 >"$COUNT"
}

# Passes at its Nth call.
passes_at() {
  local n
  n=$(($(cat "$COUNT") + 1))
  echo "$n" >"$COUNT"
  ((n >= $1))
}

@test "wait_for returns once the check passes, settling udev and sleeping the set interval between tries" {
  EMT_SETTLE_SLEEP=0.25
  wait_for 30 passes_at 3
  [ "$WAIT_TRY" -eq 3 ]
  [ "$(grep -c '^sleep 0.25$' "$STUB_LOG")" -eq 2 ]
  [ "$(grep -c '^udevadm settle --timeout=5$' "$STUB_LOG")" -eq 2 ]
}

@test "wait_for at its deadline: 1, after at least one try; udev never waited on past it" {
  run wait_for 0 passes_at 99
  [ "$status" -eq 1 ]
  [ "$(cat "$COUNT")" -eq 1 ]
  not grep -q '^sleep' "$STUB_LOG"
  echo 0 >"$COUNT"
  local t0=$SECONDS
  run wait_for 2 passes_at 999999
  [ "$status" -eq 1 ]
  ((SECONDS - t0 >= 1))
  [ "$(cat "$COUNT")" -gt 1 ]
  not grep -q 'udevadm settle --timeout=[3-9]' "$STUB_LOG"
}

target_setup() {
  use_scan_fixture
  # shellcheck source=../../installer-scripts/steps/40-write-image.sh
  . "$SCRIPTS/steps/40-write-image.sh"
  for c in partprobe blockdev sgdisk; do stub "$c"; done
  TARGET_DISK=/dev/nvme0n1
}

nvme_parts() { # nvme_parts [names]: the written image's three partitions
  if [[ ${1-} == names ]]; then
    lsblk_row /dev/nvme0n1p1 part 33554432 PKNAME=/dev/nvme0n1 PARTLABEL=esp FSTYPE=vfat
    lsblk_row /dev/nvme0n1p2 part 67108864 PKNAME=/dev/nvme0n1 PARTLABEL=rootfs FSTYPE=ext4
  else
    lsblk_row /dev/nvme0n1p1 part 33554432 PKNAME=/dev/nvme0n1
    lsblk_row /dev/nvme0n1p2 part 67108864 PKNAME=/dev/nvme0n1
  fi
  lsblk_row /dev/nvme0n1p3 part 16777216 PKNAME=/dev/nvme0n1
}

@test "the written disk's partitions show up at the third look, their names only on the device" {
  target_setup
  lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme | at_look 1 lsblk
  { lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; nvme_parts; } | at_look 2 lsblk
  printf 'PART_ENTRY_NAME=esp\nPART_ENTRY_TYPE=c12a7328-f81f-11d2-ba4b-00a0c93ec93b\n' | at_look 3 blkid/nvme0n1p1
  printf 'TYPE=ext4\nPART_ENTRY_NAME=rootfs\n' | at_look 3 blkid/nvme0n1p2
  run reread_partitions
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"new partitions: rootfs /dev/nvme0n1p2, esp /dev/nvme0n1p1"* ]]
  [ "$(grep -c '^lsblk' "$STUB_LOG")" -eq 3 ]
  grep -qx 'sgdisk -e /dev/nvme0n1' "$STUB_LOG"
  grep -qx 'partprobe /dev/nvme0n1' "$STUB_LOG"
}

@test "partitions that stay missing get the table re-read again every fifth try" {
  target_setup
  lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme | at_look 1 lsblk
  { lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; nvme_parts names; } | at_look 7 lsblk
  run reread_partitions
  [ "$status" -eq 0 ]
  [ "$(grep -c '^partprobe /dev/nvme0n1$' "$STUB_LOG")" -eq 2 ]
}

@test "at the deadline: which partitions the kernel shows, what the table lists, what was expected" {
  target_setup
  export EMT_TARGET_PARTS_WAIT=1
  { lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; nvme_parts; } | at_look 1 lsblk
  printf 'PART_ENTRY_NAME=esp\nPART_ENTRY_TYPE=c12a7328-f81f-11d2-ba4b-00a0c93ec93b\nTYPE=vfat\n' | at_look 1 blkid/nvme0n1p1
  printf '1\n2\n3\n' | at_look 1 partx/nvme0n1
  run reread_partitions
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: the written disk /dev/nvme0n1 shows no partition named 'rootfs' within 1 s (the kernel shows: /dev/nvme0n1p1 vfat 'esp', /dev/nvme0n1p2 (no file system seen), /dev/nvme0n1p3 (no file system seen); its partition table lists 3 entries); expected the OS image's partitions, found by GPT name; try: power the node off and on and install again; if it persists, check the OS image (its partition names)" ]
  [ "$(grep -c '^lsblk' "$STUB_LOG")" -gt 1 ]
}

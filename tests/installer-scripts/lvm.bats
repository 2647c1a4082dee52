#!/usr/bin/env bats
# setup_lvm: growing edge_persistent and making the LVM partition, on stubbed
# parted/lvm output (the real tools run in tests/e2e/installer-vm.test.ts).

load test_helper

setup() {
  common_setup
  use_lsblk_fixture
  # shellcheck source=../../installer-scripts/steps/40-write-image.sh
  . "$SCRIPTS/steps/40-write-image.sh"
  # shellcheck source=../../installer-scripts/steps/60-lvm.sh
  . "$SCRIPTS/steps/60-lvm.sh"
  export EMT_SYSFS=$T/sys
  for n in 1 2 3 4; do
    mkdir -p "$EMT_SYSFS/class/block/nvme0n1p$n"
    echo "$n" >"$EMT_SYSFS/class/block/nvme0n1p$n/partition"
  done
  TARGET_DISK=/dev/nvme0n1
  CFG=([lvm_size_ingb]=10)
  # parted prints $T/parted.print for `print`, $T/parted.free for `print free`,
  # $T/parted.sectors for `unit s print`.
  stub parted 'case "$*" in *"print free"*) cat "$T/parted.free" ;; *"unit s print"*) cat "$T/parted.sectors" ;; *print*) cat "$T/parted.print" ;; esac'
  export T GROWN=123456789
  printf 'BYT;\n/dev/nvme0n1:125000000s:nvme:512:512:gpt:QEMU NVMe Ctrl:;\n3:200704s:123657492s:%ss:ext4:edge_persistent:;\n' "$GROWN" >"$T/parted.sectors"
  echo 32768 >"$EMT_SYSFS/class/block/nvme0n1p3/size"
  # The kernel takes the grown size at the GROW_SEEN_AT-th partprobe (the first by default).
  stub partprobe 'n=$(($(cat "$T/partprobe.n" 2>/dev/null || echo 0) + 1)); echo $n >"$T/partprobe.n"
    ((n < ${GROW_SEEN_AT:-1})) || echo "$GROWN" >"$EMT_SYSFS/class/block/nvme0n1p3/size"'
  for c in blockdev e2fsck resize2fs pvcreate vgcreate vgchange; do stub "$c"; done
  { lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme
    lsblk_row /dev/nvme0n1p1 part 33554432 PKNAME=/dev/nvme0n1 PARTLABEL=esp
    lsblk_row /dev/nvme0n1p2 part 67108864 PKNAME=/dev/nvme0n1 PARTLABEL=rootfs
    lsblk_row /dev/nvme0n1p3 part 16777216 PKNAME=/dev/nvme0n1 PARTLABEL=edge_persistent
    lsblk_row /dev/nvme0n1p4 part $((10 * GB)) PKNAME=/dev/nvme0n1 PARTLABEL=emt-lvm; } >"$LSBLK_OUT"
  printf 'BYT;\n/dev/nvme0n1:61035MiB:nvme:512:512:gpt:QEMU NVMe Ctrl:;\n1:1.00MiB:33.0MiB:32.0MiB:fat16:esp:boot, esp;\n2:34.0MiB:98.0MiB:64.0MiB:ext4:rootfs:;\n3:98.0MiB:114MiB:16.0MiB:ext4:edge_persistent:;\n' >"$T/parted.print"
}

@test "edge_persistent grows up to the LVM space, then lvmvg is made there" {
  local need=$(((10 * GB + 1048575) / 1048576))
  printf 'BYT;\n/dev/nvme0n1:61035MiB:nvme:512:512:gpt:QEMU NVMe Ctrl:;\n3:98.0MiB:%sMiB:1MiB:ext4:edge_persistent:;\n1:%s.00MiB:61035MiB:%sMiB:free;\n' \
    $((61035 - need - 3)) $((61035 - need - 3)) $((need + 3)) >"$T/parted.free"
  run setup_lvm
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx "parted -s /dev/nvme0n1 resizepart 3 $((61035 - need - 3))MiB" "$STUB_LOG"
  grep -qx 'e2fsck -f -y /dev/nvme0n1p3' "$STUB_LOG"
  grep -qx 'resize2fs /dev/nvme0n1p3' "$STUB_LOG"
  grep -qx "parted -s -a optimal /dev/nvme0n1 mkpart emt-lvm $((61035 - need - 3))MiB $((61035 - 3))MiB" "$STUB_LOG"
  grep -q "^pvcreate -ff -y --config devices{obtain_device_list_from_udev=0} .* /dev/nvme0n1p4$" "$STUB_LOG"
  grep -q '^vgcreate --config .* lvmvg /dev/nvme0n1p4$' "$STUB_LOG"
  [[ $output == *"LVM volume group lvmvg on /dev/nvme0n1p4 (10 GB)"* ]]
}

# The free space after edge_persistent (grown to end 3 MiB + 10 GB before the disk's end).
lvm_free() {
  local need=$(((10 * GB + 1048575) / 1048576))
  printf 'BYT;\n/dev/nvme0n1:61035MiB:nvme:512:512:gpt:QEMU NVMe Ctrl:;\n3:98.0MiB:%sMiB:1MiB:ext4:edge_persistent:;\n1:%s.00MiB:61035MiB:%sMiB:free;\n' \
    $((61035 - need - 3)) $((61035 - need - 3)) $((need + 3)) >"$T/parted.free"
}

@test "resize2fs waits until the kernel shows the grown size (here after the table is re-read again)" {
  export GROW_SEEN_AT=2 EMT_GROW_WAIT=10
  lvm_free
  run setup_lvm
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cat "$EMT_SYSFS/class/block/nvme0n1p3/size")" -eq "$GROWN" ]
  # partprobe after resizepart, again at the 5th try, then e2fsck and resize2fs.
  local second e2 rs
  second=$(grep -n '^partprobe' "$STUB_LOG" | sed -n 2p | cut -d: -f1)
  e2=$(grep -n '^e2fsck' "$STUB_LOG" | cut -d: -f1)
  rs=$(grep -n '^resize2fs' "$STUB_LOG" | cut -d: -f1)
  ((second < e2 && e2 < rs))
  grep -q 'the kernel sees /dev/nvme0n1p3 as 32768 sectors, the table says 123456789' "$EMT_LOG"
}

@test "on a 4Kn disk parted's sectors are 4096 bytes: compared in the kernel's 512-byte units" {
  # 600000000 sectors of 4096 bytes: 4800000000 of 512, past 2^32 as well.
  export GROWN=4800000000 EMT_GROW_WAIT=1
  printf 'BYT;\n/dev/nvme0n1:2000000000s:nvme:4096:4096:gpt:QEMU NVMe Ctrl:;\n3:25088s:600025087s:600000000s:ext4:edge_persistent:;\n' >"$T/parted.sectors"
  lvm_free
  run setup_lvm
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx 'resize2fs /dev/nvme0n1p3' "$STUB_LOG"
}

@test "the kernel never shows the grown size: stop before resize2fs, say what it sees" {
  export GROW_SEEN_AT=999 EMT_GROW_WAIT=1
  lvm_free
  run setup_lvm
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: the kernel still sees /dev/nvme0n1p3 at 32768 sectors 1 s after it was grown to 123456789 sectors (the partition table was changed, the kernel did not take it); try: power the node off and on and install again" ]
  [ "$(grep -c '^resize2fs\|^e2fsck\|^pvcreate' "$STUB_LOG")" -eq 0 ]
}

@test "the new LVM partition shows up at the third look, its name only on the device" {
  use_scan_fixture
  lvm_free
  # Looks 1 and 2 (the grow's own look, the LVM wait's first): p1-p3; look 3: p4, unnamed by udev.
  head -4 "$LSBLK_OUT" | at_look 1 lsblk
  { head -4 "$LSBLK_OUT"; lsblk_row /dev/nvme0n1p4 part $((10 * GB)) PKNAME=/dev/nvme0n1; } | at_look 3 lsblk
  printf 'PART_ENTRY_NAME=emt-lvm\n' | at_look 3 blkid/nvme0n1p4
  run setup_lvm
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q '^pvcreate .* /dev/nvme0n1p4$' "$STUB_LOG"
  [[ $output == *"LVM volume group lvmvg on /dev/nvme0n1p4 (10 GB)"* ]]
}

@test "the new LVM partition never shows up: one failed line naming what the kernel shows" {
  export EMT_LVM_WAIT=1
  use_scan_fixture
  lvm_free
  head -4 "$LSBLK_OUT" | at_look 1 lsblk
  run setup_lvm
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: the new LVM partition 'emt-lvm' on /dev/nvme0n1 did not show up within 1 s (the kernel shows: /dev/nvme0n1p1 (no file system seen) 'esp', /dev/nvme0n1p2 (no file system seen) 'rootfs', /dev/nvme0n1p3 (no file system seen) 'edge_persistent'); try: power the node off and on and install again" ]
  [ "$(grep -c '^pvcreate' "$STUB_LOG")" -eq 0 ]
}

@test "not enough free space for the LVM volume: clear failure" {
  printf 'BYT;\n/dev/nvme0n1:61035MiB:nvme:512:512:gpt:x:;\n1:114MiB:2000MiB:1886MiB:free;\n' >"$T/parted.free"
  printf 'BYT;\n/dev/nvme0n1:2001MiB:nvme:512:512:gpt:x:;\n3:98.0MiB:114MiB:16.0MiB:ext4:edge_persistent:;\n4:114MiB:115MiB:1MiB:ext4:other:;\n' >"$T/parted.print"
  run setup_lvm
  [ "$status" -eq 1 ]
  [[ $output == *"edge_persistent is not the last partition: left as it is"* ]]
  [[ $output == *"failed: /dev/nvme0n1 has 1 GB free after the OS image; lvm_size_ingb asks for 10 GB"* ]]
  [ "$(grep -c 'mkpart\|resizepart\|pvcreate' "$STUB_LOG")" -eq 0 ]
}

@test "lvm_size_ingb 0: edge_persistent takes the whole free space, no LVM" {
  CFG=([lvm_size_ingb]=0)
  run setup_lvm
  [ "$status" -eq 0 ]
  grep -qx 'parted -s /dev/nvme0n1 resizepart 3 61032MiB' "$STUB_LOG"
  [[ $output == *"no LVM data volume requested"* ]]
  [ "$(grep -c 'mkpart\|pvcreate' "$STUB_LOG")" -eq 0 ]
}

@test "--dry-run changes nothing" {
  DRY_RUN=1
  run setup_lvm
  [ "$status" -eq 0 ]
  [[ $output == *"dry-run: parted -s /dev/nvme0n1 resizepart <edge_persistent>"* ]]
  [[ $output == *"dry-run: pvcreate + vgcreate lvmvg on it"* ]]
  [ "$(grep -vc '^lsblk' "$STUB_LOG")" -eq 0 ]
}

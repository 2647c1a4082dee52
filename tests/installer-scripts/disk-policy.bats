#!/usr/bin/env bats
# The target-disk policy (lib/disk.sh choose_target_disk) on stubbed lsblk output.

load test_helper

setup() {
  common_setup
  use_lsblk_fixture
}

choose() { # choose [serial] [path]
  disk_scan
  choose_target_disk /dev/sda $((8 * GB)) "${1:-}" "${2:-}"
  echo "TARGET=$TARGET_DISK"
}

@test "one NVMe disk is chosen" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((256 * GB)) TRAN=nvme SERIAL=N1; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/nvme0n1"* ]]
}

@test "NVMe is preferred over SATA" {
  { stick_rows; lsblk_row /dev/sdb disk $((512 * GB)) TRAN=sata; lsblk_row /dev/nvme0n1 disk $((128 * GB)) TRAN=nvme; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/nvme0n1"* ]]
}

@test "a single SATA or virtio disk is chosen when there is no NVMe" {
  { stick_rows; lsblk_row /dev/vda disk $((64 * GB)) TRAN=virtio; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/vda"* ]]
}

@test "two NVMe disks are ambiguous: refuse and list them" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((256 * GB)) TRAN=nvme SERIAL=AAA; lsblk_row /dev/nvme1n1 disk $((256 * GB)) TRAN=nvme SERIAL=BBB; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 1 ]
  [[ $output == *"failed: more than one possible target disk: /dev/nvme0n1"*"serial AAA"*"/dev/nvme1n1"*"set target_disk_serial or target_disk_path"* ]]
  [[ $output != *TARGET=* ]]
}

@test "two NVMe disks: the one named by serial is chosen" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((256 * GB)) TRAN=nvme SERIAL=AAA; lsblk_row /dev/nvme1n1 disk $((256 * GB)) TRAN=nvme SERIAL=BBB; } >"$LSBLK_OUT"
  run choose BBB
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/nvme1n1"* ]]
}

@test "a disk named by path is chosen, even a SATA one beside an NVMe" {
  { stick_rows; lsblk_row /dev/sdb disk $((512 * GB)) TRAN=sata; lsblk_row /dev/nvme0n1 disk $((128 * GB)) TRAN=nvme; } >"$LSBLK_OUT"
  run choose "" /dev/sdb
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/sdb"* ]]
}

@test "a named serial that is not present stops the install" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((256 * GB)) TRAN=nvme SERIAL=AAA; } >"$LSBLK_OUT"
  run choose ZZZ
  [ "$status" -eq 1 ]
  [[ $output == *"failed: the disk named in the config (serial 'ZZZ') is not present"* ]]
}

@test "the install medium is never chosen, not even when named" {
  { stick_rows; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 1 ]
  [[ $output == *"failed: no target disk found"* ]]
  run choose "" /dev/sda
  [ "$status" -eq 1 ]
  [[ $output == *"is the install medium: refusing to overwrite it"* ]]
}

@test "the install medium is excluded even when it is not on USB" {
  { lsblk_row /dev/sda disk $((64 * GB)) TRAN=sata FSTYPE=iso9660
    lsblk_row /dev/sda3 part 64000000 PKNAME=/dev/sda PARTLABEL=EMTCONFIG
    lsblk_row /dev/sdb disk $((64 * GB)) TRAN=sata; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/sdb"* ]]
}

@test "a disk too small for the image is refused with its size" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((4 * GB)) TRAN=nvme; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 1 ]
  [[ $output == *"failed: no disk is large enough for the OS image (8.0 GB needed): /dev/nvme0n1 (4.0 GB"* ]]
}

@test "a too-small NVMe falls back to a large-enough SATA disk" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((4 * GB)) TRAN=nvme; lsblk_row /dev/sdb disk $((64 * GB)) TRAN=sata; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/sdb"* ]]
}

@test "a named disk that is too small is refused" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((4 * GB)) TRAN=nvme SERIAL=AAA; } >"$LSBLK_OUT"
  run choose AAA
  [ "$status" -eq 1 ]
  [[ $output == *"is too small: the OS image needs 8.0 GB"* ]]
}

@test "no disk at all" {
  : >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 1 ]
  [[ $output == *"failed: no target disk found"* ]]
}

@test "loop, zram, nbd, optical, read-only, removable and other USB disks are never candidates" {
  { stick_rows
    lsblk_row /dev/loop0 loop $((64 * GB))
    lsblk_row /dev/zram0 disk $((64 * GB))
    lsblk_row /dev/nbd0 disk 0
    lsblk_row /dev/sr0 rom $((64 * GB)) TRAN=sata
    lsblk_row /dev/sdc disk $((64 * GB)) TRAN=usb
    lsblk_row /dev/sdd disk $((64 * GB)) TRAN=sata RM=1
    lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme RO=1; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 1 ]
  [[ $output == *"failed: no target disk found"* ]]
}

@test "eMMC is used when it is the only internal disk" {
  { stick_rows; lsblk_row /dev/mmcblk0 disk $((32 * GB)) TRAN=mmc; lsblk_row /dev/mmcblk0boot0 disk 4000000 RO=1; } >"$LSBLK_OUT"
  run choose
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/mmcblk0"* ]]
}

@test "lsblk escapes in models and serials are decoded" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((256 * GB)) TRAN=nvme 'SERIAL=S4\x20EV' 'MODEL=Samsung\x20SSD'; } >"$LSBLK_OUT"
  run choose "S4 EV"
  [ "$status" -eq 0 ]
  [[ $output == *"TARGET=/dev/nvme0n1"* ]]
  [[ $output == *"Samsung SSD"* ]]
}

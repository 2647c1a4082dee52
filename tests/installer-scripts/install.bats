#!/usr/bin/env bats
# install.sh end to end on stubbed devices: --dry-run prints the whole plan and
# changes nothing; failures stop with one 'failed:' line and leave the log on the stick.

load test_helper

setup() {
  common_setup
  use_lsblk_fixture
  FIX=$T/media
  export FIX EMT_SYSFS=$T/sys EMT_INSTALLER_CONF=$T/installer.conf EMT_FINAL_PAUSE=0
  mkdir -p "$EMT_SYSFS/firmware/efi" "$FIX/sda1/images" "$FIX/sda3"
  printf 'config_partlabel=EMTCONFIG\nmanifest=/emt-installer.json\n' >"$EMT_INSTALLER_CONF"
  echo '{"build":"test"}' >"$FIX/sda1/emt-installer.json"
  head -c $((8 << 20)) /dev/zero >"$T/os.raw"
  sgdisk -n1:2048:+2M -t1:ef00 -c1:esp -n2:0:0 -c2:rootfs "$T/os.raw" >/dev/null
  gzip -c "$T/os.raw" >"$FIX/sda1/images/os.raw.gz"
  (cd "$FIX/sda1/images" && sha256sum os.raw.gz >os.raw.gz.sha256)
  write_config_env "$FIX/sda3/emt/config.env" hostname=node-1 lvm_size_ingb=10 "runcmd_count=1" \
    "http_proxy=$(enc "http://p.example.com:911")"
  mkdir -p "$FIX/sda3/emt/runcmd"
  printf '%s\n' "touch $CANARY" >"$FIX/sda3/emt/runcmd/001.sh"
  # mount copies a fixture folder named after the device into the mount point.
  stub mount 'dev=${*: -2:1}; dir=${*: -1}; src=$FIX/${dev##*/}; [ -d "$src" ] || exit 32; cp -a "$src/." "$dir/"'
  stub umount
  stub mountpoint '[ -n "$(ls -A "${*: -1}" 2>/dev/null)" ]'
  stub udevadm
  stub efibootmgr 'printf "BootCurrent: 0001\nBootOrder: 0001,0000\nBoot0000* UiApp\nBoot0001* UEFI QEMU USB\n"'
  local c
  for c in dd parted useradd chpasswd wipefs sgdisk partprobe blockdev pvcreate vgcreate vgchange mkfs.ext4 systemctl reboot poweroff; do
    stub "$c"
  done
}

# Stub calls that could change a disk (mounting the stick's EMTCONFIG rw for the log is expected).
mutations() { grep -Ev '^(lsblk|blkid -p|partx|mount -t iso9660 -o ro|mount -o ro|mount -o rw /dev/sda3 |mountpoint|umount|udevadm|efibootmgr ?$)' "$STUB_LOG" || true; }

@test "--dry-run prints every step and action, and touches no disk" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme SERIAL=N1; } >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh" --dry-run
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "emt-installer: start (dry run: no disk is changed)" ]
  for i in 1 2 3 4 5 6 7 8; do [[ $output == *"emt-installer: step $i/8: "* ]]; done
  [[ $output == *"install medium: /dev/sda1 on /dev/sda"* ]]
  [[ $output == *"site config partition: /dev/sda3"* ]]
  [[ $output == *"target disk: /dev/nvme0n1 (64.0 GB, nvme, serial N1)"* ]]
  [[ $output == *"dry-run: gzip -dc < $T/run/iso/images/os.raw.gz | dd of=/dev/nvme0n1 bs=4M"* ]]
  [[ $output == *"dry-run: useradd -R $T/run/target -m -s /bin/bash"*" edge"* ]]
  [[ $output == *"dry-run: write $T/run/target/etc/hostname"* ]]
  [[ $output == *"dry-run: write $T/run/target/etc/environment"* ]]
  [[ $output == *"dry-run: write $T/run/target/etc/cloud/cloud.cfg.d/99-emt-installer.cfg"* ]]
  [[ $output == *"dry-run: parted -s -a optimal /dev/nvme0n1 mkpart emt-lvm"* ]]
  [[ $output == *"dry-run: efibootmgr -q -c -d /dev/nvme0n1 -p \<esp\> -L Edge\ Microvisor\ Toolkit -l \\\\EFI\\\\BOOT\\\\BOOTX64.EFI"* ]]
  [[ $output == *"emt-installer: done"* ]]
  [[ $output == *"dry-run: systemctl reboot"* ]]
  [ -z "$(mutations)" ] || { mutations; false; }
  grep -q '^mount -o ro /dev/sda3 ' "$STUB_LOG"
  [ ! -e "$CANARY" ]
}

@test "no target disk: failed line, log on the stick, nothing written" {
  stick_rows >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "emt-installer: start" ]
  [ "${lines[-1]}" = "emt-installer: failed: choose the target disk: no target disk found (no internal NVMe, SATA, virtio or eMMC disk besides the install medium)" ]
  grep -q '^mount -o rw /dev/sda3 ' "$STUB_LOG"
  local logs=("$T"/run/config/logs/install-*.log)
  [ -f "${logs[0]}" ]
  grep -q 'failed: choose the target disk: no target disk found' "${logs[0]}"
  [ -z "$(mutations)" ] || { mutations; false; }
}

@test "target disk too small: refused before anything is written" {
  { stick_rows; lsblk_row /dev/nvme0n1 disk 4000000 TRAN=nvme; } >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh"
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == "emt-installer: failed: choose the target disk: no disk is large enough for the OS image (8 MB needed): /dev/nvme0n1 (4 MB, nvme)" ]]
  [ -z "$(mutations)" ] || { mutations; false; }
}

@test "missing OS image: clear message, log on the stick" {
  rm "$FIX"/sda1/images/*
  { stick_rows; lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; } >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: choose the target disk: no OS image in /images on the install medium" ]
  ls "$T"/run/config/logs/install-*.log
  [ -z "$(mutations)" ] || { mutations; false; }
}

@test "no install medium: says what it looked for" {
  lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: find the install medium: install medium not found within 0 s: no USB stick seen (other disks: /dev/nvme0n1); expected one disk with an iso9660 file system holding /emt-installer.json and a partition named EMTCONFIG; try: re-seat the stick, another USB port (not through a hub), or re-flash the stick with verify" ]
}

@test "a stick without EMTCONFIG partition is refused" {
  { lsblk_row /dev/sda disk 2000000000 TRAN=usb FSTYPE=iso9660; lsblk_row /dev/sda1 part 1500000000 PKNAME=/dev/sda FSTYPE=iso9660
    lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; } >"$LSBLK_OUT"
  run "$SCRIPTS/install.sh"
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == "emt-installer: failed: find the install medium: install medium not found within 0 s: /dev/sda (2.0 GB, usb): iso9660 on /dev/sda1 but no partition named EMTCONFIG (/dev/sda1 iso9660); expected "* ]]
  # The whole disk is never mounted while a partition of it holds the ISO.
  not grep -q '^mount .* /dev/sda ' "$STUB_LOG"
}

@test "unknown options are refused" {
  run "$SCRIPTS/install.sh" --force
  [ "$status" -eq 2 ]
}

#!/usr/bin/env bats
# find_medium while devices show up late: look by look, the kernel (lsblk rows),
# udev (their label columns) and the device itself (blkid -p, partx) show more of
# the stick. The medium is one disk with our ISO AND its EMTCONFIG partition.

load test_helper

setup() {
  common_setup
  use_scan_fixture
  FIX=$T/media
  export FIX EMT_INSTALLER_CONF=$T/installer.conf EMT_SYSFS=$T/sys EMT_MOUNTS=$T/mounts EMT_MEDIUM_WAIT=10
  : >"$EMT_MOUNTS"
  printf 'config_partlabel=EMTCONFIG\nmanifest=/emt-installer.json\n' >"$EMT_INSTALLER_CONF"
  for d in sda sdb; do
    mkdir -p "$FIX/${d}1" "$FIX/${d}3/emt"
    echo '{"build":"test"}' >"$FIX/${d}1/emt-installer.json"
    write_config_env "$FIX/${d}3/emt/config.env"
  done
  # mount copies a fixture folder named after the device into the mount point; umount empties it.
  stub mount 'dev=${*: -2:1}; dir=${*: -1}; src=$FIX/${dev##*/}; [ -d "$src" ] || exit 32; cp -a "$src/." "$dir/"'
  stub umount 'dir=${*: -1}; [ -d "$dir" ] && find "$dir" -mindepth 1 -delete; exit 0'
  stub mountpoint '[ -n "$(ls -A "${*: -1}" 2>/dev/null)" ]'
  stub udevadm
  stub blockdev
  ISO_MNT=$T/run/iso CONFIG_MNT=$T/run/config
  # shellcheck source=../../installer-scripts/steps/10-find-medium.sh
  . "$SCRIPTS/steps/10-find-medium.sh"
  # shellcheck source=../../installer-scripts/steps/80-finish.sh
  . "$SCRIPTS/steps/80-finish.sh"
  emt_on_failure() { save_log_to_stick; }
  STEP_NAME="find the install medium"
}

medium() {
  find_medium
  echo "ISO=$ISO_DEV CONFIG=$CONFIG_DEV DISK=$MEDIUM_DISK"
}

looks() { grep -c '^lsblk' "$STUB_LOG"; }
nvme_row() { lsblk_row /dev/nvme0n1 disk $((64 * GB)) TRAN=nvme; }
# stick_disk NAME [KEY=VALUE...]: the stick's whole disk as lsblk shows it.
stick_disk() { lsblk_row "/dev/$1" disk 2000000000 TRAN=usb RM=1 MODEL=Stick "${@:2}"; }
# stick_parts NAME [udev|bare]: its three partitions, with udev's columns or with none yet.
stick_parts() {
  local d=$1
  if [[ ${2:-udev} == udev ]]; then
    lsblk_row "/dev/${d}1" part 1500000000 "PKNAME=/dev/$d" FSTYPE=iso9660 LABEL=EMT_INST PARTLABEL=ISO9660
    lsblk_row "/dev/${d}2" part 8000000 "PKNAME=/dev/$d" FSTYPE=vfat PARTLABEL=Appended2
    lsblk_row "/dev/${d}3" part 64000000 "PKNAME=/dev/$d" FSTYPE=vfat PARTLABEL=EMTCONFIG LABEL=EMTCONFIG
  else
    lsblk_row "/dev/${d}1" part 1500000000 "PKNAME=/dev/$d"
    lsblk_row "/dev/${d}2" part 8000000 "PKNAME=/dev/$d"
    lsblk_row "/dev/${d}3" part 64000000 "PKNAME=/dev/$d"
  fi
}
# The partition table on the stick itself, as partx reads it (3 entries).
stick_table() { printf '1\n2\n3\n' | at_look "$1" "partx/$2"; }

@test "partitions, then their labels, show up only at the third look" {
  { nvme_row; stick_disk sda; } | at_look 1 lsblk
  printf 'TYPE=iso9660\nLABEL=EMT_INST\nPTTYPE=gpt\n' | at_look 1 blkid/sda
  stick_table 1 sda
  { nvme_row; stick_disk sda; stick_parts sda bare; } | at_look 2 lsblk
  { nvme_row; stick_disk sda FSTYPE=iso9660 PTTYPE=gpt; stick_parts sda; } | at_look 3 lsblk
  run medium
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"ISO=/dev/sda1 CONFIG=/dev/sda3 DISK=/dev/sda"* ]]
  [ "$(looks)" -eq 3 ]
  [[ $output == *"waiting up to 10 s for the install medium"* ]]
  [[ $output == *"seen: /dev/sda (2.0 GB, usb, Stick): its partition table lists 3 partitions, the kernel shows 0"* ]]
  [[ $output == *"seen: /dev/sda (2.0 GB, usb, Stick): no iso9660 file system (/dev/sda1 (no file system seen), /dev/sda2 (no file system seen), /dev/sda3 (no file system seen))"* ]]
  [[ $output == *"install medium appeared after "*" s"* ]]
  [[ $output == *"site config partition: /dev/sda3"* ]]
  # Never the whole disk: it holds the same iso9660 file system as its partition 1.
  not grep -q '^mount .* /dev/sda ' "$STUB_LOG"
  grep -q '^mount -t iso9660 -o ro /dev/sda1 ' "$STUB_LOG"
  grep -q '^mount -o rw /dev/sda3 ' "$STUB_LOG"
  [ -f "$CONFIG_MNT/emt/config.env" ]
}

@test "labels and GPT names udev has not recorded are read from the device (blkid -p)" {
  { nvme_row; stick_disk sda; stick_parts sda bare; } | at_look 1 lsblk
  printf 'TYPE=iso9660\nLABEL=EMT_INST\nPART_ENTRY_NAME=ISO9660\n' | at_look 1 blkid/sda1
  printf 'TYPE=vfat\nPART_ENTRY_NAME=Appended2\n' | at_look 1 blkid/sda2
  printf 'TYPE=vfat\nLABEL=EMTCONFIG\nPART_ENTRY_NAME=EMTCONFIG\nPART_ENTRY_TYPE=ebd0a0a2-b9e5-4433-87c0-68b6b72699c7\n' |
    at_look 1 blkid/sda3
  run medium
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"ISO=/dev/sda1 CONFIG=/dev/sda3 DISK=/dev/sda"* ]]
  [ "$(looks)" -eq 1 ]
  [[ $output != *waiting* ]]
  grep -qx 'blkid -p -o export -- /dev/sda3' "$STUB_LOG"
}

@test "an escaped label from blkid -o export is unescaped" {
  { stick_disk sda; lsblk_row /dev/sda1 part 1000 PKNAME=/dev/sda; } | at_look 1 lsblk
  printf 'TYPE=vfat\nLABEL=My\\ \\"Stick\\"\n' | at_look 1 blkid/sda1
  disk_scan
  disk_probe_unknown
  [ "${D_LABEL[1]}" = 'My "Stick"' ]
  [ "${D_FSTYPE[1]}" = vfat ]
}

@test "the disk shows up before its partitions: wait, re-read its table, never mount the whole disk" {
  export EMT_REREAD_EVERY=2
  nvme_row | at_look 1 lsblk
  { nvme_row; stick_disk sda FSTYPE=iso9660 PTTYPE=gpt; } | at_look 2 lsblk
  stick_table 2 sda
  { nvme_row; stick_disk sda FSTYPE=iso9660 PTTYPE=gpt; stick_parts sda; } | at_look 6 lsblk
  run medium
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"ISO=/dev/sda1 CONFIG=/dev/sda3 DISK=/dev/sda"* ]]
  [ "$(looks)" -eq 6 ]
  [[ $output == *"seen: /dev/sda (2.0 GB, usb, Stick): its partition table lists 3 partitions, the kernel shows 0"* ]]
  grep -qx 'blockdev --rereadpt /dev/sda' "$STUB_LOG"
  not grep -q '^mount .* /dev/sda ' "$STUB_LOG"
}

@test "a disk something holds is not re-read" {
  export EMT_REREAD_EVERY=1 EMT_MEDIUM_WAIT=1
  mkdir -p "$EMT_SYSFS/class/block/sda/holders/dm-0"
  stick_disk sda PTTYPE=gpt | at_look 1 lsblk
  run medium
  [ "$status" -eq 1 ]
  not grep -q '^blockdev' "$STUB_LOG"
  grep -q '/dev/sda is in use: its partition table is not re-read' "$EMT_LOG"
  # Nor when one of its partitions is mounted.
  rm -r "$EMT_SYSFS/class/block/sda/holders/dm-0"
  echo '/dev/sda2 /media vfat rw 0 0' >"$EMT_MOUNTS"
  echo 0 >"$SCAN/count"
  run medium
  not grep -q '^blockdev' "$STUB_LOG"
  : >"$EMT_MOUNTS"
  echo 0 >"$SCAN/count"
  run medium
  grep -qx 'blockdev --rereadpt /dev/sda' "$STUB_LOG"
}

@test "two sticks one after the other: the one with the installer is the medium" {
  { nvme_row; stick_disk sda; lsblk_row /dev/sda1 part 1000000000 PKNAME=/dev/sda FSTYPE=vfat LABEL=DATA; } | at_look 1 lsblk
  { nvme_row; stick_disk sda; lsblk_row /dev/sda1 part 1000000000 PKNAME=/dev/sda FSTYPE=vfat LABEL=DATA
    stick_disk sdb PTTYPE=gpt FSTYPE=iso9660; } | at_look 2 lsblk
  { nvme_row; stick_disk sda; lsblk_row /dev/sda1 part 1000000000 PKNAME=/dev/sda FSTYPE=vfat LABEL=DATA
    stick_disk sdb PTTYPE=gpt FSTYPE=iso9660; stick_parts sdb; } | at_look 3 lsblk
  run medium
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"ISO=/dev/sdb1 CONFIG=/dev/sdb3 DISK=/dev/sdb"* ]]
  [[ $output == *"seen: /dev/sda (2.0 GB, usb, Stick): no iso9660 file system (/dev/sda1 vfat 'DATA')"* ]]
  [[ $output == *"seen: /dev/sdb (2.0 GB, usb, Stick): it has a gpt partition table, the kernel shows no partitions yet"* ]]
  [ "$(looks)" -eq 3 ]
  not grep -q '^mount .*/dev/sda' "$STUB_LOG"
}

@test "EMTCONFIG of another disk is never taken: ISO and config come from the same stick" {
  export EMT_MEDIUM_WAIT=1
  # sda: the ISO, its EMTCONFIG not labelled yet (and never, here); sdb: some other stick's EMTCONFIG.
  { stick_disk sda PTTYPE=gpt; stick_parts sda | sed '/sda3/s/EMTCONFIG//g'
    stick_disk sdb; lsblk_row /dev/sdb1 part 64000000 PKNAME=/dev/sdb FSTYPE=vfat LABEL=EMTCONFIG; } | at_look 1 lsblk
  run medium
  echo "$output"
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == "emt-installer: failed: find the install medium: install medium not found within 1 s: /dev/sda (2.0 GB, usb, Stick): iso9660 on /dev/sda1 but no partition named EMTCONFIG (/dev/sda1 iso9660 'ISO9660', /dev/sda2 vfat 'Appended2', /dev/sda3 vfat); /dev/sdb (2.0 GB, usb, Stick): EMTCONFIG on /dev/sdb1 but no iso9660 partition (/dev/sdb1 vfat 'EMTCONFIG'); expected one disk with an iso9660 file system holding /emt-installer.json and a partition named EMTCONFIG; try: re-seat the stick, another USB port (not through a hub), or re-flash the stick with verify" ]]
}

@test "at the deadline: one failed line with the device, its partitions, what was expected, what to try" {
  export EMT_MEDIUM_WAIT=1
  { nvme_row; stick_disk sda; } | at_look 1 lsblk
  printf 'PTTYPE=gpt\n' | at_look 1 blkid/sda
  stick_table 1 sda
  run medium
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: find the install medium: install medium not found within 1 s: /dev/sda (2.0 GB, usb, Stick): its partition table lists 3 partitions, the kernel shows 0; expected one disk with an iso9660 file system holding /emt-installer.json and a partition named EMTCONFIG; try: re-seat the stick, another USB port (not through a hub), or re-flash the stick with verify" ]
  [ "$(grep -c 'failed:' <<<"$output")" -eq 1 ]
  # It kept looking until the deadline, not just once.
  [ "$(looks)" -gt 1 ]
  grep -q 'failed: find the install medium: install medium not found within 1 s' "$EMT_LOG"
}

@test "at the deadline with only a foreign ISO: the log goes to the stick's EMTCONFIG" {
  export EMT_MEDIUM_WAIT=0
  rm "$FIX/sda1/emt-installer.json"
  echo other >"$FIX/sda1/README"
  { nvme_row; stick_disk sda PTTYPE=gpt; stick_parts sda; } | at_look 1 lsblk
  run medium
  echo "$output"
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == "emt-installer: failed: find the install medium: install medium not found within 0 s: /dev/sda (2.0 GB, usb, Stick): iso9660 on /dev/sda1 without /emt-installer.json (not an EMT installer stick); expected "* ]]
  local logs=("$CONFIG_MNT"/logs/install-*.log)
  [ -f "${logs[0]}" ]
  grep -q 'failed: find the install medium: install medium not found' "${logs[0]}"
}

@test "no stick at all: says so and names the disks it saw (not idle nbd devices)" {
  export EMT_MEDIUM_WAIT=0
  { lsblk_row /dev/nbd0 disk 0; lsblk_row /dev/nbd1 disk 0; nvme_row; } | at_look 1 lsblk
  run medium
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == "emt-installer: failed: find the install medium: install medium not found within 0 s: no USB stick seen (other disks: /dev/nvme0n1); expected "* ]]
}

@test "a reader that is there but has no medium yet (size 0) is waited for; an empty optical drive is not" {
  export EMT_MEDIUM_WAIT=0
  export EMT_REREAD_EVERY=1
  { lsblk_row /dev/sr0 rom 0 TRAN=sata RM=1; lsblk_row /dev/sda disk 0 TRAN=usb RM=1 MODEL=Reader; } | at_look 1 lsblk
  run medium
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == *"within 0 s: /dev/sda (0 MB, usb, Reader): no medium yet (size 0); expected "* ]]
  not grep -q '^blkid\|^blockdev' "$STUB_LOG"
}

@test "the deadline comes from installer.conf (medium_wait) unless the environment sets it" {
  unset EMT_MEDIUM_WAIT
  echo 'medium_wait=0' >>"$EMT_INSTALLER_CONF"
  nvme_row | at_look 1 lsblk
  run medium
  [ "$status" -eq 1 ]
  [[ ${lines[-1]} == *"install medium not found within 0 s: "* ]]
  echo 'medium_wait=soon' >>"$EMT_INSTALLER_CONF"
  run medium
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: find the install medium: installer.conf: medium_wait 'soon' is not a whole number of seconds" ]
}

@test "two EMTCONFIG partitions on the medium stop at once" {
  { stick_disk sda PTTYPE=gpt; stick_parts sda; lsblk_row /dev/sda4 part 64000000 PKNAME=/dev/sda FSTYPE=vfat LABEL=emtconfig; } | at_look 1 lsblk
  run medium
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "emt-installer: failed: find the install medium: the install medium /dev/sda has 2 partitions named EMTCONFIG (/dev/sda3 /dev/sda4): re-flash the stick" ]
  [ "$(looks)" -eq 1 ]
}

#!/usr/bin/env bats
# write_image on a real loop device with real gzip/xz/zstd and sha256sum.

load test_helper

setup() {
  common_setup
  # shellcheck source=../../installer-scripts/steps/30-choose-disk.sh
  . "$SCRIPTS/steps/30-choose-disk.sh"
  # shellcheck source=../../installer-scripts/steps/40-write-image.sh
  . "$SCRIPTS/steps/40-write-image.sh"
  # Loop devices show no partitions in this container: check the GPT instead.
  find_target_parts() { sgdisk -p "$TARGET_DISK" | grep -q ' rootfs$' && say "new partitions: rootfs found"; }
  ISO_MNT=$T/iso
  mkdir -p "$ISO_MNT/images"
  # An 8 MiB GPT disk image: esp + rootfs, filled with a pattern.
  RAW=$T/os.raw
  head -c $((8 << 20)) /dev/urandom >"$RAW"
  sgdisk -n1:2048:+2M -t1:ef00 -c1:esp -n2:0:0 -t2:8300 -c2:rootfs "$RAW" >/dev/null
  truncate -s 32M "$T/target.img"
  TARGET_DISK=$(losetup -f --show "$T/target.img")
}

teardown() {
  [[ -n ${TARGET_DISK:-} ]] && losetup -d "$TARGET_DISK"
}

put_image() { # put_image NAME [sha256]
  cp "$T/$1" "$ISO_MNT/images/$1"
  local sum=${2:-$(sha256sum <"$T/$1" | cut -d' ' -f1)}
  printf '%s  %s\n' "$sum" "$1" >"$ISO_MNT/images/$1.sha256"
}

# The partition area of the target equals the image (GPT headers change with sgdisk -e).
same_data() {
  cmp -s <(dd if="$TARGET_DISK" bs=1M skip=1 count=6 status=none) <(dd if="$RAW" bs=1M skip=1 count=6 status=none)
}

@test "gzip, xz, zstd and raw images are written, verified and sized from their GPT" {
  local codec name
  for codec in gzip xz zstd raw; do
    rm -f "$ISO_MNT"/images/*
    case $codec in
    gzip) gzip -c "$RAW" >"$T/os.raw.gz"; name=os.raw.gz ;;
    xz) xz -c --check=crc32 "$RAW" >"$T/os.raw.xz"; name=os.raw.xz ;;
    zstd) zstd -qc "$RAW" >"$T/os.raw.zst"; name=os.raw.zst ;;
    raw) name=os.raw ;;
    esac
    put_image "$name"
    dd if=/dev/zero of="$TARGET_DISK" bs=1M count=32 status=none
    find_image
    [ "$IMAGE_CODEC" = "$codec" ]
    [ "$IMAGE_NEEDED" -eq $((8 << 20)) ]
    run write_image
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"OS image written and verified (sha256 $(sha256sum <"$T/$name" | cut -d' ' -f1))"* ]]
    same_data
    # sgdisk -e moved the backup GPT to the end of the (larger) disk.
    sgdisk -v "$TARGET_DISK" | grep -q 'No problems found'
  done
}

@test "a sha256 mismatch fails and leaves the disk unbootable" {
  gzip -c "$RAW" >"$T/os.raw.gz"
  put_image os.raw.gz "$(printf '0%.0s' {1..64})"
  find_image
  run write_image
  [ "$status" -eq 1 ]
  [[ $output == *"failed: the OS image on the stick is corrupt: sha256 "*", expected 0000"*"left unbootable"* ]]
  [ "$(head -c 1048576 "$TARGET_DISK" | tr -d '\0' | wc -c)" -eq 0 ]
  run sgdisk -p "$TARGET_DISK"
  [[ $output != *rootfs* ]]
}

@test "a truncated (corrupt) gzip image fails and leaves the disk unbootable" {
  gzip -c "$RAW" | head -c 300000 >"$T/os.raw.gz"
  put_image os.raw.gz
  find_image
  run write_image
  [ "$status" -eq 1 ]
  [[ $output == *"failed: writing the OS image to $TARGET_DISK failed (corrupt image or disk error)"* ]]
  [ "$(head -c 1048576 "$TARGET_DISK" | tr -d '\0' | wc -c)" -eq 0 ]
}

@test "missing image, missing .sha256, two images: clear messages" {
  run find_image
  [[ $output == *"failed: no OS image in /images on the install medium"* ]]
  cp "$RAW" "$ISO_MNT/images/os.raw"
  run find_image
  [[ $output == *"failed: the OS image os.raw has no .sha256 next to it: cannot verify it"* ]]
  put_image os.raw
  cp "$RAW" "$ISO_MNT/images/other.raw"
  run find_image
  [[ $output == *"failed: more than one OS image in /images on the install medium"* ]]
}

@test "--dry-run writes nothing" {
  gzip -c "$RAW" >"$T/os.raw.gz"
  put_image os.raw.gz
  find_image
  DRY_RUN=1
  run write_image
  [ "$status" -eq 0 ]
  [[ $output == *"dry-run: gzip -dc < $ISO_MNT/images/os.raw.gz | dd of=$TARGET_DISK bs=4M"* ]]
  [ "$(tr -d '\0' <"$TARGET_DISK" | wc -c)" -eq 0 ]
}

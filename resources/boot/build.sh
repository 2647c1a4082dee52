#!/usr/bin/env bash
# Builds our GRUB boot loaders from Debian's grub packages into resources/boot/dist/:
#   BOOTX64.EFI      standalone x86_64-efi GRUB, early.cfg in its memdisk
#   eltorito.img     i386-pc El Torito core image, early.cfg in its memdisk (BIOS CD/USB)
#   boot_hybrid.img  grub-pc-bin's MBR for hybrid ISOs (xorriso --grub2-mbr)
#   SOURCES          licence and the exact Debian package versions used
#   COPYING-GRUB     the GPL-3 text, which must travel with the binaries
#   shim/            the Secure Boot chain (build --secure-boot shim), copied unmodified:
#                    shimx64.efi (Microsoft-signed shim), mmx64.efi (MokManager, Debian-signed),
#                    grubx64.efi (Debian-signed GRUB), grub.cfg (early.cfg), SOURCES; only when those packages are installed
# Output is cached by a hash of the recipe (this script, early.cfg, package
# versions, SOURCE_DATE_EPOCH) under ${EMT_CACHE_DIR:-$HOME/.cache/emt-usb}/boot-<hash>.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
dist="$here/dist"
cache_root="${EMT_CACHE_DIR:-$HOME/.cache/emt-usb}"
# A fixed date, so the same packages give the same bytes on any day.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1700000000}"

EFI_DIR=/usr/lib/grub/x86_64-efi
PC_DIR=/usr/lib/grub/i386-pc
# Modules preloaded into the images (nothing is loaded from disk later).
COMMON_MODULES=(part_gpt part_msdos iso9660 fat search search_fs_file search_fs_uuid
  search_label configfile linux normal echo all_video gzio test regexp loadenv serial
  terminal sleep halt reboot ls cat)
EFI_MODULES=("${COMMON_MODULES[@]}")
PC_MODULES=(biosdisk "${COMMON_MODULES[@]}")
PACKAGES=(grub-efi-amd64-bin grub-pc-bin grub-common)
# The signed chain: Debian's files as shipped (re-signing or rebuilding would break the signatures).
SHIM_PACKAGES=(shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed)
SHIM_FILES=(/usr/lib/shim/shimx64.efi.signed /usr/lib/shim/mmx64.efi.signed
  /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed)

die() { echo "boot/build.sh: $*" >&2; exit 1; }

need_tools() {
  local t
  for t in grub-mkimage tar sha256sum dpkg-query; do
    command -v "$t" >/dev/null || die "missing $t (install grub-common; npm run setup does it)"
  done
  [ -d "$EFI_DIR" ] || die "missing $EFI_DIR (install grub-efi-amd64-bin)"
  [ -f "$PC_DIR/boot_hybrid.img" ] || die "missing $PC_DIR/boot_hybrid.img (install grub-pc-bin)"
  [ -f /usr/share/common-licenses/GPL-3 ] || die "missing /usr/share/common-licenses/GPL-3 (base-files)"
}

package_versions() {
  dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}" \
    || die "cannot read package versions of ${PACKAGES[*]}"
}

recipe_hash() {
  {
    cat "$here/build.sh" "$here/early.cfg"
    package_versions
    echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
  } | sha256sum | cut -c1-16
}

# A memdisk holding early.cfg as (memdisk)/boot/grub/grub.cfg, which the
# preloaded normal module runs with the full script parser. We tar it ourselves
# (fixed mtimes, owners, order): grub-mkstandalone stamps its memdisk tar with
# the build time, so its output changes on every run.
make_memdisk() {
  local work="$1"
  mkdir -p "$work/memdisk/boot/grub"
  cp "$here/early.cfg" "$work/memdisk/boot/grub/grub.cfg"
  tar -C "$work/memdisk" --format=ustar --sort=name --mtime="@$SOURCE_DATE_EPOCH" \
    --owner=0 --group=0 --numeric-owner --mode=go-w -cf "$work/memdisk.tar" boot
}

build_efi() {
  local out="$1" work="$2"
  make_memdisk "$work"
  # What grub-mkstandalone does, minus the unstable tar: memdisk + tar modules,
  # prefix inside the memdisk, every other module preloaded.
  grub-mkimage -O x86_64-efi -d "$EFI_DIR" -p "(memdisk)/boot/grub" -m "$work/memdisk.tar" \
    -o "$work/BOOTX64.EFI" memdisk tar "${EFI_MODULES[@]}"
  mv "$work/BOOTX64.EFI" "$out/BOOTX64.EFI"
}

build_bios() {
  local out="$1" work="$2"
  # Same memdisk as EFI: a config embedded with -c runs in GRUB's rescue parser,
  # which has no if/for, so it would silently do nothing.
  grub-mkimage -O i386-pc-eltorito -d "$PC_DIR" -p "(memdisk)/boot/grub" -m "$work/memdisk.tar" \
    -o "$work/eltorito.img" memdisk tar "${PC_MODULES[@]}"
  mv "$work/eltorito.img" "$out/eltorito.img"
  cp "$PC_DIR/boot_hybrid.img" "$out/boot_hybrid.img"
}

write_sources() {
  local out="$1"
  {
    echo "GNU GRUB 2 boot loader images, built by resources/boot/build.sh."
    echo "GRUB is free software under the GNU General Public License v3 or later;"
    echo "its full licence text is in COPYING-GRUB next to this file."
    echo "Made with grub-mkimage from Debian's GRUB modules, unmodified, of the package"
    echo "versions below; source: Debian source package 'grub2' (apt-get source"
    echo "grub2=<version>). Our only addition is early.cfg, in each image's memdisk."
    echo
    package_versions
    echo
    echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
    echo "EFI modules: ${EFI_MODULES[*]}"
    echo "BIOS modules: ${PC_MODULES[*]}"
    echo
    (cd "$out" && sha256sum BOOTX64.EFI eltorito.img boot_hybrid.img)
  } >"$out/SOURCES"
  cp /usr/share/common-licenses/GPL-3 "$out/COPYING-GRUB"
}

build_into() {
  local out="$1" work
  work="$(mktemp -d "$cache_root/.boot-work.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$work'" RETURN
  build_efi "$out" "$work"
  build_bios "$out" "$work"
  write_sources "$out"
}

shim_recipe_hash() {
  {
    cat "$here/build.sh" "$here/early.cfg"
    dpkg-query -W -f='${Package} ${Version}\n' "${SHIM_PACKAGES[@]}"
  } | sha256sum | cut -c1-16
}

# Copies the signed chain into the cache and dist/shim/. Missing packages are a
# note, not a failure: only --secure-boot shim needs them (it says so itself).
build_shim() {
  local f
  for f in "${SHIM_FILES[@]}"; do
    if [ ! -f "$f" ]; then
      echo "boot/build.sh: no $f (apt-get install ${SHIM_PACKAGES[*]}): --secure-boot shim unavailable"
      return 0
    fi
  done
  local hash cached tmp
  hash="$(shim_recipe_hash)"
  cached="$cache_root/shim-$hash"
  if [ ! -f "$cached/SOURCES" ]; then
    tmp="$(mktemp -d "$cache_root/.shim-$hash.XXXXXX")"
    cp /usr/lib/shim/shimx64.efi.signed "$tmp/shimx64.efi"
    cp /usr/lib/shim/mmx64.efi.signed "$tmp/mmx64.efi"
    cp /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed "$tmp/grubx64.efi"
    # Debian's signed GRUB has prefix /EFI/debian on its boot device and sources
    # $prefix/grub.cfg from there: our early config, which finds the ISO.
    cp "$here/early.cfg" "$tmp/grub.cfg"
    {
      echo "Secure Boot chain, copied unmodified by resources/boot/build.sh from Debian packages:"
      echo "  shimx64.efi  <- /usr/lib/shim/shimx64.efi.signed (shim-signed; signed by Microsoft's UEFI CA)"
      echo "  mmx64.efi    <- /usr/lib/shim/mmx64.efi.signed (shim-helpers-amd64-signed; signed by Debian)"
      echo "  grubx64.efi  <- /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed (grub-efi-amd64-signed; signed by Debian)"
      echo "shim and MokManager are under the BSD-2-Clause licence (source: Debian source package"
      echo "'shim', apt-get source shim=<version>); GRUB is GPL-3 or later (COPYING-GRUB, one"
      echo "folder up; source: Debian source package 'grub2')."
      echo "grub.cfg is our early.cfg, for the ESP's EFI/debian/grub.cfg."
      echo
      dpkg-query -W -f='${Package} ${Version}\n' "${SHIM_PACKAGES[@]}"
      echo
      (cd "$tmp" && sha256sum shimx64.efi mmx64.efi grubx64.efi)
    } >"$tmp/SOURCES"
    echo "$hash" >"$tmp/RECIPE"
    rm -rf "$cached"
    mv "$tmp" "$cached"
  fi
  mkdir -p "$dist/shim"
  for f in "$cached"/*; do
    local name
    name="$(basename "$f")"
    cmp -s "$f" "$dist/shim/$name" && continue
    cp "$f" "$dist/shim/.$name.tmp"
    mv -f "$dist/shim/.$name.tmp" "$dist/shim/$name"
  done
  echo "boot/build.sh: $dist/shim ready (recipe $hash)"
}

main() {
  need_tools
  mkdir -p "$cache_root"
  local hash cached tmp
  hash="$(recipe_hash)"
  cached="$cache_root/boot-$hash"
  if [ ! -f "$cached/SOURCES" ]; then
    echo "boot/build.sh: building GRUB images (recipe $hash)"
    tmp="$(mktemp -d "$cache_root/.boot-$hash.XXXXXX")"
    if ! build_into "$tmp"; then
      rm -rf "$tmp"
      die "build failed"
    fi
    echo "$hash" >"$tmp/RECIPE"
    rm -rf "$cached"
    mv "$tmp" "$cached"
  else
    echo "boot/build.sh: cached $cached"
  fi
  # Update dist/ file by file with atomic renames (never a moment without
  # dist/, which tests running in parallel read); unchanged files stay as they are.
  mkdir -p "$dist"
  local f name
  for f in "$cached"/*; do
    name="$(basename "$f")"
    [ -f "$f" ] || continue
    cmp -s "$f" "$dist/$name" && continue
    cp "$f" "$dist/.$name.tmp"
    mv -f "$dist/.$name.tmp" "$dist/$name"
  done
  echo "boot/build.sh: $dist ready"
  build_shim
}

main "$@"

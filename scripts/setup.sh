#!/usr/bin/env bash
# One-shot set-up for a fresh Debian machine (and a no-op-ish re-run on a warm one):
# Debian packages, npm packages, then the heavy build outputs (xorriso wasm, boot
# loaders, sample bootkits), each cached outside the repo by a hash of its recipe.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  xorriso mtools dosfstools grub-efi-amd64-bin grub-pc-bin grub-common shim-signed ovmf
  qemu-system-x86 qemu-utils busybox-static debootstrap shellcheck cpio zstd xz-utils
  gdisk p7zip-full libarchive-tools fdisk e2fsprogs lvm2 kmod util-linux pigz bzip2 lz4
  emscripten dpkg-dev ca-certificates bats whois parted file openssl openssh-client time
  chromium fonts-dejavu-core sbsigntool systemd-boot-efi grub-efi-amd64-signed
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Electron's binary cannot be fetched here; we type-check against electron.d.ts.
echo "setup: npm ci"
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-fund --no-audit --loglevel=error

# Heavy build outputs, each script caches by recipe hash under $EMT_CACHE_DIR.
for recipe in resources/xorriso/build.sh resources/boot/build.sh; do
  if [ -f "$recipe" ]; then
    echo "setup: $recipe"
    bash "$recipe"
  fi
done
if [ -f tests/fixtures/make-bootkits.ts ]; then
  echo "setup: sample bootkits"
  npx tsx tests/fixtures/make-bootkits.ts
fi
echo "setup: done"

# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: find the OS image on the ISO, learn how big a disk it needs (from its
# GPT header), and choose the target disk by the policy in lib/disk.sh.

# Codec by magic bytes: gzip 1f8b, xz fd377a585a00, zstd 28b52ffd, else raw.
image_codec() {
  local magic
  magic=$(od -An -tx1 -N6 -- "$1" | tr -d ' \n') || return 1
  case $magic in
  1f8b*) echo gzip ;;
  fd377a585a00) echo xz ;;
  28b52ffd*) echo zstd ;;
  *) echo raw ;;
  esac
}

# The decompressor for a codec, as a command line on stdin -> stdout.
codec_cmd() {
  case $1 in
  gzip) echo "gzip -dc" ;;
  xz) echo "xz -dc" ;;
  zstd) echo "zstd -dcq" ;;
  raw) echo "cat" ;;
  esac
}

# Bytes the image covers, from its GPT header (backup header LBA + 1 sectors);
# 0 when the image has no GPT (then only its raw size, if known, is used).
image_needed_bytes() {
  local image=$1 codec=$2 head alt cmd
  read -r -a cmd <<<"$(codec_cmd "$codec")"
  head=$(mktemp)
  # The decompressor gets SIGPIPE when head has enough: expected, not an error.
  { "${cmd[@]}" <"$image" 2>/dev/null || true; } | head -c 4096 >"$head" || true
  if [[ $(head -c 520 "$head" | tail -c 8) == "EFI PART" ]]; then
    alt=$(od -An -tu8 -j544 -N8 -- "$head" | tr -d ' ')
    rm -f "$head"
    echo $(((alt + 1) * 512))
    return 0
  fi
  rm -f "$head"
  if [[ $codec == raw ]]; then stat -c %s -- "$image"; else echo 0; fi
}

find_image() {
  local f imgs=()
  shopt -s nullglob
  for f in "$ISO_MNT"/images/*; do
    [[ -f $f && $f != *.sha256 && $f != *.md5 ]] && imgs+=("$f")
  done
  shopt -u nullglob
  ((${#imgs[@]} > 0)) || die "no OS image in /images on the install medium"
  ((${#imgs[@]} == 1)) || die "more than one OS image in /images on the install medium: ${imgs[*]##*/}"
  IMAGE=${imgs[0]}
  [[ -f $IMAGE.sha256 ]] || die "the OS image ${IMAGE##*/} has no .sha256 next to it: cannot verify it"
  read -r IMAGE_SHA256 _ <"$IMAGE.sha256" || true
  [[ ${IMAGE_SHA256,,} =~ ^[0-9a-f]{64}$ ]] || die "${IMAGE##*/}.sha256 does not hold a sha256"
  IMAGE_SHA256=${IMAGE_SHA256,,}
  IMAGE_CODEC=$(image_codec "$IMAGE") || die "cannot read the OS image ${IMAGE##*/}"
  IMAGE_NEEDED=$(image_needed_bytes "$IMAGE" "$IMAGE_CODEC")
  if ((IMAGE_NEEDED == 0)); then
    warn "the OS image has no GPT header: its size is unknown, the disk size is not checked"
  fi
  say "OS image: ${IMAGE##*/} ($IMAGE_CODEC, needs $(_gb "$IMAGE_NEEDED"))"
}

choose_disk() {
  find_image
  disk_scan
  choose_target_disk "$MEDIUM_DISK" "$IMAGE_NEEDED" "$(cfg_get target_disk_serial)" "$(cfg_get target_disk_path)"
}

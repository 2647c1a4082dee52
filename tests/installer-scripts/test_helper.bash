# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2016,SC2034 # stub bodies are literal scripts; the bats files read the globals
# Shared set-up for the installer-scripts bats tests: a private PATH of stub
# commands (each records its argv in $STUB_LOG), a run dir, and the real libs.

SCRIPTS=$(cd "$BATS_TEST_DIRNAME/../../installer-scripts" && pwd)

common_setup() {
  T=$BATS_TEST_TMPDIR
  export STUB_LOG=$T/stub.log
  : >"$STUB_LOG"
  mkdir -p "$T/bin" "$T/run"
  PATH=$T/bin:$PATH
  export EMT_RUN_DIR=$T/run EMT_LOG=$T/run/install.log EMT_MEDIUM_WAIT=0 EMT_SETTLE_SLEEP=0
  : >"$EMT_LOG"
  CANARY=$T/canary
  # shellcheck source=../../installer-scripts/lib/log.sh
  . "$SCRIPTS/lib/log.sh"
  # shellcheck source=../../installer-scripts/lib/config.sh
  . "$SCRIPTS/lib/config.sh"
  # shellcheck source=../../installer-scripts/lib/disk.sh
  . "$SCRIPTS/lib/disk.sh"
  # shellcheck source=../../installer-scripts/lib/wait.sh
  . "$SCRIPTS/lib/wait.sh"
  # Never probe the host's own disks: by default the device shows nothing.
  stub blkid 'exit 2'
  stub partx 'exit 1'
}

# not CMD...: fails when CMD succeeds (a bare `! cmd` never fails a bats test).
not() { ! "$@"; }

# stub NAME [BODY]: a command on PATH that logs "NAME args" and runs BODY.
stub() {
  local name=$1 body=${2:-}
  printf '#!/usr/bin/env bash\nprintf "%%s\\n" "%s $*" >>"$STUB_LOG"\n%s\n' "$name" "$body" >"$T/bin/$name"
  chmod +x "$T/bin/$name"
}

# One lsblk -P line: dev NAME TYPE SIZE [KEY=VALUE...]
lsblk_row() {
  local name=$1 type=$2 size=$3
  shift 3
  declare -A r=([TRAN]="" [RM]=0 [RO]=0 [SERIAL]="" [MODEL]="" [PKNAME]="" [PARTLABEL]="" [LABEL]="" [FSTYPE]="" [PARTTYPE]="" [PTTYPE]="")
  local kv
  for kv in "$@"; do r[${kv%%=*}]=${kv#*=}; done
  printf 'NAME="%s" TYPE="%s" SIZE="%s" TRAN="%s" RM="%s" RO="%s" SERIAL="%s" MODEL="%s" PKNAME="%s" PARTLABEL="%s" LABEL="%s" FSTYPE="%s" PARTTYPE="%s" PTTYPE="%s"\n' \
    "$name" "$type" "$size" "${r[TRAN]}" "${r[RM]}" "${r[RO]}" "${r[SERIAL]}" "${r[MODEL]}" "${r[PKNAME]}" \
    "${r[PARTLABEL]}" "${r[LABEL]}" "${r[FSTYPE]}" "${r[PARTTYPE]}" "${r[PTTYPE]}"
}

# The lsblk stub prints $T/lsblk.out.
use_lsblk_fixture() {
  stub lsblk 'cat "$LSBLK_OUT"'
  export LSBLK_OUT=$T/lsblk.out
}

# Devices that show up over time. Every lsblk call is one look (counted in
# $SCAN/count); look N prints $SCAN/K/lsblk for the highest K <= N that has one.
# blkid -p DEV and partx DEV read $SCAN/K/blkid/<dev> and $SCAN/K/partx/<dev> the
# same way (none: nothing found). So a test states, look by look, what the kernel
# (lsblk), udev (the lsblk columns) and the device itself (blkid, partx) show.
use_scan_fixture() {
  export SCAN=$T/scan
  mkdir -p "$SCAN"
  echo 0 >"$SCAN/count"
  cat >"$T/scan-at" <<'SH'
at() {
  local n k
  n=$(cat "$SCAN/count")
  for ((k = n; k >= 1; k--)); do
    [ -e "$SCAN/$k/$1" ] && { printf '%s' "$SCAN/$k/$1"; return 0; }
  done
  return 1
}
SH
  stub lsblk '. "$(dirname "$SCAN")/scan-at"; echo $(($(cat "$SCAN/count") + 1)) >"$SCAN/count"; f=$(at lsblk) && cat "$f"; exit 0'
  stub blkid '. "$(dirname "$SCAN")/scan-at"; dev=${*: -1}; f=$(at "blkid/${dev##*/}") || exit 2; cat "$f"'
  stub partx '. "$(dirname "$SCAN")/scan-at"; dev=${*: -1}; f=$(at "partx/${dev##*/}") || exit 1; cat "$f"'
}

# at_look N FILE: stdin becomes what look N shows in FILE (lsblk, blkid/sda1, partx/sda).
at_look() {
  mkdir -p "$(dirname "$SCAN/$1/$2")"
  cat >"$SCAN/$1/$2"
}

# Our USB stick: ISO on the whole disk, ESP p2, EMTCONFIG p3.
stick_rows() {
  lsblk_row /dev/sda disk 2000000000 TRAN=usb RM=1 MODEL=Stick FSTYPE=iso9660
  lsblk_row /dev/sda1 part 1500000000 PKNAME=/dev/sda FSTYPE=iso9660 LABEL=EMT_INST
  lsblk_row /dev/sda2 part 8000000 PKNAME=/dev/sda FSTYPE=vfat
  lsblk_row /dev/sda3 part 64000000 PKNAME=/dev/sda FSTYPE=vfat PARTLABEL=EMTCONFIG LABEL=EMTCONFIG
}

GB=1000000000

# enc VALUE: the config.env encoding (bytes outside [A-Za-z0-9._~:/,@+=-] as %XX).
enc() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $c == [A-Za-z0-9._~:/,@+=-] ]]; then out+=$c; else out+=$(printf '%%%02X' "'$c"); fi
  done
  printf '%s' "$out"
}

# A valid minimal config.env for user 'edge', plus extra lines given as args.
write_config_env() {
  local file=$1
  shift
  mkdir -p "$(dirname "$file")"
  {
    echo '# EMT installer site config'
    echo 'format_version=1'
    echo 'user_name=edge'
    echo 'host_type=kubernetes'
    echo 'after_install=reboot'
    echo 'lvm_size_ingb=0'
    echo 'write_files_count=0'
    echo 'runcmd_count=0'
    printf '%s\n' "$@"
  } >"$file"
}

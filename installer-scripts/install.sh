#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# EMT Standalone Node installer: runs the steps in steps/ in order, with progress
# on the console, a log on the stick, and `--dry-run` to print every action that
# would change a disk without doing it. Contract: installer-scripts/README.md.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DRY_RUN=0
for arg in "$@"; do
  case $arg in
  --dry-run) DRY_RUN=1 ;;
  -h | --help)
    echo "usage: install.sh [--dry-run]"
    exit 0
    ;;
  *)
    echo "emt-installer: failed: unknown option $arg" >&2
    exit 2
    ;;
  esac
done

: "${EMT_RUN_DIR:=/run/emt-installer}"
: "${ISO_MNT:=$EMT_RUN_DIR/iso}" "${CONFIG_MNT:=$EMT_RUN_DIR/config}"
: "${TARGET_MNT:=$EMT_RUN_DIR/target}" "${ESP_MNT:=$EMT_RUN_DIR/esp}"
mkdir -p "$EMT_RUN_DIR"
EMT_LOG=$EMT_RUN_DIR/install.log
: >"$EMT_LOG"

# shellcheck source=lib/log.sh
. "$HERE/lib/log.sh"
# shellcheck source=lib/config.sh
. "$HERE/lib/config.sh"
# shellcheck source=lib/disk.sh
. "$HERE/lib/disk.sh"
# shellcheck source=lib/wait.sh
. "$HERE/lib/wait.sh"
for f in "$HERE"/steps/[0-9][0-9]-*.sh; do
  # shellcheck source=/dev/null
  . "$f"
done

emt_on_failure() {
  save_log_to_stick || true
  unmount_all || true
}
trap 'die "command failed (exit $?): $BASH_COMMAND"' ERR

STEPS=(
  "find the install medium:find_medium"
  "read the site config:read_config"
  "choose the target disk:choose_disk"
  "write and verify the OS image:write_image"
  "configure the installed OS:configure_os"
  "data partition and LVM volume:setup_lvm"
  "UEFI boot entry:add_boot_entry"
  "finish:finish"
)
STEP_TOTAL=${#STEPS[@]}

if [[ $DRY_RUN == 1 ]]; then say "start (dry run: no disk is changed)"; else say "start"; fi
for s in "${STEPS[@]}"; do
  step_begin "${s%%:*}"
  "${s##*:}"
done
STEP_NAME=""

action=$(cfg_get after_install)
say "done"
if [[ $DRY_RUN == 1 ]]; then
  say "dry-run: systemctl ${action:-reboot}"
  exit 0
fi
sleep "${EMT_FINAL_PAUSE:-5}"
case $action in
poweroff) systemctl --no-block poweroff || poweroff -f ;;
*) systemctl --no-block reboot || reboot -f ;;
esac

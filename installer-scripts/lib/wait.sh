# shellcheck shell=bash
# shellcheck disable=SC2034 # WAIT_TRY and WAIT_ELAPSED are read by the callers
# Waiting on the kernel and udev. Devices show up when they show up (slow sticks,
# hubs, usbcore.delay_ms, a stick plugged in after power-on, a re-read partition
# table), so every wait polls for what the step needs, within its own deadline,
# and the caller says what was missing when the deadline passes.

: "${EMT_SETTLE_SLEEP:=1}" # seconds between tries (the bats tests set 0)

# Milliseconds since some fixed point, without a fork (EPOCHREALTIME: bash >= 5).
_now_ms() {
  local -n _t=$1
  if [[ -n ${EPOCHREALTIME-} ]]; then
    local us=${EPOCHREALTIME/[.,]/}
    _t=$((10#$us / 1000))
  else
    _t=$((SECONDS * 1000))
  fi
}

# settle [SECONDS]: let udev finish its event queue (bounded; udevadm may be absent).
settle() {
  udevadm settle --timeout="${1:-5}" >/dev/null 2>&1 || true
}

# wait_for SECONDS CHECK [ARGS...]: runs CHECK until it returns 0, or until SECONDS
# of wall time have passed (then returns 1; CHECK ran at least once). Between tries
# udev settles and we sleep EMT_SETTLE_SLEEP. WAIT_TRY is the try number (CHECK may
# use it to nudge the kernel now and then); WAIT_ELAPSED the seconds it took.
WAIT_TRY=0
WAIT_ELAPSED=0
wait_for() {
  local limit=$1 start now left
  shift
  _now_ms start
  WAIT_TRY=0
  for (( ; ; )); do
    WAIT_TRY=$((WAIT_TRY + 1))
    if "$@"; then
      _now_ms now
      WAIT_ELAPSED=$(((now - start) / 1000))
      return 0
    fi
    _now_ms now
    WAIT_ELAPSED=$(((now - start) / 1000))
    left=$((limit * 1000 - (now - start)))
    ((left > 0)) || return 1
    left=$(((left + 999) / 1000))
    settle $((left < 5 ? left : 5))
    sleep "$EMT_SETTLE_SLEEP"
  done
}

# shellcheck shell=bash
# Console progress, the install log, failure handling and the --dry-run executor.
# Console lines start with 'emt-installer: '; everything also goes to $EMT_LOG,
# which is copied to the stick's EMTCONFIG partition at the end or on failure.

: "${EMT_RUN_DIR:=/run/emt-installer}"
: "${EMT_LOG:=$EMT_RUN_DIR/install.log}"
: "${DRY_RUN:=0}"
STEP_NO=0
STEP_TOTAL=${STEP_TOTAL:-0}
STEP_NAME=""

_stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Append to the log only (command output, details).
log() { printf '%s %s\n' "$(_stamp)" "$*" >>"$EMT_LOG" 2>/dev/null || true; }

# Console and log.
say() {
  printf 'emt-installer: %s\n' "$*"
  log "emt-installer: $*"
}

warn() { say "warning: $*"; }

step_begin() {
  STEP_NO=$((STEP_NO + 1))
  STEP_NAME=$1
  say "step $STEP_NO/$STEP_TOTAL: $1"
}

# Shell-quoted rendering of a command, for the log and --dry-run.
quote_cmd() {
  local out="" a
  for a in "$@"; do out+=" $(printf '%q' "$a")"; done
  printf '%s' "${out# }"
}

# Stop the install: one console line saying what failed, the log tail, then the
# failure hook (install.sh copies the log to the stick and unmounts).
die() {
  trap - ERR
  local why="$*"
  [[ -n $STEP_NAME ]] && why="$STEP_NAME: $why"
  # The log tail first (it cannot hold the failure line yet), then the log is
  # saved on the stick, and only then the one line a watcher waits for.
  if [[ -s $EMT_LOG ]]; then
    printf 'emt-installer: last log lines:\n' >&2
    tail -n 15 "$EMT_LOG" | sed 's/^/  | /' >&2 || true
  fi
  log "emt-installer: failed: $why"
  if declare -F emt_on_failure >/dev/null; then emt_on_failure || true; fi
  printf 'emt-installer: failed: %s\n' "$why"
  exit 1
}

# A command that changes something: printed (not run) under --dry-run, else run
# with its output in the log. Returns the command's status.
run_cmd() {
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: $(quote_cmd "$@")"
    return 0
  fi
  log "run: $(quote_cmd "$@")"
  "$@" >>"$EMT_LOG" 2>&1
}

# Like run, but the caller's stdin feeds the command (e.g. chpasswd -e).
run_stdin() {
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: $(quote_cmd "$@") < (input)"
    cat >/dev/null
    return 0
  fi
  log "run: $(quote_cmd "$@") < (input)"
  "$@" >>"$EMT_LOG" 2>&1
}

# Write stdin to a file atomically (temp in the same folder, then rename).
# put_file PATH MODE
put_file() {
  local path=$1 mode=$2 tmp
  if [[ $DRY_RUN == 1 ]]; then
    local n
    n=$(wc -c)
    say "dry-run: write $path (mode $mode, $n bytes)"
    return 0
  fi
  mkdir -p "$(dirname "$path")" || return 1
  tmp=$(mktemp "$path.emt-XXXXXX") || return 1
  if ! cat >"$tmp" || ! chmod "$mode" "$tmp" || ! mv -f "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  log "wrote $path (mode $mode)"
}

# shellcheck shell=bash
# Strict reader for key=value files (config.env, *.meta, installer.conf): never
# sourced or eval'd. The format (installer-scripts/README.md): one key=value per
# line, keys [A-Za-z_][A-Za-z0-9_]*, values %XX-encoded outside [A-Za-z0-9._~:/,@+=-].

declare -gA CFG=()

_CFG_VALUE_RE='^([A-Za-z0-9._~:/,@+=-]|%[0-9A-Fa-f]{2})*$'
_CFG_KEY_RE='^[A-Za-z_][A-Za-z0-9_]*$'

# cfg_decode VAR ENCODED: sets VAR to the decoded value; fails on a bad encoding.
cfg_decode() {
  local -n _out=$1
  local v=$2
  [[ $v =~ $_CFG_VALUE_RE ]] || return 1
  [[ $v == *%00* ]] && return 1
  # Only %XX escapes remain non-literal: turn them into \xXX for printf %b,
  # which sees no other backslash (a raw backslash is never a safe byte).
  printf -v _out '%b' "${v//%/\\x}"
}

# cfg_parse FILE ARRAYNAME: fills the associative array with decoded values;
# on a bad file returns 1 with the reason in CFG_ERROR.
CFG_ERROR=""
cfg_parse() {
  local file=$1 n=0 line key val decoded
  local -n _cfg=$2
  if [[ ! -f $file ]]; then
    CFG_ERROR="$file: missing"
    return 1
  fi
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ -z $line || $line == '#'* ]] && continue
    if [[ $line != *=* ]]; then
      CFG_ERROR="$file line $n: not a key=value line"
      return 1
    fi
    key=${line%%=*}
    val=${line#*=}
    if ! [[ $key =~ $_CFG_KEY_RE ]]; then
      CFG_ERROR="$file line $n: bad key name"
      return 1
    fi
    if ! cfg_decode decoded "$val"; then
      CFG_ERROR="$file line $n: value of '$key' is not encoded by the documented rule"
      return 1
    fi
    _cfg["$key"]=$decoded
  done <"$file"
}

# cfg_load FILE: into CFG, stopping the install on a bad file.
cfg_load() {
  CFG=()
  cfg_parse "$1" CFG || die "config: $CFG_ERROR"
}

cfg_get() { printf '%s' "${CFG[$1]-}"; }

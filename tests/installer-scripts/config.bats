#!/usr/bin/env bats
# config.env is parsed, never sourced: hostile values stay text and never run.

load test_helper

setup() {
  common_setup
  # shellcheck source=../../installer-scripts/steps/20-read-config.sh
  . "$SCRIPTS/steps/20-read-config.sh"
  CONFIG_MNT=$T/config
  CONFIG_PARTLABEL=EMTCONFIG
}

@test "encoded hostile values decode to the exact text and run nothing" {
  local v1="\$(touch $CANARY)" v2="\`touch $CANARY\`" v3="a\"b'c" v4=$'line1\nline2' v5="x; touch $CANARY" v6="  spaced  " v7='100%25 \\ $HOME'
  write_config_env "$T/c.env" "k1=$(enc "$v1")" "k2=$(enc "$v2")" "k3=$(enc "$v3")" "k4=$(enc "$v4")" \
    "k5=$(enc "$v5")" "k6=$(enc "$v6")" "k7=$(enc "$v7")" "empty="
  cfg_load "$T/c.env"
  [ "$(cfg_get k1)" = "$v1" ]
  [ "$(cfg_get k2)" = "$v2" ]
  [ "$(cfg_get k3)" = "$v3" ]
  [ "$(cfg_get k4)" = "$v4" ]
  [ "$(cfg_get k5)" = "$v5" ]
  [ "$(cfg_get k6)" = "$v6" ]
  [ "$(cfg_get k7)" = "$v7" ]
  [ "$(cfg_get empty)" = "" ]
  [ "$(cfg_get user_name)" = edge ]
  [ ! -e "$CANARY" ]
}

@test "UTF-8 and a trailing newline survive decoding" {
  write_config_env "$T/c.env" "k=$(enc $'grüße €\n')"
  cfg_load "$T/c.env"
  [ "${CFG[k]}" = $'grüße €\n' ]
}

@test "raw (unencoded) hostile values are refused with their line, and never run" {
  local bad
  for bad in "user_name=\$(touch $CANARY)" "user_name=\`touch $CANARY\`" 'user_name="edge"' "user_name='edge'" \
    'user_name=edge; touch x' 'user_name=ed ge' 'user_name=a\b' 'user_name=%zz' 'user_name=%00' 'user_name=100%'; do
    write_config_env "$T/c.env" "$bad"
    run cfg_load "$T/c.env"
    [ "$status" -eq 1 ]
    [[ $output == *"failed: config: $T/c.env line 9: value of 'user_name' is not encoded by the documented rule"* ]] || {
      echo "for: $bad -> $output"
      false
    }
  done
  [ ! -e "$CANARY" ]
}

@test "bad keys and non key=value lines are refused" {
  write_config_env "$T/c.env" "\$(touch $CANARY)=1"
  run cfg_load "$T/c.env"
  [ "$status" -eq 1 ]
  [[ $output == *"line 9: bad key name"* ]]
  write_config_env "$T/c.env" "touch $CANARY"
  run cfg_load "$T/c.env"
  [[ $output == *"line 9: not a key=value line"* ]]
  write_config_env "$T/c.env" "export user_name=x"
  run cfg_load "$T/c.env"
  [[ $output == *"line 9: bad key name"* ]]
  [ ! -e "$CANARY" ]
}

@test "read_config accepts a clean config and reports the plan" {
  local hash='$6$saltsaltsaltsalt$'
  hash+=$(printf 'a%.0s' {1..86})
  write_config_env "$CONFIG_MNT/emt/config.env" "hostname=node-1" "static_ip=10.0.0.5" "subnet_mask=24" \
    "default_gate_way=10.0.0.1" "dns_name_server=8.8.8.8,1.1.1.1" "http_proxy=http://p.example.com:911" "password_hash=1"
  printf '%s\n' "$hash" >"$CONFIG_MNT/emt/password.hash"
  run read_config
  [ "$status" -eq 0 ]
  [[ $output == *"config: user edge, host type kubernetes, password set, static IP 10.0.0.5/24"* ]]
}

@test "read_config refuses decoded values that are not what their field allows" {
  local cases=(
    "hostname=$(enc "\$(touch $CANARY)")|hostname: '\$(touch $CANARY)' is not a valid host name"
    "http_proxy=$(enc "http://p \`touch $CANARY\`")|http_proxy: 'http://p \`touch $CANARY\`' is not a proxy setting"
    "no_proxy=$(enc $'a\nb')|no_proxy:"
    "static_ip=$(enc '10.0.0.1; reboot')|static_ip: '10.0.0.1; reboot' is not an IPv4 address"
    "host_type=vm|host_type: 'vm' is not kubernetes or container"
    "lvm_size_ingb=$(enc '1 GB')|lvm_size_ingb: '1 GB' is not a whole number of GB"
    "runcmd_count=$(enc '$(id)')|runcmd_count: '\$(id)' is not a count"
    "target_disk_path=$(enc '/dev/sda;x')|target_disk_path: '/dev/sda;x' is not a /dev path"
  )
  local c
  for c in "${cases[@]}"; do
    write_config_env "$CONFIG_MNT/emt/config.env" "${c%%|*}"
    run read_config
    [ "$status" -eq 1 ]
    [[ $output == *"failed: config: ${c#*|}"* ]] || {
      echo "for ${c%%|*}: $output"
      false
    }
  done
  write_config_env "$CONFIG_MNT/emt/config.env" "user_name=$(enc 'Bad User')"
  run read_config
  [[ $output == *"failed: config: user_name: 'Bad User' is not a valid Linux user name"* ]]
  [ ! -e "$CANARY" ]
}

@test "a password hash that is not SHA-512 crypt is refused" {
  write_config_env "$CONFIG_MNT/emt/config.env" "password_hash=1"
  printf 'plaintext\n' >"$CONFIG_MNT/emt/password.hash"
  run read_config
  [ "$status" -eq 1 ]
  [[ $output == *"failed: emt/password.hash does not hold a SHA-512 crypt hash"* ]]
}

@test "a stick without config.env says so" {
  run read_config
  [ "$status" -eq 1 ]
  [[ $output == *"failed: no emt/config.env on the EMTCONFIG partition"* ]]
}

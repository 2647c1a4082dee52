# shellcheck shell=bash
# Step: read emt/config.env strictly (lib/config.sh) and check every value again
# here, so a hand-edited stick cannot smuggle anything into the steps that follow.

_ipv4_re='^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'

is_ipv4() { [[ $1 =~ $_ipv4_re ]]; }

_check() {
  local key=$1 re=$2 what=$3 v
  v=$(cfg_get "$key")
  [[ -z $v || $v =~ $re ]] || die "config: $key: '$v' is not $what"
}

read_config() {
  local file=$CONFIG_MNT/emt/config.env
  [[ -f $file ]] || die "no emt/config.env on the $CONFIG_PARTLABEL partition: the stick carries no site config"
  cfg_load "$file"
  [[ $(cfg_get format_version) == 1 ]] || die "config: format_version '$(cfg_get format_version)' is not supported (expected 1)"
  local user
  user=$(cfg_get user_name)
  [[ -n $user ]] || die "config: user_name is missing"
  _check user_name '^[a-z_][a-z0-9_-]{0,31}$' 'a valid Linux user name'
  [[ $user != root ]] || die "config: user_name must not be root"
  _check host_type '^(kubernetes|container)$' 'kubernetes or container'
  _check hostname '^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$' 'a valid host name'
  _check subnet_mask '^([0-9]|[12][0-9]|3[0-2])$' 'a prefix length 0-32'
  _check lvm_size_ingb '^[0-9]{1,7}$' 'a whole number of GB'
  _check huge_page_config '^[0-9]{1,9}$' 'a number of huge pages'
  _check after_install '^(reboot|poweroff)$' 'reboot or poweroff'
  _check write_files_count '^[0-9]{1,4}$' 'a count'
  _check runcmd_count '^[0-9]{1,4}$' 'a count'
  _check target_disk_serial '^[A-Za-z0-9_.:-][A-Za-z0-9 _.:-]*$' 'a disk serial'
  _check target_disk_path '^/dev/[A-Za-z0-9._:/+-]+$' 'a /dev path'
  _check dns_name_server '^[0-9.,]+$' 'a comma-separated list of IPv4 addresses'
  _check ntp_servers '^[A-Za-z0-9.,-]+$' 'a comma-separated list of host names'
  local k v
  for k in static_ip default_gate_way; do
    v=$(cfg_get "$k")
    [[ -z $v ]] || is_ipv4 "$v" || die "config: $k: '$v' is not an IPv4 address"
  done
  if [[ -n $(cfg_get static_ip) && -z $(cfg_get subnet_mask) ]]; then die "config: static_ip needs subnet_mask"; fi
  # Proxy values end up in /etc/environment: no blanks, quotes, $, ` or backslash.
  for k in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    _check "$k" '^[A-Za-z0-9._~:/,@+=%*-]+$' 'a proxy setting without spaces or quotes'
  done
  PASSWORD_HASH=""
  if [[ $(cfg_get password_hash) == 1 ]]; then
    local hf=$CONFIG_MNT/emt/password.hash
    [[ -f $hf ]] || die "config says a password is set but emt/password.hash is missing"
    IFS= read -r PASSWORD_HASH <"$hf" || [[ -n $PASSWORD_HASH ]] || die "emt/password.hash is empty"
    [[ $PASSWORD_HASH =~ ^\$6\$(rounds=[0-9]+\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$ ]] ||
      die "emt/password.hash does not hold a SHA-512 crypt hash"
  fi
  say "config: user $(cfg_get user_name), host type $(cfg_get host_type), ${PASSWORD_HASH:+password set, }$( [[ -n $(cfg_get static_ip) ]] && echo "static IP $(cfg_get static_ip)/$(cfg_get subnet_mask)" || echo DHCP)"
}

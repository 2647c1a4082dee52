# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: configure the installed OS in its rootfs partition (mounted at
# $TARGET_MNT): user with the hashed password and passwordless sudo, SSH key,
# proxies, host name, network, NTP, huge pages, host type and cloud-init files.
# Values come from CFG, already checked by read_config; files are written
# whole (put_file) and nothing from the config is ever evaluated.

CLOUD_CFG=/etc/cloud/cloud.cfg.d/99-emt-installer.cfg

mount_target_root() {
  mkdir -p "$TARGET_MNT"
  if [[ $DRY_RUN == 1 ]]; then
    say "dry-run: mount the rootfs partition of $TARGET_DISK at $TARGET_MNT"
    return 0
  fi
  mount "$ROOTFS_PART" "$TARGET_MNT" >>"$EMT_LOG" 2>&1 || die "cannot mount the new rootfs $ROOTFS_PART"
  TARGET_MOUNTED=1
}

# uid:gid of a user in the target's /etc/passwd.
_target_ids() {
  awk -F: -v u="$1" '$1 == u { print $3 ":" $4; found = 1 } END { exit !found }' "$TARGET_MNT/etc/passwd"
}

configure_user() {
  local user hash groups="" g ids
  user=$(cfg_get user_name)
  hash=${PASSWORD_HASH:-'!'}
  for g in sudo wheel; do
    if grep -q "^$g:" "$TARGET_MNT/etc/group" 2>/dev/null; then groups=$g; break; fi
  done
  if [[ $DRY_RUN != 1 ]] && grep -q "^$user:" "$TARGET_MNT/etc/passwd" 2>/dev/null; then
    say "user $user exists in the image: setting its password"
    printf '%s:%s\n' "$user" "$hash" | run_stdin chpasswd -R "$TARGET_MNT" -e || die "cannot set the password of $user"
  else
    # useradd -p takes the crypt hash as is: the plaintext never exists on the node.
    run_cmd useradd -R "$TARGET_MNT" -m -s /bin/bash ${groups:+-G "$groups"} -p "$hash" "$user" ||
      die "cannot create user $user"
  fi
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" | put_file "$TARGET_MNT/etc/sudoers.d/90-emt-$user" 0440 ||
    die "cannot write the sudoers rule for $user"

  local keys=$CONFIG_MNT/emt/ssh_authorized_keys
  if [[ -s $keys ]]; then
    local home=/home/$user
    if [[ $DRY_RUN != 1 ]]; then
      home=$(awk -F: -v u="$user" '$1 == u { print $6 }' "$TARGET_MNT/etc/passwd")
      ids=$(_target_ids "$user") || die "user $user missing from the new /etc/passwd"
    fi
    run_cmd mkdir -p "$TARGET_MNT$home/.ssh" || die "cannot create $home/.ssh"
    put_file "$TARGET_MNT$home/.ssh/authorized_keys" 0600 <"$keys" || die "cannot write authorized_keys"
    run_cmd chmod 0700 "$TARGET_MNT$home/.ssh"
    run_cmd chown -R "${ids:-$user}" "$TARGET_MNT$home/.ssh" || die "cannot hand $home/.ssh to $user"
  fi
}

configure_environment() {
  local k v lines="" file=$TARGET_MNT/etc/environment
  local keys=(http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY)
  for k in "${keys[@]}"; do
    v=$(cfg_get "$k")
    [[ -n $v ]] && lines+="$k=$v"$'\n'
  done
  [[ -n $lines ]] || return 0
  # Keep what the image has, minus older values of our keys.
  local kept=""
  if [[ -f $file ]]; then
    kept=$(grep -Ev '^(export[[:space:]]+)?(http_proxy|https_proxy|no_proxy|HTTP_PROXY|HTTPS_PROXY|NO_PROXY)=' "$file" || true)
    [[ -n $kept ]] && kept+=$'\n'
  fi
  printf '%s%s' "$kept" "$lines" | put_file "$file" 0644 || die "cannot write /etc/environment"
}

configure_hostname() {
  local h
  h=$(cfg_get hostname)
  [[ -n $h ]] || return 0
  printf '%s\n' "$h" | put_file "$TARGET_MNT/etc/hostname" 0644 || die "cannot write /etc/hostname"
  local hosts=$TARGET_MNT/etc/hosts kept=""
  [[ -f $hosts ]] && kept=$(grep -v '^127\.0\.1\.1[[:space:]]' "$hosts" || true)
  printf '%s\n127.0.1.1\t%s\n' "$kept" "$h" | put_file "$hosts" 0644 || die "cannot write /etc/hosts"
}

configure_network() {
  local ip mask gw dns d out
  ip=$(cfg_get static_ip)
  if [[ -z $ip ]]; then
    # Lowest priority: the image's own .network files win if it has any.
    printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' |
      put_file "$TARGET_MNT/etc/systemd/network/99-emt-dhcp.network" 0644 || die "cannot write the network config"
    return 0
  fi
  mask=$(cfg_get subnet_mask)
  gw=$(cfg_get default_gate_way)
  dns=$(cfg_get dns_name_server)
  out=$'[Match]\nName=en* eth*\n\n[Network]\n'"Address=$ip/$mask"$'\n'
  [[ -n $gw ]] && out+="Gateway=$gw"$'\n'
  local IFS=,
  for d in $dns; do out+="DNS=$d"$'\n'; done
  unset IFS
  printf '%s' "$out" | put_file "$TARGET_MNT/etc/systemd/network/10-emt-static.network" 0644 ||
    die "cannot write the network config"
}

configure_ntp() {
  local servers
  servers=$(cfg_get ntp_servers)
  [[ -n $servers ]] || return 0
  printf '[Time]\nNTP=%s\n' "${servers//,/ }" |
    put_file "$TARGET_MNT/etc/systemd/timesyncd.conf.d/90-emt.conf" 0644 || die "cannot write the NTP config"
}

configure_system() {
  local pages
  pages=$(cfg_get huge_page_config)
  if [[ -n $pages ]]; then
    printf 'vm.nr_hugepages = %s\n' "$pages" | put_file "$TARGET_MNT/etc/sysctl.d/90-emt-hugepages.conf" 0644 ||
      die "cannot write the huge page config"
  fi
  printf 'host_type=%s\n' "$(cfg_get host_type)" | put_file "$TARGET_MNT/etc/emt-installer/host_type" 0644 ||
    die "cannot write the host type"
}

# cloud-init: write_files (content base64, so no YAML quoting of user text),
# runcmd as script files run_cmd by path, services enabled/disabled by name.
configure_cloud_init() {
  local n i meta path perm content b64 y="" runs="" name nnn
  n=$(cfg_get write_files_count)
  declare -A M
  for ((i = 1; i <= ${n:-0}; i++)); do
    printf -v nnn '%03d' "$i"
    meta=$CONFIG_MNT/emt/write_files/$nnn.meta
    content=$CONFIG_MNT/emt/write_files/$nnn.content
    M=()
    cfg_parse "$meta" M || die "write_files $nnn: $CFG_ERROR"
    path=${M[path]-}
    perm=${M[permissions]-}
    [[ $path =~ ^/[A-Za-z0-9._@+/-]*$ && $path != *..* ]] || die "write_files $nnn: bad path '$path'"
    [[ $perm =~ ^[0-7]{4}$ ]] || die "write_files $nnn: bad permissions '$perm'"
    [[ -f $content ]] || die "write_files $nnn: content file missing"
    b64=$(base64 -w0 <"$content")
    y+="  - path: $path"$'\n'"    permissions: '$perm'"$'\n'
    if [[ -n $b64 ]]; then y+="    encoding: b64"$'\n'"    content: $b64"$'\n'; else y+="    content: ''"$'\n'; fi
  done
  n=$(cfg_get runcmd_count)
  for ((i = 1; i <= ${n:-0}; i++)); do
    printf -v nnn '%03d' "$i"
    content=$CONFIG_MNT/emt/runcmd/$nnn.sh
    [[ -f $content ]] || die "runcmd $nnn: script file missing"
    b64=$(base64 -w0 <"$content")
    y+="  - path: /var/lib/emt-installer/runcmd/$nnn.sh"$'\n'"    permissions: '0700'"$'\n'"    encoding: b64"$'\n'"    content: $b64"$'\n'
    runs+="  - [sh, /var/lib/emt-installer/runcmd/$nnn.sh]"$'\n'
  done
  local verb
  for verb in enable disable; do
    [[ -f $CONFIG_MNT/emt/services.$verb ]] || continue
    while IFS= read -r name || [[ -n $name ]]; do
      [[ -z $name ]] && continue
      [[ $name =~ ^[A-Za-z0-9@._:-]+$ ]] || die "services.$verb: '$name' is not a unit name"
      runs+="  - [systemctl, $verb, '$name']"$'\n'
    done <"$CONFIG_MNT/emt/services.$verb"
  done
  [[ -n $y || -n $runs ]] || return 0
  {
    printf '#cloud-config\n# written by the EMT installer from the site config\n'
    if [[ -n $y ]]; then printf 'write_files:\n%s' "$y"; fi
    if [[ -n $runs ]]; then printf 'runcmd:\n%s' "$runs"; fi
  } | put_file "$TARGET_MNT$CLOUD_CFG" 0644 || die "cannot write $CLOUD_CFG"
}

configure_os() {
  mount_target_root
  configure_user
  configure_environment
  configure_hostname
  configure_network
  configure_ntp
  configure_system
  configure_cloud_init
  say "OS configured: user $(cfg_get user_name)$(cfg_get hostname | sed 's/^/, host name /')"
}

#!/usr/bin/env bats
# configure_os on a scratch root with the real useradd/chpasswd (--root).

load test_helper

HASH='$6$rounds=5000$abcdefghijklmnop$'"$(printf 'A%.0s' {1..86})"

setup() {
  common_setup
  # shellcheck source=../../installer-scripts/steps/20-read-config.sh
  . "$SCRIPTS/steps/20-read-config.sh"
  # shellcheck source=../../installer-scripts/steps/50-configure-os.sh
  . "$SCRIPTS/steps/50-configure-os.sh"
  mount_target_root() { :; } # the scratch root stands in for the mounted rootfs
  CONFIG_MNT=$T/stick
  TARGET_MNT=$T/root
  CONFIG_PARTLABEL=EMTCONFIG
  mkdir -p "$TARGET_MNT/etc" "$TARGET_MNT/home"
  printf 'root:x:0:0:root:/root:/bin/bash\n' >"$TARGET_MNT/etc/passwd"
  printf 'root:*:19000:0:99999:7:::\n' >"$TARGET_MNT/etc/shadow"
  printf 'root:x:0:\nsudo:x:27:\nusers:x:100:\n' >"$TARGET_MNT/etc/group"
  printf 'root:*::\nsudo:*::\nusers:*::\n' >"$TARGET_MNT/etc/gshadow"
  printf 'PATH="/usr/bin:/bin"\nhttp_proxy=http://old.example.com:1\n' >"$TARGET_MNT/etc/environment"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\told-name\n' >"$TARGET_MNT/etc/hosts"
  KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ/8kPbkoC4Gvy6hM1RDk/KmH2k/1/8cplClAskaTAMy tech@site \$(touch $CANARY)"
  mkdir -p "$CONFIG_MNT/emt"
  printf '%s\n' "$KEY" >"$CONFIG_MNT/emt/ssh_authorized_keys"
  printf '%s\n' "$HASH" >"$CONFIG_MNT/emt/password.hash"
}

@test "user, sudo, SSH key, proxies, host name, network, NTP, huge pages" {
  write_config_env "$CONFIG_MNT/emt/config.env" password_hash=1 hostname=node-7 \
    http_proxy=http://proxy.example.com:911 "no_proxy=$(enc 'localhost,127.0.0.1,.example.com')" \
    static_ip=10.0.0.5 subnet_mask=24 default_gate_way=10.0.0.1 dns_name_server=8.8.8.8,1.1.1.1 \
    ntp_servers=pool1.ntp.org,pool2.ntp.org huge_page_config=2048
  read_config >/dev/null
  run configure_os
  echo "$output"
  [ "$status" -eq 0 ]
  local r=$TARGET_MNT
  grep -qx "edge:$(printf '%s' "$HASH" | sed 's/[$]/\\$/g'):[0-9]*:.*" "$r/etc/shadow"
  grep -q '^sudo:x:27:edge$' "$r/etc/group"
  [ "$(cat "$r/etc/sudoers.d/90-emt-edge")" = 'edge ALL=(ALL) NOPASSWD:ALL' ]
  [ "$(stat -c %a "$r/etc/sudoers.d/90-emt-edge")" = 440 ]
  local uid
  uid=$(awk -F: '$1 == "edge" { print $3 }' "$r/etc/passwd")
  [ "$(cat "$r/home/edge/.ssh/authorized_keys")" = "$KEY" ]
  [ "$(stat -c '%a %u' "$r/home/edge/.ssh/authorized_keys")" = "600 $uid" ]
  [ "$(stat -c '%a %u' "$r/home/edge/.ssh")" = "700 $uid" ]
  [ "$(cat "$r/etc/environment")" = "$(printf 'PATH="/usr/bin:/bin"\nhttp_proxy=http://proxy.example.com:911\nno_proxy=localhost,127.0.0.1,.example.com')" ]
  [ "$(cat "$r/etc/hostname")" = node-7 ]
  grep -qx $'127.0.1.1\tnode-7' "$r/etc/hosts"
  [ "$(grep -c old-name "$r/etc/hosts")" -eq 0 ]
  [ "$(cat "$r/etc/systemd/network/10-emt-static.network")" = "$(printf '[Match]\nName=en* eth*\n\n[Network]\nAddress=10.0.0.5/24\nGateway=10.0.0.1\nDNS=8.8.8.8\nDNS=1.1.1.1')" ]
  [ "$(cat "$r/etc/systemd/timesyncd.conf.d/90-emt.conf")" = "$(printf '[Time]\nNTP=pool1.ntp.org pool2.ntp.org')" ]
  [ "$(cat "$r/etc/sysctl.d/90-emt-hugepages.conf")" = 'vm.nr_hugepages = 2048' ]
  [ "$(cat "$r/etc/emt-installer/host_type")" = host_type=kubernetes ]
  [ ! -e "$r/etc/cloud/cloud.cfg.d/99-emt-installer.cfg" ]
  [ ! -e "$CANARY" ]
  [ -z "$(find "$r" -name '*.emt-*')" ]
}

@test "DHCP when no static IP; no password locks the account" {
  write_config_env "$CONFIG_MNT/emt/config.env"
  rm "$CONFIG_MNT/emt/password.hash"
  read_config >/dev/null
  run configure_os
  [ "$status" -eq 0 ]
  grep -q '^edge:!:' "$TARGET_MNT/etc/shadow"
  grep -q '^DHCP=yes$' "$TARGET_MNT/etc/systemd/network/99-emt-dhcp.network"
  [ ! -e "$TARGET_MNT/etc/systemd/network/10-emt-static.network" ]
}

@test "a user already in the image gets the hashed password via chpasswd -e" {
  printf 'edge:x:1000:100::/home/edge:/bin/bash\n' >>"$TARGET_MNT/etc/passwd"
  printf 'edge:!:19000:0:99999:7:::\n' >>"$TARGET_MNT/etc/shadow"
  write_config_env "$CONFIG_MNT/emt/config.env" password_hash=1
  read_config >/dev/null
  run configure_os
  [ "$status" -eq 0 ]
  [[ $output == *"user edge exists in the image: setting its password"* ]]
  [ "$(grep -c '^edge:' "$TARGET_MNT/etc/passwd")" -eq 1 ]
  grep -q "^edge:$(printf '%s' "$HASH" | sed 's/[$]/\\$/g'):" "$TARGET_MNT/etc/shadow"
}

@test "--dry-run prints every write and changes nothing" {
  write_config_env "$CONFIG_MNT/emt/config.env" password_hash=1 hostname=node-7 static_ip=10.0.0.5 subnet_mask=24
  read_config >/dev/null
  local before
  before=$(cd "$TARGET_MNT" && find . -type f -exec sha256sum {} + | sort)
  DRY_RUN=1
  run configure_os
  [ "$status" -eq 0 ]
  [[ $output == *"dry-run: useradd -R $TARGET_MNT -m -s /bin/bash -G sudo -p"* ]]
  [[ $output == *"dry-run: write $TARGET_MNT/etc/hostname (mode 0644, 7 bytes)"* ]]
  [[ $output == *"dry-run: write $TARGET_MNT/etc/systemd/network/10-emt-static.network"* ]]
  [[ $output == *"dry-run: write $TARGET_MNT/home/edge/.ssh/authorized_keys (mode 0600"* ]]
  [ "$before" = "$(cd "$TARGET_MNT" && find . -type f -exec sha256sum {} + | sort)" ]
  [ ! -d "$TARGET_MNT/home/edge" ]
}

# shellcheck shell=bash
# shellcheck disable=SC2034 # globals shared between steps
# Step: leave the log on the installed disk and on the stick, unmount
# everything, and say what happens next (install.sh does the reboot/poweroff).

# Copy the log to EMTCONFIG logs/ (used on success and from emt_on_failure).
save_log_to_stick() {
  [[ ${CONFIG_MOUNTED:-0} == 1 && $DRY_RUN != 1 ]] || return 0
  local name
  name=install-$(date -u +%Y%m%dT%H%M%SZ).log
  if ! { mkdir -p "$CONFIG_MNT/logs" && cp "$EMT_LOG" "$CONFIG_MNT/logs/$name" && sync; }; then
    printf 'emt-installer: warning: could not copy the log to the stick\n'
    return 1
  fi
  printf 'emt-installer: log saved on the stick as logs/%s\n' "$name"
}

unmount_all() {
  local m
  for m in "$ESP_MNT" "$TARGET_MNT" "$CONFIG_MNT" "$ISO_MNT"; do
    if mountpoint -q "$m" 2>/dev/null; then umount "$m" >>"$EMT_LOG" 2>&1 || umount -l "$m" 2>/dev/null || true; fi
  done
  TARGET_MOUNTED=0
  CONFIG_MOUNTED=0
  sync
}

finish() {
  if [[ $DRY_RUN != 1 && ${TARGET_MOUNTED:-0} == 1 ]]; then
    if ! { mkdir -p "$TARGET_MNT/var/log" && cp "$EMT_LOG" "$TARGET_MNT/var/log/emt-installer.log"; }; then
      warn "could not copy the log to the installed disk"
    fi
  fi
  say "install complete; next: $(cfg_get after_install)"
  save_log_to_stick || true
  unmount_all
}

#!/usr/bin/env bash
# Placeholder entry point: the real installer steps come with the installer issue.
set -euo pipefail
echo "emt-installer: start"
echo "emt-installer: cmdline: $(cat /proc/cmdline)"
echo "emt-installer: done"

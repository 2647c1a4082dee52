#!/bin/sh
# deb postrm: remove what after-install.sh put outside the app folder.
set -eu
rm -f /usr/share/polkit-1/actions/org.emt.usb-installer.policy /usr/lib/emt-usb-installer/emt-usb-writer
rmdir /usr/lib/emt-usb-installer 2>/dev/null || true

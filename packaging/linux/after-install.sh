#!/bin/sh
# deb postinst: our polkit action and the writer launcher it names.
set -eu
res="/opt/EMT USB Installer Builder/resources"
install -D -m 0644 "$res/polkit/org.emt.usb-installer.policy" /usr/share/polkit-1/actions/org.emt.usb-installer.policy
install -D -m 0755 "$res/linux/emt-usb-writer" /usr/lib/emt-usb-installer/emt-usb-writer

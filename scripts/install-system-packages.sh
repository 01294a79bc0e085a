#!/bin/sh
# Installs the Debian/Ubuntu packages that the tests, the local demo and the native build need.
# As root it runs apt-get; otherwise it prints the command to run and exits non-zero.
set -eu

packages="
  php8.2-cli php8.2-curl phpunit
  autoconf automake libtool cmake make g++ pkg-config
  debootstrap bubblewrap busybox-static
  binutils ccache xz-utils zip unzip gpg gpgv ca-certificates curl openssl strace
"

missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $package"
  fi
done

if [ -z "$missing" ]; then
  echo "System packages: all present."
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages:$missing" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi

echo "Installing system packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
apt-get install -y -q --no-install-recommends $missing

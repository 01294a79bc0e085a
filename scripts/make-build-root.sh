#!/usr/bin/env bash
# Creates or updates a Debian root with an older glibc than the Lambda target, for building PHP
# natively on a host whose glibc is newer (the way manylinux images pin an old glibc).
#
#   scripts/make-build-root.sh DIR [APT_PACKAGE...]
#
# Debian 11 "bullseye" ships glibc 2.31, below the 2.34 of AWS Lambda's provided.al2023.
# The root gets the build tools, the APT_PACKAGEs (the extension catalog's Debian packages),
# and slim builds of libxml2 and libcurl from Debian's own source packages, installed under
# /usr/local with the layer's /opt/lib as their run-time search path:
#   - libxml2 without ICU or liblzma (Debian's libxml2 pulls in about 30 MB of ICU)
#   - libcurl with OpenSSL, zlib and nghttp2 only (Debian's libcurl pulls in about 25 more
#     libraries: GnuTLS, Kerberos, LDAP, RTMP, libssh2, ...), and Amazon Linux's CA bundle path
#     as its default CA file
# so libxml2-dev and libcurl4-openssl-dev are left out of APT_PACKAGE.
#
# Running it again with the same packages reuses the root. Needs root, debootstrap and
# network access to the Debian archive.
#
# Environment:
#   BUILD_ROOT_SUITE            Debian suite (default bullseye)
#   BUILD_ROOT_MIRROR           Debian archive (default http://deb.debian.org/debian)
#   BUILD_ROOT_SECURITY_MIRROR  security archive (default http://deb.debian.org/debian-security;
#                               set it to "none" to leave the security updates out)
set -euo pipefail

suite="${BUILD_ROOT_SUITE:-bullseye}"
mirror="${BUILD_ROOT_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${BUILD_ROOT_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# Tools that build.sh and the slim library builds need. phpize needs autoconf for PECL
# extensions, and automake and libtool regenerate the patched libxml2 and curl build files.
base_packages=(
  build-essential autoconf automake libtool bison re2c pkg-config file xz-utils ccache dpkg-dev
  binutils ca-certificates zlib1g-dev libssl-dev libnghttp2-dev
)
replaced_packages=(libxml2-dev libcurl4-openssl-dev libcurl4-gnutls-dev libcurl4-nss-dev)

log() {
  printf '[make-build-root] %s\n' "$*" >&2
}

fail() {
  printf '[make-build-root] error: %s\n' "$*" >&2
  exit 1
}

if [ $# -lt 1 ] || [ "$1" = '-h' ] || [ "$1" = '--help' ]; then
  sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

root_dir="$1"
shift

[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and chroot need it); try: sudo $0 $root_dir $*"
command -v debootstrap >/dev/null || fail 'debootstrap not found; install it: apt-get install -y debootstrap (dnf install -y debootstrap on Fedora-based hosts)'

requested=()
for package in "$@"; do
  skip=
  for replaced in "${replaced_packages[@]}"; do
    if [ "$package" = "$replaced" ]; then
      skip=1
    fi
  done

  if [ -n "$skip" ]; then
    log "leaving out $package: the root builds a slim libxml2/libcurl from source instead"
  else
    requested+=("$package")
  fi
done

packages=$(printf '%s\n' "${base_packages[@]}" "${requested[@]}" | sort -u | tr '\n' ' ')
script_digest=$(sha256sum "$0" | cut -d' ' -f1)
stamp="suite=$suite security=$security_mirror script=$script_digest packages=$packages"
stamp_file="$root_dir/.layer-build-root"

if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  log "reusing $root_dir ($suite, packages unchanged)"
  exit 0
fi

started=$(date +%s)

in_root() {
  chroot "$root_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# Step 1: the base system. A half-finished debootstrap is not resumable, so a folder without
# the marker file is only replaced when it is empty.
if [ ! -f "$root_dir/.debootstrap-done" ]; then
  if [ -d "$root_dir" ] && [ -n "$(ls -A "$root_dir")" ]; then
    fail "$root_dir exists but holds no finished debootstrap; remove it (rm -rf $root_dir) and run again"
  fi

  log "debootstrap --variant=minbase $suite $root_dir $mirror"
  mkdir -p "$root_dir"
  debootstrap --variant=minbase "$suite" "$root_dir" "$mirror" >"$root_dir.debootstrap.log" 2>&1 ||
    fail "debootstrap failed; see $root_dir.debootstrap.log"
  rm -f "$root_dir.debootstrap.log"
  touch "$root_dir/.debootstrap-done"
fi

# Step 2: package sources, with deb-src for apt-get source.
{
  echo "deb $mirror $suite main"
  echo "deb-src $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  echo "deb-src $mirror $suite-updates main"
  if [ "$security_mirror" != none ]; then
    echo "deb $security_mirror $suite-security main"
    echo "deb-src $security_mirror $suite-security main"
  fi
} >"$root_dir/etc/apt/sources.list"
cp /etc/resolv.conf "$root_dir/etc/resolv.conf"

# Step 3: build packages.
log "apt-get install $packages"
in_root apt-get update -q >/dev/null
# shellcheck disable=SC2086 # the package list is a word list on purpose
in_root apt-get install -y -q --no-install-recommends $packages >/dev/null

# Step 4: slim libxml2 and libcurl from Debian's source packages. apt checks each downloaded file
# against the sha256 in the signed Sources index. A version from the security archive can be
# missing from a mirror, so the suite's own version is the fallback, with a warning.
source_dir=/usr/src/layer-deps
rm -rf "${root_dir:?}$source_dir"
mkdir -p "$root_dir$source_dir"

fetch_source() {
  local package="$1"

  if in_root sh -c "cd $source_dir && apt-get source -q $package" >/dev/null 2>&1; then
    return 0
  fi

  log "warning: apt-get source $package failed for the newest version (from $suite-security); trying the version in $suite itself"
  in_root sh -c "cd $source_dir && apt-get source -q $package/$suite" >/dev/null ||
    fail "apt-get source $package/$suite failed inside $root_dir"
  log "using $package $(in_root sh -c "cd $source_dir && ls -d ${package}-*/" | head -n 1 | tr -d /) from $suite"
}

fetch_source libxml2
fetch_source curl

cat >"$root_dir$source_dir/build-slim-libraries.sh" <<'EOF'
set -eu
cd /usr/src/layer-deps
jobs=$(nproc)
# DT_RPATH (--disable-new-dtags) is searched before LD_LIBRARY_PATH, as for bin/php in build.sh.
export CFLAGS='-Os -fPIC' LDFLAGS='-Wl,-rpath,/opt/lib -Wl,--disable-new-dtags -Wl,--as-needed'

cd libxml2-*/
autoreconf -fi >/dev/null 2>&1
./configure -q --prefix=/usr/local --disable-static --without-python --without-icu \
  --without-lzma --with-zlib
make -s -j"$jobs" >/dev/null
make -s install >/dev/null
cd ..

# Debian's last two curl patches rename the library for its GnuTLS and NSS flavours. Its rules
# reverse them for the OpenSSL build, and so does this script.
cd curl-*/
for patch in $(grep -E '^[^#].*(nss|gnutls)' debian/patches/series | tac); do
  patch -s -R -p1 <"debian/patches/$patch"
done
autoreconf -fi >/dev/null 2>&1
./configure -q --prefix=/usr/local --disable-static --enable-threaded-resolver \
  --with-openssl --with-zlib --with-nghttp2 --without-libidn2 --without-libpsl --without-brotli \
  --without-zstd --without-librtmp --without-libssh2 --without-libssh --without-gssapi \
  --disable-ldap --disable-ldaps --disable-manual \
  --with-ca-bundle=/etc/pki/tls/certs/ca-bundle.crt --without-ca-path
make -s -j"$jobs" >/dev/null
make -s install >/dev/null
ldconfig
EOF

log 'building libxml2 (no ICU) and libcurl (OpenSSL, zlib, nghttp2) from Debian source'
in_root bash "$source_dir/build-slim-libraries.sh" >"$root_dir.libraries.log" 2>&1 ||
  fail "building libxml2/libcurl failed; see $root_dir.libraries.log"
rm -f "$root_dir.libraries.log"

for library in libxml2.so.2 libcurl.so.4; do
  [ -e "$root_dir/usr/local/lib/$library" ] || fail "$library missing from $root_dir/usr/local/lib after the build"
done

printf '%s\n' "$stamp" >"$stamp_file"
log "build root ready in $(($(date +%s) - started)) s: $root_dir ($suite, glibc $(in_root ldd --version | head -1 | awk '{print $NF}'))"

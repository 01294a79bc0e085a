#!/usr/bin/env bash
# Builds PHP from an upstream release tarball into a self-contained AWS Lambda layer tree:
#
#   bootstrap            from runtime/bootstrap
#   bin/php              the PHP CLI, stripped
#   lib/                 every shared library PHP needs except glibc's own
#   php/etc/php.ini      from runtime/php.ini
#   php/conf.d/          one .ini per shared extension, plus ca-certificates.ini
#   php/extensions/      shared extensions (.so)
#   php/runtime/         from runtime/src/
#
# The Dockerfile and the native builder both run this script. Usage:
#
#   runtime/build.sh --source php-X.Y.Z.tar.xz --sha256 HEX --output DIR [options]
#
# Options:
#   --source FILE            PHP release tarball (.tar.xz, .tar.gz or .tar.bz2)
#   --sha256 HEX             expected sha256 of FILE; the build stops on a mismatch
#   --output DIR             layer tree to write; must be missing, empty, or an earlier layer
#   --configure-flag FLAG    configure flag for an extension (repeat for each flag)
#   --pecl NAME:VERSION:SHA256[:FLAG,...]
#                            PECL extension built with phpize from --pecl-dir/NAME-VERSION.tgz,
#                            configured with the comma-separated FLAGs (repeat per extension)
#   --pecl-dir DIR           folder with the PECL tarballs
#   --ini-priority NAME=NN   conf.d file prefix for a shared extension (default 20; opcache 10)
#   --optimize size|speed    size: -Os (-Oz with clang), speed: -O2 (default size)
#   --compiler gcc|clang     C compiler (default gcc)
#   --jobs N                 parallel make jobs (default: number of CPUs)
#   --work-dir DIR           where to unpack and compile (default: a new temporary folder)
#   --runtime-dir DIR        folder with bootstrap, src/ and php.ini (default: this script's)
#   --tls-ca-file PATH       CA bundle path on the target (default: Amazon Linux's
#                            /etc/pki/tls/certs/ca-bundle.crt)
#   --info-file FILE         write a JSON summary (version, configure line, durations, bundle)
#   --dev-packages-apt "P.." Debian packages the extensions need, named when configure fails
#   --dev-packages-dnf "P.." Amazon Linux packages the extensions need, same purpose
#   --dev-allow-missing-runtime
#                            development only: build even when bootstrap, src/ or php.ini are
#                            missing from the runtime folder (the layer is then not deployable)
#   --check-tools            only check the build tools and exit
#
# Environment: CCACHE_DIR turns on ccache (it must be installed); CC overrides the compiler.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)

source_tarball=
expected_sha256=
output_dir=
configure_flags=()
pecl_specs=()
pecl_dir=
ini_priorities=()
optimize=size
compiler=gcc
jobs=$(nproc 2>/dev/null || echo 2)
work_dir=
runtime_dir="$script_dir"
tls_ca_file=/etc/pki/tls/certs/ca-bundle.crt
info_file=
dev_packages_apt=
dev_packages_dnf=
allow_missing_runtime=
check_tools_only=

log() {
  printf '[build.sh] %s\n' "$*" >&2
}

fail() {
  printf '[build.sh] error: %s\n' "$*" >&2
  exit 1
}

usage() {
  sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_tarball="$2"; shift 2 ;;
    --sha256) expected_sha256="$2"; shift 2 ;;
    --output) output_dir="$2"; shift 2 ;;
    --configure-flag) configure_flags+=("$2"); shift 2 ;;
    --pecl) pecl_specs+=("$2"); shift 2 ;;
    --pecl-dir) pecl_dir="$2"; shift 2 ;;
    --ini-priority) ini_priorities+=("$2"); shift 2 ;;
    --optimize) optimize="$2"; shift 2 ;;
    --compiler) compiler="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --work-dir) work_dir="$2"; shift 2 ;;
    --runtime-dir) runtime_dir="$2"; shift 2 ;;
    --tls-ca-file) tls_ca_file="$2"; shift 2 ;;
    --info-file) info_file="$2"; shift 2 ;;
    --dev-packages-apt) dev_packages_apt="$2"; shift 2 ;;
    --dev-packages-dnf) dev_packages_dnf="$2"; shift 2 ;;
    --dev-allow-missing-runtime) allow_missing_runtime=1; shift ;;
    --check-tools) check_tools_only=1; shift ;;
    -h | --help) usage ;;
    *) fail "unknown option $1 (see $0 --help)" ;;
  esac
done

case "$optimize" in
  size | speed) ;;
  *) fail "invalid --optimize $optimize: use size or speed" ;;
esac

case "$compiler" in
  gcc | clang) ;;
  *) fail "invalid --compiler $compiler: use gcc or clang" ;;
esac

case "$jobs" in
  '' | *[!0-9]*) fail "invalid --jobs $jobs: use a positive number" ;;
esac

# --- Build tools ---------------------------------------------------------------------------
# Each line: command, Debian package, Amazon Linux 2023 package.
tool_table="
$compiler $compiler $compiler
make make make
pkg-config pkg-config pkgconf-pkg-config
tar tar tar
xz xz-utils xz
gzip gzip gzip
sha256sum coreutils coreutils
strip binutils binutils
readelf binutils binutils
ldd libc-bin glibc-common
find findutils findutils
"
if [ ${#pecl_specs[@]} -gt 0 ]; then
  tool_table="$tool_table
autoconf autoconf autoconf
m4 m4 m4
"
fi
if printf '%s\n' "${configure_flags[@]}" | grep -q '^--enable-intl'; then
  # ICU is C++, so intl needs a C++ compiler.
  tool_table="$tool_table
$([ "$compiler" = clang ] && echo 'clang++ clang clang' || echo 'g++ g++ gcc-c++')
"
fi
if [ -n "${CCACHE_DIR:-}" ]; then
  tool_table="$tool_table
ccache ccache ccache
"
fi

check_tools() {
  local missing_apt=() missing_dnf=() missing_commands=()
  local command apt_package dnf_package

  while read -r command apt_package dnf_package; do
    [ -n "$command" ] || continue
    if ! command -v "$command" >/dev/null 2>&1; then
      missing_commands+=("$command")
      missing_apt+=("$apt_package")
      missing_dnf+=("$dnf_package")
    fi
  done <<<"$tool_table"

  if [ ! -e /usr/include/stdio.h ]; then
    missing_commands+=('C library headers')
    missing_apt+=(libc6-dev)
    missing_dnf+=(glibc-devel)
  fi

  if [ ${#missing_commands[@]} -gt 0 ]; then
    log "missing build tools: ${missing_commands[*]}"
    log "install them on Debian/Ubuntu: apt-get install -y $(printf '%s\n' "${missing_apt[@]}" | sort -u | tr '\n' ' ')"
    log "install them on Amazon Linux 2023: dnf install -y $(printf '%s\n' "${missing_dnf[@]}" | sort -u | tr '\n' ' ')"
    exit 3
  fi
}

check_tools
if [ -n "$check_tools_only" ]; then
  log 'all build tools found'
  exit 0
fi

[ -n "$source_tarball" ] || fail 'missing --source: the PHP release tarball'
[ -f "$source_tarball" ] || fail "--source $source_tarball: file not found"
[ -n "$expected_sha256" ] || fail 'missing --sha256: the expected digest of the tarball'
[ -n "$output_dir" ] || fail 'missing --output: the folder for the layer tree'

expected_sha256=$(printf '%s' "$expected_sha256" | tr 'A-F' 'a-f')
case "$expected_sha256" in
  *[!0-9a-f]* | '') fail "invalid --sha256 $expected_sha256: expected 64 hex digits" ;;
esac
[ ${#expected_sha256} -eq 64 ] || fail "invalid --sha256 $expected_sha256: expected 64 hex digits"

# The output folder is replaced, so it must be empty or contain an earlier layer (bin/php).
if [ -e "$output_dir" ]; then
  if [ -n "$(ls -A "$output_dir")" ] && [ ! -f "$output_dir/bin/php" ]; then
    fail "--output $output_dir is not empty and contains no earlier layer (bin/php); pick another folder or empty it"
  fi
  rm -rf "${output_dir:?}"/* "${output_dir:?}"/.[!.]* 2>/dev/null || true
fi
mkdir -p "$output_dir"
output_dir=$(cd "$output_dir" && pwd)

# --- Runtime files ---------------------------------------------------------------------------
missing_runtime=()
[ -f "$runtime_dir/bootstrap" ] || missing_runtime+=("$runtime_dir/bootstrap")
[ -d "$runtime_dir/src" ] || missing_runtime+=("$runtime_dir/src/")
[ -f "$runtime_dir/php.ini" ] || missing_runtime+=("$runtime_dir/php.ini")
if [ ${#missing_runtime[@]} -gt 0 ]; then
  if [ -z "$allow_missing_runtime" ]; then
    fail "runtime files not found: ${missing_runtime[*]} (pass --runtime-dir, or --dev-allow-missing-runtime for a development build without them)"
  fi
  log "WARNING: --dev-allow-missing-runtime: building without ${missing_runtime[*]}; this layer cannot serve a Lambda function"
fi

if [ -f "$runtime_dir/bootstrap" ] && grep -q $'\r' "$runtime_dir/bootstrap"; then
  fail "$runtime_dir/bootstrap has CRLF line ends; Lambda rejects it (Runtime.InvalidEntrypoint). Convert it to LF"
fi

# --- Timing and summary ----------------------------------------------------------------------
durations=()
step_started=0

start_step() {
  step_started=$(date +%s.%N)
  log "$1"
}

end_step() {
  local seconds
  seconds=$(awk -v a="$step_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  durations+=("$1=$seconds")
  log "$1 took ${seconds} s"
}

# --- Unpack ----------------------------------------------------------------------------------
start_step "verifying $source_tarball"
actual_sha256=$(sha256sum "$source_tarball" | cut -d' ' -f1)
if [ "$actual_sha256" != "$expected_sha256" ]; then
  fail "sha256 mismatch for $source_tarball: expected $expected_sha256, got $actual_sha256; nothing was unpacked"
fi
end_step verify

if [ -z "$work_dir" ]; then
  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/php-layer-build.XXXXXX")
fi
mkdir -p "$work_dir"
work_dir=$(cd "$work_dir" && pwd)
php_src="$work_dir/php-src"
stage_dir="$work_dir/stage"
rm -rf "$php_src" "$stage_dir"
mkdir -p "$php_src" "$stage_dir"

start_step "unpacking into $php_src"
tar -xf "$source_tarball" -C "$php_src" --strip-components=1
end_step unpack

php_version=$(sed -n 's/^#define PHP_VERSION "\(.*\)"$/\1/p' "$php_src/main/php_version.h")
[ -n "$php_version" ] || fail "no PHP_VERSION in $php_src/main/php_version.h: is $source_tarball a PHP release tarball?"
log "PHP $php_version"

# Reproducible output: PHP embeds __DATE__ and __TIME__ in bin/php (php -v prints "built: ..."),
# and GCC and clang take both from SOURCE_DATE_EPOCH when it is set. The release's own timestamp
# (main/php_version.h as the tarball stores it) keeps a rebuild of the same release byte for
# byte, so its CodeSha256 matches and publishing reuses the layer version already there.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(stat -c %Y "$php_src/main/php_version.h")}"
export SOURCE_DATE_EPOCH
log "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"

# configure also embeds `uname -a` (host name, kernel build) as PHP_UNAME and PHP_BUILD_SYSTEM,
# which phpinfo() shows; php_uname() reads the running kernel and is unaffected.
export PHP_UNAME="Linux $(uname -m)" PHP_BUILD_SYSTEM="Linux $(uname -m)"

# --- Compiler flags --------------------------------------------------------------------------
case "$optimize:$compiler" in
  size:gcc) optimization_flag=-Os ;;
  size:clang) optimization_flag=-Oz ;;
  speed:*) optimization_flag=-O2 ;;
esac

cc="${CC:-$compiler}"
if [ "$compiler" = clang ]; then
  cxx=clang++
else
  cxx=g++
fi

if [ -n "${CCACHE_DIR:-}" ]; then
  mkdir -p "$CCACHE_DIR"
  # Paths under the work folder are hashed relative to it, so a new temporary folder still hits.
  export CCACHE_BASEDIR="$work_dir" CCACHE_COMPILERCHECK=content CCACHE_NOHASHDIR=1
  ccache --zero-stats >/dev/null
  cc="ccache $cc"
  cxx="ccache $cxx"
  log "ccache on: CCACHE_DIR=$CCACHE_DIR"
fi

# -fstack-protector-strong, _FORTIFY_SOURCE and PIE as in common distribution builds.
# The run-time search path /opt/lib is where Lambda mounts the layer's lib/. The loader searches
# DT_RPATH (unlike RUNPATH) before LD_LIBRARY_PATH and for indirect dependencies too, so the
# bundled libraries win over same-named libraries of the base image.
export CC="$cc" CXX="$cxx"
export CFLAGS="$optimization_flag -fstack-protector-strong -fpic -fpie -D_FORTIFY_SOURCE=2"
export CXXFLAGS="$CFLAGS"
export CPPFLAGS="${CPPFLAGS:-}"
export LDFLAGS="-Wl,-O1 -Wl,--as-needed -pie -Wl,-rpath,/opt/lib -Wl,--disable-new-dtags"
export EXTENSION_DIR=/opt/php/extensions

configure_line=(
  ./configure
  --prefix=/opt
  --with-config-file-path=/opt/php/etc
  --with-config-file-scan-dir=/opt/php/conf.d
  --enable-option-checking=fatal
  --disable-all
  --enable-cli
  --disable-cgi
  --disable-phpdbg
  --disable-fpm
  --without-pear
  "${configure_flags[@]}"
)

# --- Configure and make ----------------------------------------------------------------------
cd "$php_src"
start_step "configure: CC='$CC' CFLAGS='$CFLAGS' LDFLAGS='$LDFLAGS' EXTENSION_DIR=$EXTENSION_DIR ${configure_line[*]}"
if ! "${configure_line[@]}" >"$work_dir/configure.log" 2>&1; then
  tail -n 30 "$work_dir/configure.log" >&2
  log "configure failed; full log: $work_dir/configure.log"
  if [ -n "$dev_packages_apt" ] || [ -n "$dev_packages_dnf" ]; then
    log "the selected extensions need these packages: apt-get install -y $dev_packages_apt"
    log "on Amazon Linux 2023: dnf install -y $dev_packages_dnf"
  fi
  exit 1
fi
end_step configure

start_step "make -j$jobs"
if ! make -j"$jobs" >"$work_dir/make.log" 2>&1; then
  tail -n 40 "$work_dir/make.log" >&2
  fail "make failed; full log: $work_dir/make.log"
fi
end_step make

start_step 'make install'
make install INSTALL_ROOT="$stage_dir" >"$work_dir/install.log" 2>&1 ||
  fail "make install failed; full log: $work_dir/install.log"
end_step install

# phpize and php-config contain the /opt prefix. Point them at the staged copy for PECL builds.
staged_prefix="$stage_dir/opt"
sed -i "s|^prefix=.*|prefix=\"$staged_prefix\"|; s|'/opt/|'$staged_prefix/|g" \
  "$staged_prefix/bin/phpize" "$staged_prefix/bin/php-config"
sed -i "s|extension_dir=.*|extension_dir=\"$staged_prefix/php/extensions\"|" "$staged_prefix/bin/php-config"

# --- PECL extensions -------------------------------------------------------------------------
if [ ${#pecl_specs[@]} -gt 0 ]; then
  start_step "building PECL extensions: ${pecl_specs[*]%%:*}"
  [ -n "$pecl_dir" ] || fail 'missing --pecl-dir: the folder with the PECL tarballs'

  for spec in "${pecl_specs[@]}"; do
    IFS=: read -r pecl_name pecl_version pecl_sha256 pecl_flags <<<"$spec"
    [ -n "$pecl_name" ] && [ -n "$pecl_version" ] && [ -n "$pecl_sha256" ] ||
      fail "invalid --pecl $spec: expected NAME:VERSION:SHA256[:FLAG,FLAG...]"
    pecl_flags="${pecl_flags//,/ }"

    pecl_tarball="$pecl_dir/$pecl_name-$pecl_version.tgz"
    [ -f "$pecl_tarball" ] || fail "PECL tarball not found: $pecl_tarball"
    pecl_actual=$(sha256sum "$pecl_tarball" | cut -d' ' -f1)
    [ "$pecl_actual" = "$pecl_sha256" ] ||
      fail "sha256 mismatch for $pecl_tarball: expected $pecl_sha256, got $pecl_actual"

    pecl_build="$work_dir/pecl/$pecl_name"
    rm -rf "$pecl_build"
    mkdir -p "$pecl_build"
    # A PECL tarball contains package.xml next to the NAME-VERSION/ folder.
    tar -xzf "$pecl_tarball" -C "$pecl_build"
    cd "$pecl_build/$pecl_name-$pecl_version"

    # shellcheck disable=SC2086 # the flags are a word list on purpose
    {
      "$staged_prefix/bin/phpize" &&
        ./configure --with-php-config="$staged_prefix/bin/php-config" $pecl_flags &&
        make -j"$jobs"
    } >"$pecl_build/build.log" 2>&1 || {
      tail -n 30 "$pecl_build/build.log" >&2
      fail "building PECL $pecl_name $pecl_version failed; full log: $pecl_build/build.log"
    }

    cp "modules/$pecl_name.so" "$staged_prefix/php/extensions/"
    log "built PECL $pecl_name $pecl_version"
  done
  cd "$php_src"
  end_step pecl
fi

# --- Layer tree ------------------------------------------------------------------------------
start_step "assembling the layer in $output_dir"
mkdir -p "$output_dir/bin" "$output_dir/lib" "$output_dir/php/etc" "$output_dir/php/conf.d" \
  "$output_dir/php/extensions" "$output_dir/php/runtime"
install -m 755 "$staged_prefix/bin/php" "$output_dir/bin/php"
if compgen -G "$staged_prefix/php/extensions/*.so" >/dev/null; then
  install -m 755 "$staged_prefix"/php/extensions/*.so "$output_dir/php/extensions/"
fi

if [ -f "$runtime_dir/bootstrap" ]; then
  install -m 755 "$runtime_dir/bootstrap" "$output_dir/bootstrap"
fi
if [ -d "$runtime_dir/src" ]; then
  cp -R "$runtime_dir/src/." "$output_dir/php/runtime/"
fi
if [ -f "$runtime_dir/php.ini" ]; then
  install -m 644 "$runtime_dir/php.ini" "$output_dir/php/etc/php.ini"
fi

ini_priority_of() {
  local entry
  for entry in "${ini_priorities[@]}"; do
    if [ "${entry%%=*}" = "$1" ]; then
      echo "${entry#*=}"
      return
    fi
  done
  if [ "$1" = opcache ]; then
    echo 10
  else
    echo 20
  fi
}

shared_extensions=()
for so_file in "$output_dir"/php/extensions/*.so; do
  [ -e "$so_file" ] || continue
  name=$(basename "$so_file" .so)
  shared_extensions+=("$name")
  # A Zend extension exports zend_extension_entry and loads only with zend_extension=.
  if readelf --dyn-syms -W "$so_file" | grep -qw zend_extension_entry; then
    directive=zend_extension
  else
    directive=extension
  fi
  printf '%s=%s\n' "$directive" "$name" >"$output_dir/php/conf.d/$(ini_priority_of "$name")-$name.ini"
done

# Debian's OpenSSL looks for CA certificates under /usr/lib/ssl, which Lambda does not have.
cat >"$output_dir/php/conf.d/ca-certificates.ini" <<EOF
; CA certificates of the Lambda base image (Amazon Linux keeps them in one PEM bundle).
openssl.cafile=$tls_ca_file
curl.cainfo=$tls_ca_file
EOF
end_step assemble

# --- Strip and bundle shared libraries -------------------------------------------------------
start_step 'stripping and bundling shared libraries'
strip --strip-all "$output_dir/bin/php"
for so_file in "$output_dir"/php/extensions/*.so; do
  [ -e "$so_file" ] && strip --strip-unneeded "$so_file"
done

# glibc's own libraries come from the Lambda base image; a copy would clash with its loader.
is_glibc_library() {
  case "$1" in
    linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | ld64.so.* | libc.so.* | libm.so.* | \
      libdl.so.* | libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | libanl.so.* | \
      libmvec.so.* | libBrokenLocale.so.* | libthread_db.so.* | libnss_*.so.* | \
      libc_malloc_debug.so.* | libmemusage.so | libpcprofile.so | libSegFault.so)
      return 0 ;;
  esac
  return 1
}

elf_files=("$output_dir/bin/php")
for so_file in "$output_dir"/php/extensions/*.so; do
  [ -e "$so_file" ] && elf_files+=("$so_file")
done

not_found=()
for elf_file in "${elf_files[@]}"; do
  # ldd lists the whole dependency tree, so one pass per file finds indirect libraries too.
  while read -r soname arrow path _; do
    [ "$arrow" = '=>' ] || continue
    is_glibc_library "$soname" && continue
    if [ "$path" = not ]; then
      not_found+=("$soname (needed by ${elf_file#"$output_dir"/})")
      continue
    fi
    if [ ! -e "$output_dir/lib/$soname" ]; then
      cp -L "$path" "$output_dir/lib/$soname"
      chmod 644 "$output_dir/lib/$soname"
      strip --strip-unneeded "$output_dir/lib/$soname"
    fi
  done < <(ldd "$elf_file")
done

if [ ${#not_found[@]} -gt 0 ]; then
  fail "shared libraries not found: ${not_found[*]}; install the packages that provide them and build again"
fi

# The same check from the layer's point of view: only the bundle and glibc may resolve.
for elf_file in "${elf_files[@]}" "$output_dir"/lib/*; do
  [ -e "$elf_file" ] || continue
  if LD_LIBRARY_PATH="$output_dir/lib" ldd "$elf_file" | grep -q 'not found'; then
    fail "$elf_file: $(LD_LIBRARY_PATH="$output_dir/lib" ldd "$elf_file" | grep 'not found' | tr '\n' ' ')"
  fi
done
end_step bundle

# --- Check and report ------------------------------------------------------------------------
# Load the shared extensions through the conf.d files just written, from the output folder.
touch "$work_dir/empty.ini"
modules=$(PHP_INI_SCAN_DIR="$output_dir/php/conf.d" LD_LIBRARY_PATH="$output_dir/lib" \
  "$output_dir/bin/php" -c "$work_dir/empty.ini" -d "extension_dir=$output_dir/php/extensions" -m 2>&1) ||
  fail "the built PHP does not start: $modules"
if printf '%s\n' "$modules" | grep -qi 'warning\|unable to load'; then
  fail "the built PHP failed to load an extension: $modules"
fi

if [ -n "${CCACHE_DIR:-}" ]; then
  log "ccache: $(ccache --print-stats 2>/dev/null | grep -E '^(direct_cache_hit|preprocessed_cache_hit|cache_miss)\s' | tr '\t\n' '= ' || ccache -s | tr '\n' ' ')"
fi

log "configure line: ${configure_line[*]}"
log "durations (s): ${durations[*]}"
log "bin/php: $(stat -c %s "$output_dir/bin/php") bytes"
log 'bundled libraries (bytes):'
bundle_json=
for library in "$output_dir"/lib/*; do
  [ -e "$library" ] || continue
  size=$(stat -c %s "$library")
  printf '  %-28s %10s\n' "$(basename "$library")" "$size" >&2
  bundle_json="$bundle_json${bundle_json:+,}{\"name\":\"$(basename "$library")\",\"bytes\":$size}"
done
log "layer: $(du -sb "$output_dir" | cut -f1) bytes unzipped"

json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ -n "$info_file" ]; then
  {
    printf '{"phpVersion":%s,' "$(json_string "$php_version")"
    printf '"configureLine":%s,' "$(json_string "${configure_line[*]}")"
    printf '"cflags":%s,' "$(json_string "$CFLAGS")"
    printf '"durations":{'
    first=1
    for entry in "${durations[@]}"; do
      [ -n "$first" ] || printf ','
      first=
      printf '"%s":%s' "${entry%%=*}" "${entry#*=}"
    done
    printf '},"modules":['
    first=1
    while read -r module; do
      case "$module" in '' | '['*) continue ;; esac
      [ -n "$first" ] || printf ','
      first=
      json_string "$module"
    done <<<"$modules"
    printf '],"bundle":[%s],' "$bundle_json"
    printf '"phpBytes":%s}\n' "$(stat -c %s "$output_dir/bin/php")"
  } >"$info_file"
fi

log "done: PHP $php_version layer in $output_dir"

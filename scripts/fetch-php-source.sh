#!/usr/bin/env bash
# Fetches the upstream PHP source tarball, its detached signature and the release managers'
# public keys from Debian's source archive, for builds that cannot reach php.net.
#
# Debian ships the upstream tarball unchanged as <package>_<version>.orig.tar.xz, its
# signature as .orig.tar.xz.asc, and the signers' keys in debian/upstream/signing-key.asc.
# apt checks each file against the signed Sources index while downloading, and this script
# checks the signature with gpgv before anything is written to the target folder.
#
# Usage: scripts/fetch-php-source.sh [TARGET_DIR]
#   TARGET_DIR          output folder (default: <repository>/.cache/php-source)
#   PHP_SOURCE_PACKAGE  Debian source package (default: php8.2, the PHP of Debian 12)
#
# Writes php-X.Y.Z.tar.xz, php-X.Y.Z.tar.xz.asc and php-keyring.gpg into TARGET_DIR and
# prints version=, sha256=, tarball=, signature= and keyring= lines on stdout. Progress goes
# to stderr. When TARGET_DIR already contains a tarball whose signature verifies, it is reused.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keyring_name='php-keyring.gpg'

log() {
  printf 'fetch-php-source: %s\n' "$*" >&2
}

fail() {
  log "error: $*"
  exit 1
}

require_command() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 not found: install $2 (apt-get install $2)"
}

# Prints the deb-src counterpart of each Debian or Ubuntu archive entry in a sources file:
# one-line entries ("deb URI suite components") from *.list files and deb822 stanzas
# (Types: deb) from *.sources files. Entries that already include deb-src are skipped.
deb_src_entries() {
  local file="$1"

  case "$file" in
    *.list)
      awk '$1 == "deb" && $0 ~ /(debian|ubuntu)/ { $1 = "deb-src"; print }' "$file"
      ;;
    *.sources)
      awk '
        function flush() {
          if (stanza != "" && has_deb && !has_src && !disabled && archive) {
            printf "%s%s", separator, stanza
            separator = "\n"
          }
          stanza = ""; has_deb = 0; has_src = 0; disabled = 0; archive = 0
        }
        /^[[:space:]]*$/ { flush(); next }
        /^Types:/ {
          for (i = 2; i <= NF; i++) {
            if ($i == "deb") has_deb = 1
            if ($i == "deb-src") has_src = 1
          }
          stanza = stanza "Types: deb-src\n"
          next
        }
        /^Enabled:[[:space:]]*(no|false)/ { disabled = 1 }
        /^URIs:/ && /(debian|ubuntu)/ { archive = 1 }
        { stanza = stanza $0 "\n" }
        END { flush() }
      ' "$file"
      ;;
  esac
}

has_deb_src() {
  local file

  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] || continue
    if grep -qE '^[[:space:]]*deb-src[[:space:]]|^Types:.*deb-src' "$file"; then
      return 0
    fi
  done

  return 1
}

# Adds deb-src entries for the configured Debian/Ubuntu archives (root only) and refreshes
# the package lists once, so that apt-cache showsrc can list the source versions. One-line
# entries go into php-source-deb-src.list, deb822 stanzas into php-source-deb-src.sources.
enable_source_index() {
  local package="$1"
  local file entries list_entries='' deb822_entries=''
  local added_list=/etc/apt/sources.list.d/php-source-deb-src.list
  local added_sources=/etc/apt/sources.list.d/php-source-deb-src.sources

  if [[ "$(id -u)" != 0 ]]; then
    fail "apt knows no source package $package. As root, add a deb-src entry for the Debian archive (or run this script as root, which adds one) and run apt-get update."
  fi

  if ! has_deb_src; then
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
      [[ -f "$file" ]] || continue
      entries="$(deb_src_entries "$file")"
      [[ -n "$entries" ]] || continue

      if [[ "$file" == *.sources ]]; then
        # deb822 stanzas are separated by a blank line.
        deb822_entries+="${deb822_entries:+$'\n'}$entries"$'\n'
      else
        list_entries+="$entries"$'\n'
      fi
    done

    if [[ -z "$list_entries" && -z "$deb822_entries" ]]; then
      fail "no Debian or Ubuntu archive entry found in /etc/apt to derive a deb-src entry from"
    fi

    if [[ -n "$list_entries" ]]; then
      log "adding deb-src entries to $added_list"
      printf '%s' "$list_entries" >"$added_list"
    fi
    if [[ -n "$deb822_entries" ]]; then
      log "adding deb-src entries to $added_sources"
      printf '%s' "$deb822_entries" >"$added_sources"
    fi
  fi

  log 'running apt-get update'
  apt-get update -qq >&2 || fail 'apt-get update failed (see the output above)'
}

# Prints the versions of a source package that apt lists, newest first (dpkg ordering).
source_versions() {
  local package="$1"
  local -a versions=() sorted=()
  local version i

  mapfile -t versions < <(apt-cache showsrc "$package" 2>/dev/null | awk '/^Version:/ { print $2 }' | sort -u)

  for version in "${versions[@]}"; do
    for ((i = 0; i < ${#sorted[@]}; i++)); do
      if dpkg --compare-versions "$version" gt "${sorted[i]}"; then
        break
      fi
    done
    sorted=("${sorted[@]:0:i}" "$version" "${sorted[@]:i}")
  done

  if ((${#sorted[@]} > 0)); then
    printf '%s\n' "${sorted[@]}"
  fi
}

# Verifies a detached signature against a keyring with gpgv in a throwaway GnuPG home.
verify_signature() {
  local keyring="$1" signature="$2" tarball="$3"
  local gnupg_home status=0

  gnupg_home="$(mktemp -d)"
  gpgv --homedir "$gnupg_home" --keyring "$keyring" "$signature" "$tarball" >&2 || status=$?
  rm -rf "$gnupg_home"

  return "$status"
}

print_result() {
  local tarball="$1"
  local version sha256

  version="$(basename "$tarball" .tar.xz)"
  version="${version#php-}"
  sha256="$(sha256sum "$tarball" | cut -d' ' -f1)"

  printf 'version=%s\nsha256=%s\ntarball=%s\nsignature=%s\nkeyring=%s\n' \
    "$version" "$sha256" "$tarball" "$tarball.asc" "$(dirname "$tarball")/$keyring_name"
}

# Prints the newest php-X.Y.Z.tar.xz in the target folder that has a signature that verifies.
find_verified_tarball() {
  local target="$1"
  local tarball

  [[ -f "$target/$keyring_name" ]] || return 1

  while read -r tarball; do
    [[ -f "$tarball.asc" ]] || continue
    if verify_signature "$target/$keyring_name" "$tarball.asc" "$tarball" 2>/dev/null; then
      printf '%s\n' "$tarball"
      return 0
    fi
    log "ignoring $tarball: its signature does not verify with $target/$keyring_name"
  done < <(find "$target" -maxdepth 1 -name 'php-*.tar.xz' | sort -rV)

  return 1
}

# Exit status of fetch_version when this version cannot be used and an older one may work.
readonly TRY_OLDER=3

# Downloads one Debian source version into a work folder and moves the upstream files into
# the target folder, then prints the tarball's path. Returns TRY_OLDER when the download
# fails (for example a 404 on the mirror) and exits on any other error. Callers run it in a
# command substitution, where errexit does not apply, so each step checks its own status.
fetch_version() {
  local package="$1" debian_version="$2" target="$3"
  local work upstream_version orig debian_tarball gnupg_home

  upstream_version="${debian_version#*:}"
  upstream_version="${upstream_version%-*}"
  if [[ ! "$upstream_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    log "skipping $package $debian_version: $upstream_version is not an unmodified upstream release"
    return "$TRY_OLDER"
  fi

  work="$(mktemp -d "$target/.apt-source.XXXXXX")" || fail "cannot create a work folder in $target"
  # apt downloads as the unprivileged _apt user when that user can write to the folder.
  chmod 755 "$work" || fail "cannot change the mode of $work"
  if [[ "$(id -u)" == 0 ]] && id _apt >/dev/null 2>&1; then
    chown _apt "$work" || fail "cannot hand $work to the _apt user"
  fi

  log "downloading $package $debian_version"
  if ! (cd "$work" && apt-get source --download-only -qq "$package=$debian_version" >&2); then
    log "download of $package $debian_version failed, trying the next older version"
    rm -rf "$work"
    return "$TRY_OLDER"
  fi

  orig="$work/${package}_${upstream_version}.orig.tar.xz"
  debian_tarball="$(find "$work" -maxdepth 1 -name "${package}_*.debian.tar.xz" | head -n 1)"
  if [[ ! -f "$orig" || ! -f "$orig.asc" || -z "$debian_tarball" ]]; then
    log "skipping $package $debian_version: the source has no ${orig##*/}, no signature or no debian.tar.xz"
    rm -rf "$work"
    return "$TRY_OLDER"
  fi

  # Only the upstream signing keys are needed from the Debian packaging.
  tar -xJf "$debian_tarball" -C "$work" debian/upstream/signing-key.asc ||
    fail "${debian_tarball##*/} has no debian/upstream/signing-key.asc"

  gnupg_home="$(mktemp -d)" || fail 'cannot create a temporary GnuPG home'
  gpg --homedir "$gnupg_home" --batch --quiet --dearmor \
    --output "$work/$keyring_name" "$work/debian/upstream/signing-key.asc" ||
    fail "gpg --dearmor failed on debian/upstream/signing-key.asc of $package $debian_version"
  rm -rf "$gnupg_home"

  if ! verify_signature "$work/$keyring_name" "$orig.asc" "$orig"; then
    rm -rf "$work"
    fail "the signature of ${orig##*/} ($package $debian_version) does not verify with debian/upstream/signing-key.asc"
  fi

  if ! {
    mv -f "$orig" "$target/php-$upstream_version.tar.xz" &&
      mv -f "$orig.asc" "$target/php-$upstream_version.tar.xz.asc" &&
      mv -f "$work/$keyring_name" "$target/$keyring_name"
  }; then
    fail "cannot move the PHP $upstream_version source files into $target"
  fi
  rm -rf "$work"

  printf '%s\n' "$target/php-$upstream_version.tar.xz"
}

main() {
  local target="${1:-$repo_root/.cache/php-source}"
  local package="${PHP_SOURCE_PACKAGE:-php8.2}"
  local tarball='' version status
  local -a versions=()

  if [[ "$target" == -h || "$target" == --help ]]; then
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return 0
  fi

  require_command gpgv gpgv
  require_command gpg gnupg
  require_command apt-get apt
  require_command dpkg dpkg

  # Checked explicitly: errexit does not apply when a caller runs this file in a condition.
  mkdir -p "$target" || fail "cannot create the target folder $target"
  target="$(cd "$target" && pwd)" || fail "cannot enter the target folder $target"
  [[ -d "$target" && -w "$target" ]] || fail "the target folder $target is not a writable folder"

  if tarball="$(find_verified_tarball "$target")"; then
    log "reusing $tarball"
    print_result "$tarball"
    return 0
  fi

  mapfile -t versions < <(source_versions "$package")
  if ((${#versions[@]} == 0)); then
    enable_source_index "$package"
    mapfile -t versions < <(source_versions "$package")
  fi
  ((${#versions[@]} > 0)) || fail "apt knows no source package $package, even after apt-get update"

  log "source versions of $package, newest first: ${versions[*]}"
  for version in "${versions[@]}"; do
    status=0
    tarball="$(fetch_version "$package" "$version" "$target")" || status=$?
    case "$status" in
      0)
        print_result "$tarball"
        return 0
        ;;
      "$TRY_OLDER") ;;
      *) exit "$status" ;;
    esac
  done

  fail "none of the source versions of $package could be downloaded: ${versions[*]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

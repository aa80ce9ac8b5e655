#!/usr/bin/env bash
# Builds the WASI guest programs in guests/c/ (and guests/third_party/) into
# guests/<name>.wasm with clang + wasi-libc, and prints each output's size.
#
# Needs (Debian 12):
#   apt-get update && apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# and, for the third-party modules (Debian source packages, some with
# Debian's patches applied): apt-get install -y patch (debian-archive-keyring,
# for the deb-src entry's signature, is already there on Debian 12).
# Debian installs wasi-libc in multiarch form (/usr/include/wasm32-wasi,
# /usr/lib/wasm32-wasi), so its sysroot is /usr; a wasi-sdk style sysroot
# in /usr/share/wasi-sysroot is used when present. WASI_SYSROOT overrides.
#
# Only DWARF is stripped (-Wl,--strip-debug); the name section stays, so a
# trap's backtrace still names the functions.
set -euo pipefail
cd "$(dirname "$0")"

CC="${CC:-clang}"
if [[ -n "${WASI_SYSROOT:-}" ]]; then
  sysroot="$WASI_SYSROOT"
elif [[ -d /usr/share/wasi-sysroot ]]; then
  sysroot=/usr/share/wasi-sysroot
elif [[ -f /usr/lib/wasm32-wasi/libc.a ]]; then
  sysroot=/usr
else
  echo "build.sh: no wasi-libc sysroot found; install wasi-libc (see the header)" >&2
  exit 1
fi

cflags=(--target=wasm32-wasi "--sysroot=$sysroot" -O2 -std=c11 -Wall -Wextra -Werror -Wl,--strip-debug)

build() { # build NAME [extra clang args...]; source c/NAME.c
  local name="$1"; shift
  "$CC" "${cflags[@]}" "$@" "c/$name.c" -o "$name.wasm"
  printf '%-28s %7d bytes\n' "$name.wasm" "$(stat -c %s "$name.wasm")"
}

build wasi_echo
build wasi_fs_probe
build wasi_sleep
build reactor_checksum -mexec-model=reactor

# Third party: Debian source packages (zlib, cjson), fetched with apt-get
# into a temp dir (a private apt config there: no change to the system's
# apt sources, nothing of them kept in the repo). Skip them all with
# GUESTS_NO_THIRD_PARTY=1.
third_party=(zlib_reactor.wasm cjson_cmd.wasm zlib_cmd.wasm)
if [[ -n "${GUESTS_NO_THIRD_PARTY:-}" ]]; then
  for m in "${third_party[@]}"; do printf '%-28s skipped (GUESTS_NO_THIRD_PARTY)\n' "$m"; done
  exit 0
fi
command -v patch >/dev/null || { echo "build.sh: needs patch (apt-get install -y patch)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache" "$tmp/src"
cat > "$tmp/parts/debian-src.sources" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_private=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$tmp/parts"
             -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "Debug::NoLocking=1"
             -o "APT::Sandbox::User=root")
apt-get "${apt_private[@]}" -qq update

# fetch_src PKG [patched]: downloads PKG's Debian source into $tmp/src/PKG,
# unpacks the upstream tarball there and, with `patched`, applies the
# Debian patches (debian/patches/series, in order). Prints the source dir.
fetch_src() {
  local pkg="$1" d="$tmp/src/$1"
  mkdir -p "$d"
  (cd "$d" && apt-get "${apt_private[@]}" -qq source --download-only "$pkg") >&2
  tar -xf "$d"/*.orig.tar.* -C "$d"
  local src
  src="$(find "$d" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  if [[ "${2:-}" == patched ]]; then
    mkdir "$d/debian-tar"
    tar -xf "$d"/*.debian.tar.* -C "$d/debian-tar"
    local series="$d/debian-tar/debian/patches/series" p
    if [[ -f "$series" ]]; then
      while read -r p _; do
        [[ -z "$p" || "$p" == \#* ]] && continue
        patch -s -p1 -d "$src" < "$d/debian-tar/debian/patches/$p" >&2
      done < "$series"
    fi
  fi
  echo "$src/"
}

# Third-party warnings are not ours to fix: no -Wall/-Werror for their
# sources; our wrappers get the full flags in a syntax-only pass first.
tp_cflags=(--target=wasm32-wasi "--sysroot=$sysroot" -O2 -Wl,--strip-debug)
check_wrapper() { # check_wrapper FILE INCLUDE-DIR
  "$CC" "${cflags[@]}" -Wno-unused-command-line-argument -fsyntax-only -I"$2" "$1"
}

# zlib (zlib license): the upstream tarball as is (zlib_reactor.wasm's bytes
# predate the other modules; Debian's zlib patches touch no file built here).
zsrc="$(fetch_src zlib)"
zver="$(sed -n 's/^#define ZLIB_VERSION "\(.*\)"/\1/p' "$zsrc/zlib.h")"
zfiles=(adler32.c crc32.c deflate.c inflate.c inftrees.c inffast.c trees.c zutil.c compress.c uncompr.c)
"$CC" "${tp_cflags[@]}" -mexec-model=reactor \
  -I"$zsrc" third_party/zlib_reactor.c "${zfiles[@]/#/$zsrc}" -o zlib_reactor.wasm
printf '%-28s %7d bytes (zlib %s)\n' zlib_reactor.wasm "$(stat -c %s zlib_reactor.wasm)" "$zver"
check_wrapper third_party/zlib_cmd.c "$zsrc"
"$CC" "${tp_cflags[@]}" -I"$zsrc" third_party/zlib_cmd.c "${zfiles[@]/#/$zsrc}" -o zlib_cmd.wasm
printf '%-28s %7d bytes (zlib %s)\n' zlib_cmd.wasm "$(stat -c %s zlib_cmd.wasm)" "$zver"

# cJSON (MIT): the upstream tarball with Debian's patches (security fixes).
csrc="$(fetch_src cjson patched)"
check_wrapper third_party/cjson_cmd.c "$csrc"
"$CC" "${tp_cflags[@]}" -I"$csrc" third_party/cjson_cmd.c "$csrc/cJSON.c" -o cjson_cmd.wasm
printf '%-28s %7d bytes (cJSON %s)\n' cjson_cmd.wasm "$(stat -c %s cjson_cmd.wasm)" \
  "$(sed -n 's/^#define CJSON_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)/\2/p' "$csrc/cJSON.h" | paste -sd.)"

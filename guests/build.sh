#!/usr/bin/env bash
# Builds the WASI guest programs in guests/c/ (and guests/third_party/) into
# guests/<name>.wasm with clang + wasi-libc, and prints each output's size.
#
# Needs (Debian 12):
#   apt-get update && apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
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

# Third party: zlib, from Debian's source package, fetched with apt-get into
# a temp dir (a private apt config there: no change to the system's apt
# sources, nothing of zlib kept in the repo). Skip with GUESTS_NO_THIRD_PARTY=1.
if [[ -n "${GUESTS_NO_THIRD_PARTY:-}" ]]; then
  echo "zlib_reactor.wasm            skipped (GUESTS_NO_THIRD_PARTY)"
  exit 0
fi
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
(cd "$tmp/src" && apt-get "${apt_private[@]}" -qq source --download-only zlib)
tar -xf "$tmp"/src/zlib_*.orig.tar.* -C "$tmp/src"
zsrc="$(echo "$tmp"/src/zlib-*/)"
zfiles=(adler32.c crc32.c deflate.c inflate.c inftrees.c inffast.c trees.c zutil.c compress.c uncompr.c)
# zlib's own warnings are not ours to fix: no -Wall/-Werror for it.
"$CC" --target=wasm32-wasi "--sysroot=$sysroot" -O2 -Wl,--strip-debug -mexec-model=reactor \
  -I"$zsrc" third_party/zlib_reactor.c "${zfiles[@]/#/$zsrc}" -o zlib_reactor.wasm
printf '%-28s %7d bytes (zlib %s)\n' zlib_reactor.wasm "$(stat -c %s zlib_reactor.wasm)" \
  "$(sed -n 's/^#define ZLIB_VERSION "\(.*\)"/\1/p' "$zsrc/zlib.h")"

#!/bin/sh
# A program written only against ipcq.h and `pkg-config ipcq`: install the
# build into a temporary DESTDIR, compile the conformance test against the
# installed header and SHARED library, run it for every backend, and check
# that libipcq.so exports nothing but ipcq_* symbols.
# Usage: pkgconfig.sh [SANITIZERS] (meson's b_sanitize; "none" when absent)
# Env: IPCB_BUILD_ROOT, IPCB_SOURCE_ROOT (tests/meson.build sets both).
set -u
san=${1:-none}
for tool in cc pkg-config nm meson; do
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done
build=${IPCB_BUILD_ROOT:?IPCB_BUILD_ROOT not set}
src=${IPCB_SOURCE_ROOT:?IPCB_SOURCE_ROOT not set}
tmp=$(mktemp -d /tmp/ipcq-pkgconfig.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Everything stays inside $tmp.  meson test builds only what tests need, so
# let meson install build the rest (this test runs alone: is_parallel false).
meson install -C "$build" --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
	{ tail -n 30 "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$tmp/root" -name ipcq.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no ipcq.pc installed"; exit 1; }
so=$(find "$tmp/root" -name 'libipcq.so' | head -n 1)
[ -n "$so" ] || { echo "FAIL: no libipcq.so installed"; exit 1; }
[ -f "$(dirname "$so")/libipcq.a" ] || bad "no libipcq.a next to libipcq.so"
hdr=$(find "$tmp/root" -name ipcq.h | head -n 1)
[ -n "$hdr" ] || bad "no ipcq.h installed"
[ -z "$(find "$tmp/root" -name ipcq_pvt.h)" ] || bad "the private header ipcq_pvt.h is installed"

flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
	pkg-config --cflags --libs ipcq) || { echo "FAIL: pkg-config ipcq"; exit 1; }
echo "pkg-config --cflags --libs ipcq: $flags"
extra=
[ "$san" != none ] && [ -n "$san" ] && extra="-fsanitize=$san"
# No -I to the source tree: "ipcq.h" must come from the installed include dir.
# shellcheck disable=SC2086
cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -O1 -g $extra \
	-I"$src/tests/ipc" -o "$tmp/conformance" \
	"$src/tests/ipc/conformance.c" "$src/tests/ipc/testutil.c" $flags \
	>"$tmp/cc.log" 2>&1 || { cat "$tmp/cc.log"; echo "FAIL: compiling against pkg-config ipcq"; exit 1; }
libdir=$(dirname "$so")
readelf -d "$tmp/conformance" | grep -q 'NEEDED.*libipcq\.so' ||
	bad "the program is not linked to the shared libipcq"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$tmp/conformance" |
	grep -q "$libdir/libipcq.so" || bad "libipcq.so does not resolve to the installed copy"

# Exported: ipcq_* only (IPCQ_x.y is the version node of the version script).
others=$(nm -D --defined-only "$so" | awk '$2 != "A" && $3 !~ /^ipcq_/ {print $3}')
[ -z "$others" ] || bad "libipcq.so exports non-ipcq_ symbols: $(echo $others | head -c 400)"
echo "exported: $(nm -D --defined-only "$so" | awk '$3 ~ /^ipcq_/' | wc -l) ipcq_* symbols"

for b in pipe sysv mqueue shm unix tcp; do
	LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/conformance" "$b" \
		>"$tmp/$b.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "conformance $b (installed, shared): pass"
	else
		echo "--- conformance $b (installed, shared): exit $rc"
		grep -E '^(FAIL|SKIP)|runtime error|ERROR' "$tmp/$b.log" | head -n 20 | grep . ||
			tail -n 20 "$tmp/$b.log"
		[ $rc -eq 77 ] || fail=1
	fi
done
exit $fail

#!/usr/bin/env bash
# Installs sonde into a temporary prefix and builds examples/minimal.c with
# pkg-config against the shared and the static library; checks the soname,
# the exported symbols and the program's output.
set -eu
src=$1
tmp=$(mktemp -d /tmp/sonde-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$src" install PREFIX="$tmp" >/dev/null
export PKG_CONFIG_PATH="$tmp/lib/pkgconfig"
pkg-config --exists sonde
[ "$(pkg-config --modversion sonde)" = "0.1.0" ]
test -f "$tmp/include/sonde.h" && test -f "$tmp/include/sonde/metrics.h"
readelf -d "$tmp/lib/libsonde.so.0.1.0" | grep -q 'SONAME.*libsonde.so.0'
[ "$(readlink "$tmp/lib/libsonde.so.0")" = "libsonde.so.0.1.0" ]
# shared: the inlined counter path reads the library's thread-locals
cc -std=c11 "$src/examples/minimal.c" $(pkg-config --cflags --libs sonde) \
   -Wl,-rpath,"$tmp/lib" -o "$tmp/min_shared"
ldd "$tmp/min_shared" | grep -q "$tmp/lib/libsonde.so.0"
"$tmp/min_shared" > "$tmp/out_shared"
grep -qx 'app_jobs_total 1' "$tmp/out_shared"
grep -qx 'app_requests_total{method="GET",status="200"} 1' "$tmp/out_shared"
# static
cc -std=c11 "$src/examples/minimal.c" $(pkg-config --cflags sonde) "$tmp/lib/libsonde.a" \
   $(pkg-config --libs-only-other --static sonde) -lpthread -lm $(pkg-config --static --libs sonde | grep -o -- '-lz' || true) \
   -o "$tmp/min_static"
"$tmp/min_static" > "$tmp/out_static"
# process_* values differ between runs; the app samples must not
cmp <(grep ^app_ "$tmp/out_shared") <(grep ^app_ "$tmp/out_static")
echo "install ok"

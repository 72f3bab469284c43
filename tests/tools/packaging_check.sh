#!/usr/bin/env bash
# tests/tools/packaging_check.sh - `make test-packaging` (issue 18): sonde
# installs the way each ecosystem expects, checked from a fresh copy of the
# source tree (the files git knows, no build/) in a temporary directory.
# Each check prints "ok - NAME" or "not ok - NAME" with the output that
# failed; the last line is "packaging: N passed, N failed".
#
# Environment: PYTHON (default /usr/bin/python3). Go and Rust checks are
# skipped, with the reason, when go / cargo is missing; the CMake checks
# when cmake is.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d /tmp/sonde-packaging.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
log=$tmp/log

check() { # name command...: runs the command, its output to $log
	local name=$1
	shift
	if "$@" > "$log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "not ok - $name"
		sed 's/^/    /' "$log" | tail -n 40
		failed=$((failed + 1))
	fi
}
skip() { echo "skip - $1: $2"; }

# The fresh copy: what a clone holds (tracked and new, unignored files).
src=$tmp/src
mkdir -p "$src"
(cd "$here" && git ls-files -z -c -o --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -xf - -C "$src"
# Everything from here on must not see this tree's build outputs.
unset BUILD SONDE_LIBRARY SONDE_LIB_DIR SONDE_INCLUDE_DIR SONDE_STATIC CGO_CFLAGS CGO_LDFLAGS \
	LD_LIBRARY_PATH PYTHONPATH PKG_CONFIG_PATH
export MAKEFLAGS= MFLAGS=

# ---- C: make install / uninstall ---------------------------------------------
snapshot() { # every path under $1 with its type, mode and content checksum
	(cd "$1" && find . -printf '%y %m %p %l\n' | sort && find . -type f -exec md5sum {} + | sort -k2)
}
build_fresh() { make -s -C "$src" -j2 all man; }
check "make all from the fresh copy" build_fresh

pre=$tmp/prefix-used
install_roundtrip() {
	# a prefix in use: another package's .pc, an empty man3, a header
	mkdir -p "$pre/lib/pkgconfig" "$pre/share/man/man3" "$pre/include" "$pre/bin"
	echo 'Name: other' > "$pre/lib/pkgconfig/other.pc"
	echo '/* other */' > "$pre/include/other.h"
	snapshot "$pre" > "$tmp/before"
	make -s -C "$src" install PREFIX="$pre" > "$tmp/install.out" || return 1
	cat "$tmp/install.out"
	for f in include/sonde.h include/sonde/metrics.h lib/libsonde.a lib/libsonde.so lib/libsonde.so.0 \
		lib/pkgconfig/sonde.pc lib/cmake/sonde/sondeConfig.cmake \
		lib/cmake/sonde/sondeConfigVersion.cmake share/man/man3/sonde.3 \
		share/man/man3/sonde-metrics.3 share/man/man3/sonde_counter_inc.3; do
		[ -e "$pre/$f" ] || { echo "missing after install: $f"; return 1; }
	done
	# the loader advice for a prefix outside the loader's path
	grep -q "is not on the loader's path: link programs with -Wl,-rpath,$pre/lib" "$tmp/install.out" ||
		{ echo "no loader advice"; return 1; }
	# man finds a function's page through its .so link
	if command -v man >/dev/null; then
		MANPATH=$pre/share/man man -P cat sonde_counter_inc 2>/dev/null | grep -q 'sonde_counter_inc' ||
			{ echo "man sonde_counter_inc failed"; return 1; }
	fi
	# a second install over the first, then one uninstall
	make -s -C "$src" install PREFIX="$pre" >/dev/null || return 1
	make -s -C "$src" uninstall PREFIX="$pre" || return 1
	snapshot "$pre" > "$tmp/after"
	diff "$tmp/before" "$tmp/after"
}
check "make install, make uninstall leave a prefix in use as it was" install_roundtrip

empty_roundtrip() {
	local p=$tmp/prefix-empty
	mkdir -p "$p"
	make -s -C "$src" install PREFIX="$p" DESTDIR= >/dev/null || return 1
	make -s -C "$src" uninstall PREFIX="$p" >/dev/null || return 1
	[ -z "$(ls -A "$p")" ] || { echo "left behind:"; find "$p"; return 1; }
}
check "make install, make uninstall leave an empty prefix empty" empty_roundtrip

destdir_roundtrip() {
	local dd=$tmp/stage
	make -s -C "$src" install DESTDIR="$dd" PREFIX=/usr/local > "$tmp/dd.out" || return 1
	cat "$tmp/dd.out"
	grep -q 'prefix=/usr/local' "$dd/usr/local/lib/pkgconfig/sonde.pc" || return 1
	grep -q 'staged into DESTDIR' "$tmp/dd.out" || return 1
	make -s -C "$src" uninstall DESTDIR="$dd" PREFIX=/usr/local >/dev/null || return 1
	# DESTDIR did not exist: install made it, uninstall removes it again
	[ ! -e "$dd" ] || { find "$dd"; return 1; }
}
check "DESTDIR staging installs and uninstalls" destdir_roundtrip

# The installed prefix the other checks use.
inst=$tmp/prefix
check "make install PREFIX=(new prefix)" make -s -C "$src" install PREFIX="$inst"

check "man pages cover every exported function" \
	"$PYTHON" "$src/tools/gen_man.py" --out "$tmp/man3" --version check \
	--check "$src/build/libsonde.so" "$src"/include/sonde.h "$src"/include/sonde/*.h

# ---- C/C++: CMake ---------------------------------------------------------------
if command -v cmake >/dev/null 2>&1; then
	cmake_agrees() {
		cmake -S "$src" -B "$tmp/cmake-build" >/dev/null || return 1
		cmake --build "$tmp/cmake-build" -j2 >/dev/null || return 1
		# sources: the objects CMake compiled are the Makefile's LIB_SRC
		(cd "$tmp/cmake-build/CMakeFiles/sonde_objects.dir" && find lib -name '*.c.o' | sed 's/\.o$//' | sort) > "$tmp/cm-src"
		make -s -C "$src" print-LIB_SRC | sed 's/^LIB_SRC=//' | tr ' ' '\n' | sed '/^$/d' | sort > "$tmp/mk-src"
		diff "$tmp/mk-src" "$tmp/cm-src" || { echo "CMakeLists.txt SONDE_SOURCES and the Makefile's lib/*/*.c differ (< Makefile, > CMake)"; return 1; }
		# exports and version
		nm -D --defined-only "$tmp/cmake-build/libsonde.so" | awk '{print $2, $3}' | sort > "$tmp/cm-exp"
		nm -D --defined-only "$src/build/libsonde.so" | awk '{print $2, $3}' | sort > "$tmp/mk-exp"
		diff "$tmp/mk-exp" "$tmp/cm-exp" || { echo "exports differ (< Makefile, > CMake)"; return 1; }
		[ -e "$tmp/cmake-build/libsonde.so.$(make -s -C "$src" print-VERSION | cut -d= -f2)" ] ||
			{ echo "CMake's project VERSION differs from the Makefile's"; return 1; }
		readelf -d "$tmp/cmake-build/libsonde.so" | grep -q 'SONAME.*libsonde.so.0' || return 1
		# the static archive is one prelinked object carrying every file
		[ "$(ar t "$tmp/cmake-build/libsonde.a")" = "sonde-all.o" ] || return 1
		nm "$tmp/cmake-build/libsonde.a" | awk '$2 == "T" {print $3}' | sort > "$tmp/cm-a"
		nm "$src/build/libsonde.a" | awk '$2 == "T" {print $3}' | sort > "$tmp/mk-a"
		diff "$tmp/mk-a" "$tmp/cm-a"
	}
	check "CMakeLists.txt builds the Makefile's sources, exports and version" cmake_agrees

	# An application: both targets, C and C++.
	app=$tmp/app
	mkdir -p "$app"
	cp "$src/examples/minimal.c" "$app/app.c"
	cat > "$app/app.cpp" <<'CPP'
#include <sonde.h>
#include <cstdio>
int main()
{
	sonde_counter *c = sonde_counter_new(nullptr, "cxx_runs_total", "Runs.");
	sonde_counter_inc(c);
	sonde_buf out = SONDE_BUF_INIT;
	if (sonde_expose(nullptr, SONDE_FORMAT_TEXT, &out) != SONDE_OK)
		return 1;
	std::fputs(out.data, stdout);
	sonde_buf_destroy(&out);
	return 0;
}
CPP
	run_apps() { # build dir
		for exe in app_shared app_static app_cxx; do
			"$1/$exe" > "$1/$exe.out" || { echo "$exe failed"; return 1; }
		done
		grep -qx 'app_jobs_total 1' "$1/app_shared.out" &&
			grep -qx 'app_jobs_total 1' "$1/app_static.out" &&
			grep -qx 'cxx_runs_total 1' "$1/app_cxx.out" || { head "$1"/*.out; return 1; }
		# shared: libsonde.so mapped; static: not
		ldd "$1/app_shared" | grep -q 'libsonde.so.0' || { echo "app_shared does not load libsonde.so"; return 1; }
		! ldd "$1/app_static" | grep -q libsonde || { echo "app_static loads libsonde.so"; return 1; }
		# default wiring (constructor) made it into the static link
		grep -q '^sonde_' "$1/app_static.out" || { echo "app_static: no sonde_ self-metrics"; return 1; }
	}
	find_package_app() {
		cat > "$app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(app C CXX)
find_package(sonde 0.1 CONFIG REQUIRED)
add_executable(app_shared app.c)
target_link_libraries(app_shared PRIVATE sonde::sonde)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE sonde::sonde_static m)
add_executable(app_cxx app.cpp)
target_link_libraries(app_cxx PRIVATE sonde::sonde)
CM
		cmake -S "$app" -B "$app/b1" -DCMAKE_PREFIX_PATH="$inst" >/dev/null || return 1
		cmake --build "$app/b1" >/dev/null || return 1
		run_apps "$app/b1" || return 1
		ldd "$app/b1/app_shared" | grep -q "$inst/lib/libsonde.so.0" || { ldd "$app/b1/app_shared"; return 1; }
		# a version the package cannot satisfy is refused
		sed -i 's/find_package(sonde 0.1 /find_package(sonde 1.0 /' "$app/CMakeLists.txt"
		if cmake -S "$app" -B "$app/b2" -DCMAKE_PREFIX_PATH="$inst" >/dev/null 2>&1; then
			echo "find_package(sonde 1.0) accepted 0.1.0"; return 1
		fi
	}
	check "find_package(sonde CONFIG REQUIRED): sonde::sonde and sonde::sonde_static" find_package_app

	add_subdirectory_app() {
		mkdir -p "$app/sub"
		cp "$app/app.c" "$app/app.cpp" "$app/sub/"
		cat > "$app/sub/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.13)
project(app C CXX)
add_subdirectory("$src" sonde)
add_executable(app_shared app.c)
target_link_libraries(app_shared PRIVATE sonde::sonde)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE sonde::sonde_static m)
add_executable(app_cxx app.cpp)
target_link_libraries(app_cxx PRIVATE sonde::sonde)
CM
		cmake -S "$app/sub" -B "$app/b3" >/dev/null || return 1
		cmake --build "$app/b3" -j2 >/dev/null || return 1
		run_apps "$app/b3"
	}
	check "add_subdirectory(sonde): sonde::sonde and sonde::sonde_static" add_subdirectory_app
else
	skip "CMake checks" "cmake not found (apt-get install cmake)"
fi

# ---- Python -------------------------------------------------------------------------
pip_target() {
	# a copy of the fresh tree: nothing built in it
	local s2=$tmp/src-pip
	mkdir -p "$s2" && (cd "$src" && git -C "$here" ls-files >/dev/null 2>&1; tar --exclude=./build -cf - .) | tar -xf - -C "$s2"
	rm -rf "$s2/build"
	PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install --no-cache-dir \
		--target "$tmp/pydir" "$s2/bindings/python" || return 1
	[ ! -e "$s2/build" ] || { echo "pip built into the source tree's build/"; return 1; }
	cd /
	env -i PATH=/usr/bin:/bin PYTHONPATH="$tmp/pydir" "$PYTHON" -c '
import sonde, sys, os
c = sonde.Counter("pip_checks", "Checks.", ["kind"])
c.labels("wheel").inc()
page = sonde.generate_latest().decode()
assert "pip_checks_total{kind=\"wheel\"} 1.0" in page or "pip_checks_total{kind=\"wheel\"} 1" in page, page
assert sonde.library_path.startswith(sys.argv[1]), sonde.library_path
print("loaded", sonde.library_path, sonde.library_version())
' "$tmp/pydir"
}
check "pip install --target DIR ./bindings/python (offline), import sonde" pip_target

unittest_in_package() {
	cd "$src/bindings/python" || return 1
	env -u SONDE_LIBRARY "$PYTHON" -m unittest 2>&1 | tee "$tmp/ut.out" | tail -n 5
	local rc=${PIPESTATUS[0]}
	local ran
	ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$tmp/ut.out")
	# every test module of tests/ is found and run
	expected=$(cd "$src/bindings/python" && PYTHONPATH=.:tests "$PYTHON" -c '
import unittest
print(unittest.defaultTestLoader.discover("tests", top_level_dir="tests").countTestCases())')
	echo "ran ${ran:-0} of $expected"
	[ "$rc" = 0 ] && [ "${ran:-0}" -gt 0 ] && [ "${ran:-0}" = "$expected" ]
}
check "cd bindings/python && python3 -m unittest runs every test" unittest_in_package

python_installed() {
	local pd
	pd=$("$PYTHON" "$src/tools/pythondir.py" "$inst")
	cd /
	env -i PATH=/usr/bin:/bin PYTHONPATH="$pd" "$PYTHON" -c '
import sonde, sys
assert sonde.library_path == sys.argv[1] + "/lib/libsonde.so.0", sonde.library_path
print(sonde.library_path)' "$inst"
}
check "make install's Python package loads the installed libsonde" python_installed

# ---- Go ---------------------------------------------------------------------------------
if command -v go >/dev/null 2>&1; then
	go_module() {
		local m=$tmp/goapp
		mkdir -p "$m"
		local modpath
		modpath=$(sed -n 's/^module //p' "$src/bindings/go/go.mod")
		cat > "$m/go.mod" <<GOMOD
module example.com/goapp

go 1.19

require $modpath v0.0.0

replace $modpath => $src/bindings/go
GOMOD
		cat > "$m/main.go" <<GO
package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	sonde "$modpath"
)

func main() {
	c, err := sonde.NewCounter(sonde.CounterOpts{Name: "goapp_runs_total", Help: "Runs."})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	c.Inc()
	h, err := sonde.InstrumentHandler(nil, "hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	page, err := sonde.DefaultRegistry.Expose(sonde.FormatText)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	for _, l := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(l, "goapp_") || strings.HasPrefix(l, "http_requests_total") {
			fmt.Println(l)
		}
	}
}
GO
		(cd "$m" && env GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$tmp/go-cache" \
			GOPATH="$tmp/go-path" PKG_CONFIG_PATH="$inst/lib/pkgconfig" go build -o goapp .) || return 1
		LD_LIBRARY_PATH="$inst/lib" "$m/goapp" | tee "$m/out"
		grep -qx 'goapp_runs_total 1' "$m/out" &&
			grep -q '^http_requests_total{.*code="418".*} 1$' "$m/out" || return 1
		# linked against the installed shared library (pkg-config gives no
		# rpath: the loader finds it through LD_LIBRARY_PATH or ldconfig)
		LD_LIBRARY_PATH="$inst/lib" ldd "$m/goapp" | grep -q "$inst/lib/libsonde.so.0" ||
			{ LD_LIBRARY_PATH="$inst/lib" ldd "$m/goapp"; return 1; }
	}
	check "a Go module outside the tree: replace + PKG_CONFIG_PATH only" go_module
else
	skip "Go module" "go not found (apt-get install golang-go)"
fi

# ---- Rust ---------------------------------------------------------------------------------
if command -v cargo >/dev/null 2>&1; then
	cargo_fresh() {
		local s3=$tmp/src-cargo
		mkdir -p "$s3" && (cd "$src" && tar --exclude=./build -cf - .) | tar -xf - -C "$s3"
		rm -rf "$s3/build"
		cd "$tmp" && cargo new --offline --quiet rsapp || return 1
		cat >> "$tmp/rsapp/Cargo.toml" <<TOML
sonde = { path = "$s3/bindings/rust" }
TOML
		cat > "$tmp/rsapp/src/main.rs" <<'RS'
fn main() {
    let c = sonde::Counter::new(None, "rsapp_runs_total", "Runs.").expect("counter");
    c.inc();
    let page = sonde::Registry::default_registry().expose(sonde::Format::Text).expect("expose");
    print!("{}", String::from_utf8_lossy(&page));
}
RS
		# no pkg-config sonde, no SONDE_LIB_DIR: built from ../../lib
		(cd "$tmp/rsapp" && env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR="$tmp/no-pc" \
			CARGO_TARGET_DIR="$tmp/rsapp/target" cargo run --offline --quiet > "$tmp/rsapp/out") || return 1
		grep -qx 'rsapp_runs_total 1' "$tmp/rsapp/out" || { head "$tmp/rsapp/out"; return 1; }
		[ ! -e "$s3/build" ] || { echo "build.rs wrote into the source tree"; return 1; }
		# nothing found and nothing buildable: one error naming all three ways
		(cd "$tmp/rsapp" && env PKG_CONFIG_LIBDIR="$tmp/no-pc" CC=/bin/false \
			CARGO_TARGET_DIR="$tmp/rsapp/target2" cargo build --offline > "$tmp/rsapp/err" 2>&1) &&
			{ echo "built with no library and no compiler"; return 1; }
		grep -q 'pkg-config' "$tmp/rsapp/err" && grep -q 'SONDE_LIB_DIR' "$tmp/rsapp/err" &&
			grep -q 'from the C sources' "$tmp/rsapp/err" || { tail -30 "$tmp/rsapp/err"; return 1; }
		# and the installed library through pkg-config
		(cd "$tmp/rsapp" && PKG_CONFIG_PATH="$inst/lib/pkgconfig" CARGO_TARGET_DIR="$tmp/rsapp/target3" \
			cargo build --offline --quiet) || return 1
		LD_LIBRARY_PATH="$inst/lib" ldd "$tmp/rsapp/target3/debug/rsapp" | grep -q "$inst/lib/libsonde.so.0" ||
			{ LD_LIBRARY_PATH="$inst/lib" ldd "$tmp/rsapp/target3/debug/rsapp"; return 1; }
	}
	check "cargo new + path dependency builds and runs offline from nothing built" cargo_fresh
else
	skip "cargo project" "cargo not found"
fi

echo "packaging: $passed passed, $failed failed"
[ "$failed" = 0 ]

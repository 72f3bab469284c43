#!/usr/bin/env bash
# bindings/run-tests.sh LANG - runs one binding's tests with its own runner
# (python: unittest, go: go test, rust: cargo test, node: node --test) and
# ends with the line
#   bindings-LANG: N passed, N failed
# counted from that runner's output. Exit status: the runner's (0 when the
# toolchain is absent and the suite is skipped, with the reason printed).
#
# Environment (set by `make test-bindings`): BUILD (absolute build dir),
# PYTHON, SONDE_ZLIB_LIBS (-lz when libsonde was built with zlib).
# Go builds with -tags sonde_intree (the source tree's build/, no installed
# libsonde). Go and Rust link $BUILD/libsonde.so (their default, one copy of sonde per
# process): $BUILD goes first in the rpath and in LD_LIBRARY_PATH, so the
# tests run against the library of this build, not another one installed.
set -u
lang=${1:?usage: run-tests.sh python|go|rust|node|node-asan|node-tsan}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
PYTHON=${PYTHON:-/usr/bin/python3}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0

case "$lang" in
python)
	SONDE_LIBRARY="$BUILD/libsonde.so" SONDE_SRC_DIR="$root" \
	PYTHONPATH="$here/python:$here/python/tests" PYTHONDONTWRITEBYTECODE=1 \
		"$PYTHON" -m unittest discover -s "$here/python/tests" -v 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\}.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^FAILED (.*failures=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	e=$(sed -n 's/^FAILED (.*errors=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	s=$(sed -n 's/^\(OK\|FAILED\) (.*skipped=\([0-9]*\).*/\2/p' "$log" | tail -n 1)
	failed=$(( ${f:-0} + ${e:-0} ))
	passed=$(( ${ran:-0} - failed - ${s:-0} ))
	[ "${s:-0}" = 0 ] || echo "bindings-python: ${s} skipped"
	;;
go)
	if ! command -v go >/dev/null 2>&1; then
		echo "bindings-go: skipped: go not found (apt-get install golang-go)"
		echo "bindings-go: 0 passed, 0 failed"
		exit 0
	fi
	# go's build cache does not track headers outside the package (the
	# cgo preamble includes ../../include): a changed sonde header must
	# not reuse a cgo object built against the old layout
	hdrsum=$(cat "$here"/../include/*.h "$here"/../include/sonde/*.h | cksum)
	if [ "$(cat "$BUILD/go-cache/.sonde-headers" 2>/dev/null)" != "$hdrsum" ]; then
		rm -rf "$BUILD/go-cache"
	fi
	mkdir -p "$BUILD/go-cache" "$BUILD/go-path"
	echo "$hdrsum" > "$BUILD/go-cache/.sonde-headers"
	(cd "$here/go" && GOTOOLCHAIN=local GOFLAGS= GOPROXY=off GOCACHE="$BUILD/go-cache" \
		GOPATH="$BUILD/go-path" CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD ${SONDE_ZLIB_LIBS:-}" \
		LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		go test -tags sonde_intree -count=1 -v ./... 2>&1) | tee "$log"
	rc=${PIPESTATUS[0]}
	# the slog handler is a module of its own (it needs golang.org/x/exp
	# before Go 1.21): Debian's golang-golang-x-exp-dev, through a go.work
	exp=/usr/share/gocode/src/golang.org/x/exp
	if [ -d "$exp/slog" ]; then
		printf 'go 1.19\n\nuse %s\n\nreplace golang.org/x/exp => %s\n' \
			"$here/go/sondeslog" "$exp" > "$BUILD/go-slog.work"
		(cd "$here/go/sondeslog" && GOWORK="$BUILD/go-slog.work" GOTOOLCHAIN=local GOFLAGS= \
			GOPROXY=off GOCACHE="$BUILD/go-cache" GOPATH="$BUILD/go-path" \
			CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD ${SONDE_ZLIB_LIBS:-}" \
			LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
			go test -tags sonde_intree -count=1 -v ./... 2>&1) | tee -a "$log"
		[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	else
		echo "--- FAIL: sondeslog: $exp missing (apt-get install golang-golang-x-exp-dev)" | tee -a "$log"
		rc=1
	fi
	# pbcheck: a nested module decoding the protobuf exposition with
	# client_model's Go types, from Debian's golang-github-prometheus-
	# client-model-dev (replace directives to /usr/share/gocode, offline)
	(cd "$here/go/pbcheck" && GOTOOLCHAIN=local GOFLAGS= GOPROXY=off GOCACHE="$BUILD/go-cache" \
		GOPATH="$BUILD/go-path" CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD ${SONDE_ZLIB_LIBS:-}" \
		LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		go test -tags sonde_intree -count=1 -v ./... 2>&1) | tee -a "$log"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	passed=$(grep -c -E '^\s*--- PASS' "$log")
	failed=$(grep -c -E '^\s*--- FAIL' "$log")
	;;
rust)
	if ! command -v cargo >/dev/null 2>&1; then
		echo "bindings-rust: skipped: cargo not found"
		echo "bindings-rust: 0 passed, 0 failed"
		exit 0
	fi
	CARGO_TARGET_DIR="$BUILD/rust" SONDE_LIB_DIR="$BUILD" SONDE_INCLUDE_DIR="$root/include" \
		LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		cargo test --offline --manifest-path "$here/rust/Cargo.toml" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	while read -r p f; do
		passed=$((passed + p))
		failed=$((failed + f))
	done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log")
	;;
node | node-asan | node-tsan)
	if ! command -v node >/dev/null 2>&1; then
		echo "bindings-$lang: skipped: node not found (apt-get install nodejs libnode-dev)"
		echo "bindings-$lang: 0 passed, 0 failed"
		exit 0
	fi
	# the addon links $BUILD/libsonde.a (build.js); the tests need no npm
	# package. The sanitizer runs build the addon with libsonde compiled in
	# under ASan+UBSan or TSan and start node with the runtime preloaded
	# (node itself is not instrumented: sanitizer/tsan.supp names the
	# Node/V8 internals whose races TSan cannot judge).
	san=""
	run=()
	case "$lang" in
	node-asan)
		san=address
		run=(env LD_PRELOAD="$(${CC:-cc} -print-file-name=libasan.so)"
			ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
			SONDE_NODE_ADDON="$here/node/build/sonde-address.node")
		;;
	node-tsan)
		san=thread
		run=(env LD_PRELOAD="$(${CC:-cc} -print-file-name=libtsan.so)"
			TSAN_OPTIONS="halt_on_error=1:report_signal_unsafe=0:suppressions=$here/node/sanitizer/tsan.supp"
			SONDE_NODE_ADDON="$here/node/build/sonde-thread.node")
		;;
	esac
	(cd "$here/node" && SONDE_BUILD="$BUILD" SONDE_NODE_SANITIZE="$san" node build.js && \
		"${run[@]}" node --test --test-reporter=tap test/*.test.js) 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
	failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
	passed=${passed:-0}
	failed=${failed:-0}
	;;
*)
	echo "run-tests.sh: unknown language $lang" >&2
	exit 2
	;;
esac

# a runner that failed without reporting a failing test (a build error)
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	failed=1
fi
echo "bindings-$lang: $passed passed, $failed failed"
exit "$rc"

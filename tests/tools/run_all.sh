#!/usr/bin/env bash
# tests/tools/run_all.sh - what `make test` runs: the C suite, then (when no
# test filter is given) the Python, Go and Rust bindings' own runners, and
# one closing line adding them all up. The exit status is non-zero when
# anything failed.
set -u
c_tests=$1
filter=${2:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$c_tests" $filter | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | awk '{print $1}')
fail=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 | awk '{print $3}')
pass=${pass:-0}
fail=${fail:-1}

if [ -z "$filter" ] && [ "${SONDE_SKIP_BINDINGS:-0}" != 1 ]; then
	make -s test-bindings 2>&1 | tee "$log"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	while read -r lang p _ f _; do
		pass=$((pass + p))
		fail=$((fail + f))
	done < <(grep -E '^bindings-[a-z]+: [0-9]+ passed, [0-9]+ failed' "$log")
	grep -qE '^bindings-python: ' "$log" || { echo "run_all: the Python bindings printed no result"; fail=$((fail + 1)); }
fi
[ "$fail" = 0 ] || rc=1
echo "total: $pass passed, $fail failed"
exit $rc

#!/usr/bin/env bash
# Runs every example and prints its output (make example calls it). Each
# example checks its own result and exits non-zero when it is wrong; where
# examples/NAME.out exists, the output of NAME.lua must also be exactly that
# (the seed's example stays as the seed gives it). Ends with one line
# "N passed, N failed" and exits non-zero when an example failed.
#
#   examples/run.sh LUA [PROGRAM...]
#
# LUA runs examples/*.lua; each PROGRAM (a built C example) runs as it is,
# with the environment it is given (LD_LIBRARY_PATH, LUA_CPATH).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
    echo "usage: $0 LUA [PROGRAM...]" >&2
    exit 2
fi
lua=$1
shift
passed=0
failed=0

# run NAME EXPECTED-OUTPUT-FILE-OR-EMPTY COMMAND...
run() {
    local name=$1 expected=$2 output status
    shift 2
    echo "== $name"
    output=$(timeout 120 "$@" 2>&1 </dev/null)
    status=$?
    printf '%s\n' "$output"
    if [ "$status" -ne 0 ]; then
        echo "FAIL $name: exited with status $status"
        failed=$((failed + 1))
    elif [ -n "$expected" ] && [ -e "$expected" ] && [ "$output" != "$(cat "$expected")" ]; then
        echo "FAIL $name: output differs from $expected:"
        diff <(printf '%s\n' "$output") "$expected"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}

for example in examples/*.lua; do
    run "$example" "${example%.lua}.out" "$lua" "$example"
done
for program in "$@"; do
    run "$program" "" "$program"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

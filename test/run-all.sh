#!/usr/bin/env bash
# Runs every test suite of mtmsg in turn (`make test` calls it) and ends with
# one line "N passed, N failed" that adds them all up. Exits non-zero when
# anything failed.
#
# Suites, in order:
#   cargo test --release          counts from its "test result:" lines; again
#                                 with --cfg mtmsg_portable (target/portable)
#   cargo clippy                  -D warnings, the unsafe-code lints included
#   build/c/NAME for test/c/*.c   each prints its own "N passed, N failed"
#   c-stress-burners              build/c/stress with MTMSG_STRESS_BURNERS
#   lua5.4-stress-burners         and test_stress on Lua 5.4 likewise: the
#                                 stress cases with threads that only spin
#                                 beside them, more threads than cores, so
#                                 that the others are preempted anywhere
#   test/lua/run.lua              under build/lua<v>/mtlua, v in LUA_VERSIONS,
#                                 under the stock LuaJIT interpreter, and
#                                 under the operating system's interpreters
#                                 (STOCK_VERSIONS), skipped where not installed
#   make example                  the examples, each checking its result
#   test/install.sh               make install, pkg-config, the rockspec
#
# Each suite's pieces are built first with make, so that a piece that does not
# build counts as one failure and the other suites still run. A suite that
# exits non-zero without counting a failure (a crash), times out, or prints
# no result line also counts as one failure. Logs: build/test-logs/.
#
# Environment: MAKE (make), LUA_VERSIONS ("5.1 5.2 5.3 5.4 5.5 jit"),
# STOCK_VERSIONS ("5.1 5.2 5.3 5.4 jit"),
# MTMSG_SUITE_TIMEOUT (seconds per suite, 600), MTMSG_CARGO_TIMEOUT (1200),
# MTMSG_TEST_BURNERS (burners of the two burner suites, 3).
set -uo pipefail
cd "$(dirname "$0")/.."

make_command=${MAKE:-make}
lua_versions=${LUA_VERSIONS:-"5.1 5.2 5.3 5.4 5.5 jit"}
suite_timeout=${MTMSG_SUITE_TIMEOUT:-600}
burners=${MTMSG_TEST_BURNERS:-3}
cargo_timeout=${MTMSG_CARGO_TIMEOUT:-1200}
log_dir=build/test-logs
mkdir -p "$log_dir"

total_passed=0
total_failed=0
summary=()

# record NAME PASSED FAILED [NOTE]
record() {
    total_passed=$((total_passed + $2))
    total_failed=$((total_failed + $3))
    summary+=("$(printf '  %-26s %5d passed, %d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

# skip NAME REASON: a suite that cannot run on this machine, named in the summary.
skip() {
    echo "== $1: skipped: $2"
    summary+=("$(printf '  %-26s skipped: %s' "$1" "$2")")
}

# build NAME MAKE-TARGET...: false (and one failure recorded) when it does not build.
build() {
    local name=$1 log="$log_dir/build-$1.log"
    shift
    echo "== build $name"
    if ! "$make_command" --no-print-directory "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        record "$name" 0 1 "does not build, see $log"
        return 1
    fi
}

# Prints "passed failed lines" from a suite's log: the sum of cargo's
# "test result:" lines, or the last "N passed, N failed" line of the others.
count_results() {
    local format=$1 log=$2
    if [ "$format" = cargo ]; then
        awk '/^test result: /{
                 for (i = 1; i <= NF; i++) {
                     if ($(i + 1) ~ /^passed;?$/) passed += $i
                     if ($(i + 1) ~ /^failed;?$/) failed += $i
                 }
                 lines++
             }
             END { print passed + 0, failed + 0, lines + 0 }' "$log"
    else
        awk '/^[0-9]+ passed, [0-9]+ failed/ { passed = $1; failed = $3; lines++ }
             END { print passed + 0, failed + 0, lines + 0 }' "$log"
    fi
}

# run_suite NAME FORMAT TIMEOUT COMMAND...: FORMAT is cargo or plain.
run_suite() {
    local name=$1 format=$2 limit=$3 log="$log_dir/$1.log"
    shift 3
    echo "== $name: $*"
    timeout --kill-after=30 "$limit" "$@" </dev/null 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local passed failed lines note=""
    read -r passed failed lines < <(count_results "$format" "$log")
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        note="timed out after ${limit}s"
    elif [ "$status" -ne 0 ]; then
        note="exited with status $status"
    elif [ "$lines" -eq 0 ]; then
        note="printed no result line"
    fi
    if [ -n "$note" ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    record "$name" "$passed" "$failed" "$note"
}

run_suite "cargo-test" cargo "$cargo_timeout" cargo test --release

# The portable wait (mutex and condition variable instead of futexes, as on
# systems without them), built apart: the Rust tests again on it.
run_suite "cargo-test-portable" cargo "$cargo_timeout" \
    env RUSTFLAGS="--cfg mtmsg_portable" CARGO_TARGET_DIR=target/portable cargo test --release

# Lints, with the unsafe-code ones of src/lib.rs as errors: one test.
run_suite "clippy" plain "$cargo_timeout" bash -c \
    'if cargo clippy --release --all-targets -- -D warnings; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi'

for source in test/c/*.c; do
    [ -e "$source" ] || continue
    name=$(basename "$source" .c)
    build "c-$name" "build/c/$name" &&
        run_suite "c-$name" plain "$suite_timeout" "build/c/$name"
done

# The short form of make stress: about a minute for both on 2 cores.
build c-stress-burners build/c/stress &&
    run_suite c-stress-burners plain "$suite_timeout" \
        env MTMSG_STRESS_BURNERS="$burners" MTMSG_STRESS_MESSAGES=200000 build/c/stress
build lua5.4-stress-burners lua-5.4 &&
    run_suite lua5.4-stress-burners plain "$suite_timeout" \
        env MTMSG_STRESS_BURNERS="$burners" MTMSG_STRESS_MESSAGES=100000 build/lua5.4/mtlua test/lua/run.lua test_stress

for version in $lua_versions; do
    build "lua$version" "lua-$version" &&
        run_suite "lua$version" plain "$suite_timeout" "build/lua$version/mtlua" test/lua/run.lua
done

# The module in a stock interpreter: LuaJIT's own, which
# luajit-src builds beside its library, loading mtmsg.so and llthreads2/ex.so.
stock_luajit=build/luajit/luajit-build/src/luajit
if [ -x "$stock_luajit" ] && [ -e build/luajit/mtmsg.so ]; then
    LUA_CPATH='build/luajit/?.so;;' run_suite "luajit-stock" plain "$suite_timeout" "$stock_luajit" test/lua/run.lua
fi

# The suite in the operating system's interpreters (lua5.1 ... lua5.4,
# luajit), with the module and the thread module built against their headers
# (make stock-VERSION); one not installed is skipped, and named in the summary.
for version in ${STOCK_VERSIONS:-5.1 5.2 5.3 5.4 jit}; do
    name=stock-lua$version
    if ! interpreter=$(tools/find-lua.sh interpreter "$version" 2>&1); then
        skip "$name" "$interpreter"
    elif ! headers=$(tools/find-lua.sh cflags "$version" 2>&1); then
        skip "$name" "$headers"
    else
        build "$name" "stock-$version" &&
            run_suite "$name" plain "$suite_timeout" env -u LUA_CPATH_5_2 -u LUA_CPATH_5_3 -u LUA_CPATH_5_4 \
                LUA_CPATH="build/$name/?.so;;" "$interpreter" test/lua/run.lua
    fi
done

# What users install and run: the examples, each checking its
# result, and make install, pkg-config, the rockspec (test/install.sh).
build examples example-programs && run_suite examples plain "$suite_timeout" "$make_command" --no-print-directory example
run_suite install plain "$suite_timeout" env MAKE="$make_command" bash test/install.sh

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

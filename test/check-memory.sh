#!/usr/bin/env bash
# The memory and thread checkers (`make check-memory` runs them all; CI runs
# memcheck-c):
#
#   memcheck-c    valgrind memcheck on every C test (test/c/*.c), the thread
#                 tests with MTMSG_TEST_QUICK=1 and the stress test with
#                 MTMSG_CHECK_STRESS_MESSAGES per case: no invalid access,
#                 no leak (--leak-check=full, --error-exitcode)
#   memcheck-lua  the same on the Lua suite under build/lua5.4/mtlua, with
#                 MTMSG_TEST_QUICK=1 (skips the 1 GiB and million-value tests)
#   drd           valgrind drd on the C stress test and the thread tests: no
#                 data race
#   asan          the Lua glue (lua/*.c) and the test host (test/host/*.c)
#                 built with -fsanitize=address,undefined into
#                 build/asan/lua<v>/, running the whole Lua suite, for each
#                 Lua of MTMSG_CHECK_ASAN_LUAS (default: all six)
#
#   loom          the model checks of the core's own code (src/, built with
#                 --cfg loom into target/loom; the tests are test/loom/):
#                 the lock and the signal; a buffer's takers and producers
#                 waiting for room (no lost wake-up, a refusing taker passing
#                 its wake-up on, close and abort waking all); the segment
#                 ring (no byte written while it may be read); a listener's
#                 takers and the threads waiting for one of its buffers (its
#                 ready queue's handshake, close and abort); the reference
#                 count against lookups
#
#   test/check-memory.sh [check...]      (default: all five)
#
# Each program checked counts as one test; the script prints valgrind's
# summary lines and the program's own result line, and ends with
# "N passed, N failed". Logs: build/check-logs/.
#
# What is suppressed or not counted, and why:
# - test/valgrind.supp: a false positive of glibc's ld.so expanding $ORIGIN
#   (explained there).
# - Leaks: only "definitely" and "indirectly" lost blocks are errors
#   (--errors-for-leak-kinds=definite,indirect). "Possibly lost" are the
#   hash tables of the process-wide registry (hashbrown's allocations start
#   at a header before the pointer the table keeps, so memcheck sees only
#   an interior pointer), alive and reachable until the process ends.
# - drd: libmtmsg's locks (src/sync.rs) are futexes, which drd cannot see
#   order anything. The drd check therefore builds the library apart
#   (target/valgrind, unoptimized, RUSTFLAGS=--cfg mtmsg_valgrind), where
#   the locks announce their order to drd with its client requests, and
#   links the C stress test and the thread tests to that build
#   (build/drd/). The one suppression for drd is in test/valgrind.supp:
#   accesses inside the standard library's atomic operations.
#
# valgrind runs one thread at a time. Its default lock between them is not
# fair: a thread that retries in a loop (a producer retrying addmsg on a
# full buffer) takes it back at once, and the consumer it waits for never
# runs (seen: the Lua suite stuck for good in that stress case). So every
# valgrind run here has --fair-sched=yes, which hands the threads the lock
# in turn.
#
# Environment: MTMSG_CHECK_STRESS_MESSAGES (messages per stress case under
# valgrind, default 2000).
set -uo pipefail
cd "$(dirname "$0")/.."

log_dir=build/check-logs
mkdir -p "$log_dir"
make_command=${MAKE:-make}
stress_messages=${MTMSG_CHECK_STRESS_MESSAGES:-2000}
asan_luas=${MTMSG_CHECK_ASAN_LUAS:-"5.1 5.2 5.3 5.4 5.5 jit"}
suppressions=test/valgrind.supp
memcheck=(valgrind --tool=memcheck --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite,indirect
          --error-exitcode=99 --suppressions="$suppressions" --num-callers=30)

passed=0
failed=0
summary=()

record() { # NAME OK NOTE
    if [ "$2" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    summary+=("$(printf '  %-28s %s%s' "$1" "$2" "${3:+  ($3)}")")
}

require_valgrind() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "valgrind not found; installing it (apt-get install valgrind)"
        { apt-get update -qq && apt-get install -y -qq valgrind; } >/dev/null 2>&1 || true
    fi
    command -v valgrind >/dev/null 2>&1
}

# run_valgrind NAME LOG COMMAND...: runs it, shows valgrind's summary lines
# and the program's own result line, records ok or failed.
run_valgrind() {
    local name=$1 log=$2
    shift 2
    echo "== $name: $*"
    local start=$SECONDS
    "$@" >"$log" 2>&1
    local status=$?
    echo "   $((SECONDS - start)) s"
    grep -E '^==[0-9]+== (ERROR SUMMARY|   definitely lost|   indirectly lost|     possibly lost)' "$log" | sed 's/^==[0-9]*== /   /' | sort -u
    grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^/   /'
    if [ "$status" -eq 0 ]; then
        record "$name" ok
    else
        grep -E '^FAIL ' "$log" | head -5
        record "$name" failed "exit status $status, see $log"
    fi
}

build_pieces() { # TARGET...: false when they do not build
    "$make_command" --no-print-directory "$@" >"$log_dir/build.log" 2>&1 || {
        tail -n 30 "$log_dir/build.log"
        return 1
    }
}

check_memcheck_c() {
    require_valgrind || { record memcheck-c failed "no valgrind"; return; }
    local sources=(test/c/*.c) names=() source
    for source in "${sources[@]}"; do names+=("build/c/$(basename "$source" .c)"); done
    build_pieces "${names[@]}" || { record memcheck-c failed "does not build"; return; }
    for binary in "${names[@]}"; do
        MTMSG_TEST_QUICK=1 MTMSG_STRESS_MESSAGES=$stress_messages MTMSG_TEST_WATCHDOG=600 \
            run_valgrind "memcheck-c $(basename "$binary")" "$log_dir/memcheck-$(basename "$binary").log" \
            "${memcheck[@]}" "$binary"
    done
}

check_memcheck_lua() {
    require_valgrind || { record memcheck-lua failed "no valgrind"; return; }
    build_pieces lua-5.4 || { record memcheck-lua failed "does not build"; return; }
    MTMSG_TEST_QUICK=1 MTMSG_STRESS_MESSAGES=$stress_messages MTMSG_TEST_WATCHDOG=600 \
        run_valgrind "memcheck-lua lua5.4" "$log_dir/memcheck-lua5.4.log" \
        "${memcheck[@]}" build/lua5.4/mtlua test/lua/run.lua
}

check_drd() {
    require_valgrind || { record drd failed "no valgrind"; return; }
    local dir=build/drd
    mkdir -p "$dir"
    echo "== drd: building the library with --cfg mtmsg_valgrind into target/valgrind, the tests into $dir"
    if ! {
        RUSTFLAGS="--cfg mtmsg_valgrind" cargo build --target-dir target/valgrind &&
        cp target/valgrind/debug/libmtmsg.so "$dir/libmtmsg.so.0" &&
        for test in stress test_threads; do
            cc -Wall -Wextra -O1 -g -pthread -Iinclude -o "$dir/$test" "test/c/$test.c" \
                "$dir/libmtmsg.so.0" -Wl,-rpath,'$ORIGIN' || exit 1
        done
    } >"$log_dir/drd-build.log" 2>&1; then
        tail -n 30 "$log_dir/drd-build.log"
        record drd failed "does not build, see $log_dir/drd-build.log"
        return
    fi
    local drd=(valgrind --tool=drd --fair-sched=yes --error-exitcode=99 --suppressions="$suppressions" --num-callers=30)
    for test in stress test_threads; do
        MTMSG_TEST_QUICK=1 MTMSG_STRESS_MESSAGES=$stress_messages MTMSG_TEST_WATCHDOG=600 \
            run_valgrind "drd $test" "$log_dir/drd-$test.log" "${drd[@]}" "$dir/$test"
    done
}

check_asan() {
    local version
    for version in $asan_luas; do
        build_pieces rust "lua-$version" || { record "asan lua$version" failed "does not build"; continue; }
        asan_lua "$version"
    done
}

# asan_lua VERSION: the glue and the host of one Lua built with the
# sanitizers, running the Lua suite.
asan_lua() {
    local version=$1 lua=build/lua$1 dir=build/asan/lua$1
    local sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    mkdir -p "$dir"
    echo "== asan lua$version: the glue and the host built with ${sanitize[*]} into $dir"
    if ! {
        cp target/release/libmtmsg.so "$dir/libmtmsg.so.0" &&
        cc -std=c99 -O1 -g -Wall -Wextra -pthread "${sanitize[@]}" -I"$lua/include" -o "$dir/mtlua" \
            test/host/mtlua.c test/host/llthreads.c \
            -Wl,--whole-archive "$lua/lib/liblua$version.a" -Wl,--no-whole-archive -Wl,-E -lm -ldl -pthread &&
        cc -O1 -g -fPIC -Wall -Wextra "${sanitize[@]}" -shared -Iinclude -I"$lua/include" -o "$dir/mtmsg.so" \
            lua/*.c -Ltarget/release -lmtmsg -Wl,-rpath,'$ORIGIN' -Wl,-z,nodelete
    } >"$log_dir/asan-build-lua$version.log" 2>&1; then
        tail -n 30 "$log_dir/asan-build-lua$version.log"
        record "asan lua$version" failed "does not build, see $log_dir/asan-build-lua$version.log"
        return
    fi
    local log=$log_dir/asan-lua$version.log
    echo "== asan lua$version: $dir/mtlua test/lua/run.lua"
    # allocator_may_return_null: mtmsg asks for sizes like 2^62 on purpose
    # (newbuffer(2^62)) and reports out_of_memory when malloc says no
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        MTMSG_STRESS_MESSAGES=$stress_messages \
        "$dir/mtlua" test/lua/run.lua >"$log" 2>&1
    local status=$?
    grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | sed 's/^/   /'
    grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -5 | sed 's/^/   /'
    if [ "$status" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
        record "asan lua$version" ok
    else
        grep -E '^FAIL ' "$log" | head -5
        record "asan lua$version" failed "exit status $status, see $log"
    fi
}

check_loom() {
    local log=$log_dir/loom.log
    echo "== loom: RUSTFLAGS='--cfg loom' cargo test --release --lib loom_checks"
    RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib loom_checks >"$log" 2>&1
    local status=$?
    grep -E '^test result:' "$log" | sed 's/^/   /'
    if [ "$status" -eq 0 ]; then
        record loom ok
    else
        grep -E '^test .* FAILED|panicked|deadlock;' "$log" | head -5
        record loom failed "exit status $status, see $log"
    fi
}

checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(memcheck-c memcheck-lua drd asan loom)
for check in "${checks[@]}"; do
    case $check in
    memcheck-c) check_memcheck_c ;;
    memcheck-lua) check_memcheck_lua ;;
    drd) check_drd ;;
    asan) check_asan ;;
    loom) check_loom ;;
    *) echo "unknown check: $check (memcheck-c, memcheck-lua, drd, asan, loom)"; record "$check" failed "unknown" ;;
    esac
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# bench/run.sh [case...]: builds what the benchmarks need, runs the cases
# (all of them by default) and prints one table: case, mtmsg's figure, the
# floor's figure, their ratio, the target (issue 5) and whether it is met.
#
#   cases:  spsc spsc3 pingpong fanin bytes1K bytes64K bytes1M lookup memory
#           instructions c-spsc table-array1K table-record
#   extra:  profile-spsc3, profile-instructions: run mtmsg's side of that
#           case under callgrind (and spsc3 under perf, where perf works)
#           and print where the time and the instructions go
#
# Expects `make` to have built target/release/libmtmsg.so and
# build/lua5.4/{mtlua,mtmsg.so,include}. Environment: BENCH_SCALE multiplies
# the message counts (default 1), BENCH_REPEAT runs each measurement that
# many times and keeps the best (default 3), BENCH_TIMEOUT stops a case
# after that many seconds (default 180) as failed, BENCH_STRICT=1 exits 1
# when a target is missed, CC the C compiler. Exits 1 when a benchmark fails (a
# wrong or lost message, a crash), 2 when something it needs is missing.
set -u -o pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
LUADIR=$ROOT/build/lua5.4
HOST=$LUADIR/mtlua
OUT=$ROOT/build/bench
CC=${CC:-cc}
ALL=(spsc spsc3 pingpong fanin bytes1K bytes64K bytes1M lookup memory instructions c-spsc table-array1K table-record)

# The sizes: a few seconds per case on a 2-core machine.
REPEAT=${BENCH_REPEAT:-3}
SCALE=${BENCH_SCALE:-1}
TIMEOUT=${BENCH_TIMEOUT:-180}
PINGPONG_FLOOR_TRIPS=2000000
C_SPSC_MESSAGES=2000000
INSTRUCTIONS_MESSAGES=100000

die() {
    echo "bench: $*" >&2
    exit 2
}

scaled() {
    awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'
}

build() {
    local need
    for need in target/release/libmtmsg.so include/mtmsg.h "$HOST" "$LUADIR/mtmsg.so" "$LUADIR/include/lua.h"; do
        [ -e "$need" ] || die "$need is missing: run make first"
    done
    mkdir -p "$OUT"
    # the programs find the library by its soname beside themselves
    ln -sf ../../target/release/libmtmsg.so "$OUT/libmtmsg.so.0"
    $CC -O2 -Wall -fPIC -shared -I"$LUADIR/include" bench/floor.c -o "$LUADIR/benchfloor.so" &&
        $CC -O2 -Wall -fPIC -shared -I"$LUADIR/include" bench/tablefloor.c -o "$LUADIR/benchtablefloor.so" &&
        $CC -O2 -Wall -pthread bench/pingpong_floor.c -o "$OUT/pingpong_floor" &&
        $CC -O2 -Wall -pthread -Iinclude bench/c_spsc.c -o "$OUT/c_spsc" -Ltarget/release -lmtmsg \
            -Wl,-rpath,'$ORIGIN' ||
        die "cannot build the benchmarks"
}

# The test host finds bench/*.lua this way, and build/lua5.4/*.so beside itself.
LUA_ENV=(env LUA_PATH="$ROOT/bench/?.lua;;")
LUA=("${LUA_ENV[@]}" "$HOST")

# The figures of one RESULT line of the output in $1: "figure floor".
result() {
    awk -v c="$2" '$1 == "RESULT" && $2 == c { print $3, $4; found = 1 } END { exit !found }' "$1"
}

# Runs a command into $OUT/<case>.out, for at most $TIMEOUT seconds (a lost
# wake-up must not hang make bench); on failure shows its output.
capture() {
    local name=$1 status=0
    shift
    timeout "$TIMEOUT" "$@" >"$OUT/$name.out" 2>&1 || status=$?
    if [ $status -ne 0 ]; then
        [ $status -ne 124 ] || echo "bench: $name: still running after $TIMEOUT s, stopped" >>"$OUT/$name.out"
        echo "failed:" >&2
        tail -n 20 "$OUT/$name.out" >&2
        return 1
    fi
}

# Instructions callgrind counts for instructions.lua <mode> <n>.
instructions() {
    local log=$OUT/instructions-$1-$2
    timeout "$TIMEOUT" "${LUA_ENV[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$HOST" bench/instructions.lua "$1" "$2" >"$log.out" 2>"$log.err" || {
        echo "instructions $1 $2 failed:" >&2
        tail -n 20 "$log.err" >&2
        return 1
    }
    grep -q "^RESULT instructions-$1 $2\$" "$log.out" || {
        echo "instructions $1 $2 gave no result" >&2
        return 1
    }
    awk '/Collected :/ { print $NF; found = 1 } END { exit !found }' "$log.err"
}

# Runs one case; prints "figure floor" (floor "-" when there is none).
run_case() {
    local out=$OUT/$1.out
    case $1 in
    spsc) capture "$1" "${LUA[@]}" bench/spsc.lua 1 && result "$out" spsc ;;
    spsc3) capture "$1" "${LUA[@]}" bench/spsc.lua 3 && result "$out" spsc3 ;;
    fanin) capture "$1" "${LUA[@]}" bench/fanin.lua && result "$out" fanin ;;
    bytes1K) capture "$1" "${LUA[@]}" bench/bytes.lua bytes1K 1024 1000000 && result "$out" bytes1K ;;
    bytes64K) capture "$1" "${LUA[@]}" bench/bytes.lua bytes64K 65536 16000 && result "$out" bytes64K ;;
    bytes1M) capture "$1" "${LUA[@]}" bench/bytes.lua bytes1M 1048576 1000 && result "$out" bytes1M ;;
    lookup) capture "$1" "${LUA[@]}" bench/lookup.lua && result "$out" lookup ;;
    memory) capture "$1" "${LUA[@]}" bench/memory.lua && result "$out" memory ;;
    pingpong)
        local figure floor
        capture "$1" "${LUA[@]}" bench/pingpong.lua &&
            figure=$(result "$out" pingpong) &&
            capture pingpong-floor "$OUT/pingpong_floor" "$(scaled $PINGPONG_FLOOR_TRIPS)" "$REPEAT" &&
            floor=$(result "$OUT/pingpong-floor.out" pingpong-floor) &&
            echo "${figure% *} ${floor% *}"
        ;;
    c-spsc) capture "$1" "$OUT/c_spsc" "$(scaled $C_SPSC_MESSAGES)" "$REPEAT" && result "$out" c-spsc ;;
    table-*) capture "$1" "${LUA[@]}" bench/tables.lua "$1" && result "$out" "$1" ;;
    instructions)
        command -v valgrind >/dev/null || {
            echo "instructions needs valgrind" >&2
            return 1
        }
        local n=$INSTRUCTIONS_MESSAGES q0 qn f0 fn
        q0=$(instructions mtmsg 0) && qn=$(instructions mtmsg $n) &&
            f0=$(instructions floor 0) && fn=$(instructions floor $n) &&
            awk -v q0="$q0" -v qn="$qn" -v f0="$f0" -v fn="$fn" -v n="$n" \
                'BEGIN { printf "%.1f %.1f\n", (qn - q0) / n, (fn - f0) / n }'
        ;;
    esac
}

# callgrind_annotate's function lines, paths shortened.
shorten() {
    awk 'go && $1 ~ /^[0-9,]+$/ { print } /file:function/ { go = 1 }' |
        sed -E 's|/root/\.cargo/registry/src/[^/]+/||; s|/rustc/[0-9a-f]+/||; s|'"$ROOT"'/||g'
}

# Runs mtmsg's side of spsc3 or of instructions under callgrind (instructions,
# repeatable, but threads run one at a time so contention is not seen) and
# prints its hottest functions, self cost and with callees; for spsc3 also
# under perf (time, both threads at once) when perf can record here.
profile() {
    local data=$OUT/callgrind.$1.out
    local env=("${LUA_ENV[@]}" BENCH_REPEAT=1)
    local script=(bench/instructions.lua mtmsg $INSTRUCTIONS_MESSAGES)
    [ "$1" = instructions ] || script=(bench/spsc.lua 3 queue)
    command -v valgrind >/dev/null || die "profiling needs valgrind"
    if [ "$1" = spsc3 ] && perf record -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
        "${env[@]}" perf record -e cpu-clock -F 10000 -o "$OUT/perf.$1.data" "$HOST" "${script[@]}" \
            >"$OUT/profile-$1.out" 2>&1 || {
            tail -n 20 "$OUT/profile-$1.out" >&2
            exit 1
        }
        echo "== $1 under perf: where the time goes, by object (perf data: $OUT/perf.$1.data)"
        perf report -i "$OUT/perf.$1.data" --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]'
        echo "== $1 under perf: hottest functions"
        perf report -i "$OUT/perf.$1.data" --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 30
    fi
    [ "$1" = instructions ] || env+=(BENCH_SCALE=0.1)
    "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$data" "$HOST" "${script[@]}" \
        >"$OUT/profile-$1.out" 2>&1 || {
        tail -n 20 "$OUT/profile-$1.out" >&2
        exit 1
    }
    echo "== $1 under callgrind: where the instructions go, by layer (self cost; data: $data)"
    callgrind_annotate --auto=no --inclusive=no --threshold=100 "$data" 2>/dev/null | awk '
        go && $1 ~ /^[0-9,]+$/ {
            n = $1; gsub(",", "", n)
            if ($0 ~ /mtmsg\.so\]|\/lua\/[a-z]+\.c:|glue_/) layer = "Lua glue (lua/*.c)"
            else if ($0 ~ /libmtmsg|mtmsg::|\.rs:|core::|alloc::|std::/) layer = "Rust core + C ABI (libmtmsg)"
            else if ($0 ~ /lua-5\.|mtlua\]/) layer = "Lua VM (lua-5.4)"
            else if ($0 ~ /libc\.so|ld-linux|vdso/) layer = "libc"
            else layer = "other"
            sum[layer] += n; total += n
        }
        /file:function/ { go = 1 }
        END { for (l in sum) printf "%6.1f%%  %s\n", 100 * sum[l] / total, l }' | sort -rn
    echo "== $1 under callgrind: hottest functions, self cost"
    callgrind_annotate --auto=no --inclusive=no --threshold=100 "$data" 2>/dev/null | shorten | head -n 30
    echo "== $1 under callgrind: hottest functions of mtmsg (glue and library), with callees"
    callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$data" 2>/dev/null | shorten |
        grep -E 'mtmsg|lua/[a-z]+\.c' | head -n 30
}

# case -> "unit comparison target target-text"
target() {
    case $1 in
    spsc | spsc3) echo "msg/s ge 0.125 >=1/8" ;;
    pingpong) echo "ns le 15 <=15x" ;;
    fanin) echo "msg/s ge 0.7 >=0.7" ;;
    bytes1K) echo "MB/s ge 0.25 >=0.25" ;;
    bytes64K | bytes1M) echo "MB/s ge 0.40 >=0.40" ;;
    lookup) echo "lookups/s ge 0.3 >=0.3" ;;
    memory) echo "B/buffer figle 256 <=256B" ;;
    instructions) echo "instr/msg le 2.5 <=2.5x" ;;
    c-spsc) echo "msg/s ge 2 >=2x" ;;
    table-*) echo "msg/s ge 0.3 >=0.3" ;;
    esac
}

# One table row: case figure floor ("-" when none, FAILED when failed).
row() {
    local unit cmp goal text
    read -r unit cmp goal text <<<"$(target "$1")"
    awk -v c="$1" -v fig="$2" -v fl="$3" -v unit="$unit" -v cmp="$cmp" -v goal="$goal" -v text="$text" '
        function show(v) {
            if (unit == "msg/s" || unit == "lookups/s") {
                return v >= 1e6 ? sprintf("%.2f M/s", v / 1e6) : sprintf("%.0f k/s", v / 1e3)
            }
            if (unit == "MB/s") return sprintf("%.0f MB/s", v)
            if (unit == "ns") return sprintf("%.0f ns", v)
            if (unit == "B/buffer") return sprintf("%.0f B", v)
            return sprintf("%.0f ins/msg", v)
        }
        BEGIN {
            if (fig == "FAILED") {
                printf "| %-12s | %-12s | %-12s | %-8s | %-8s | %-4s |\n", c, "FAILED", "", "", text, "no"
                exit
            }
            if (cmp == "figle") {
                ratio = "-"; met = fig <= goal
            } else {
                r = fig / fl; ratio = sprintf(r < 0.1 ? "%.4f" : "%.3f", r)
                met = cmp == "ge" ? r >= goal : r <= goal
            }
            printf "| %-12s | %-12s | %-12s | %-8s | %-8s | %-4s |\n", c, show(fig),
                fl == "-" ? "-" : show(fl), ratio, text, met ? "yes" : "no"
        }'
}

main() {
    local cases=("$@") c figures failed=0 rows=()
    [ ${#cases[@]} -gt 0 ] || cases=("${ALL[@]}")
    case ${cases[0]} in
    profile-spsc3 | profile-instructions)
        build
        profile "${cases[0]#profile-}"
        return
        ;;
    esac
    for c in "${cases[@]}"; do
        target "$c" | grep -q . || die "unknown case $c (cases: ${ALL[*]} profile-spsc3 profile-instructions)"
    done
    build
    rm -f "$OUT"/*.out
    for c in "${cases[@]}"; do
        local start=$SECONDS
        echo -n "bench: $c ... " >&2
        if figures=$(run_case "$c"); then
            rows+=("$(row "$c" $figures)")
            echo "$((SECONDS - start)) s" >&2
        else
            failed=1
            rows+=("$(row "$c" FAILED -)")
        fi
    done
    echo
    echo "mtmsg benchmarks: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), best of $REPEAT, scale $SCALE"
    echo
    echo "| case         | mtmsg        | floor        | ratio    | target   | met  |"
    echo "| ------------ | ------------ | ------------ | -------- | -------- | ---- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "ratio: mtmsg / floor. Floors: spsc, spsc3 the same two threads calling null C functions;"
    echo "pingpong a C round trip through one atomic variable; fanin the spsc throughput of the same"
    echo "run; bytes one thread copying the string into C memory and back into a new Lua string;"
    echo "lookup mtmsg.buffer(id); instructions the same loops calling null C functions (callgrind,"
    echo "per message); c-spsc a textbook queue (mutex, condition variable, malloc per message)."
    echo "table-*: one thread copying the table with a C function that walks it and builds the copy."
    echo "memory has no floor: it is the whole growth of resident memory per buffer, Lua userdata and"
    echo "table slot included, as a Lua user pays it."
    cat "$OUT"/*.out 2>/dev/null | sed -n 's/^NOTE //p' || true
    local met total
    total=$(printf '%s\n' "${rows[@]}" | grep -c .)
    met=$(printf '%s\n' "${rows[@]}" | grep -c '| yes  |$')
    echo "targets met: $met of $total"
    [ $failed -eq 0 ] || return 1
    [ "${BENCH_STRICT:-0}" != 1 ] || [ "$met" -eq "$total" ] || return 1
}

main "$@"

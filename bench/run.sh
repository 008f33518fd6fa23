#!/usr/bin/env bash
# bench/run.sh [case...]: builds what the benchmarks need (make in this tree,
# make stock-5.4 where the operating system has Lua 5.4, the programs of
# bench/), runs the cases (all of them by default) and prints one table:
# per row mtmsg's median over the runs, its spread (the slowest and the
# fastest run), the floor's or reference's median, their ratio, the target
# and whether it is met. Each run counts: a benchmark
# that kept only its best run would hide a slow mode users meet.
#
#   cases:  spsc spsc3 pingpong fanin bytes1K bytes64K bytes1M lookup memory
#           instructions instructions-stock c-spsc latency alternate patterns
#           pool listener-fanout oversub-pingpong mpmc churn churn-stock
#           table-array1K table-record
#           (what each measures: the table of ROWS below, and README.md,
#           Performance)
#   extra:  profile-spsc3, profile-instructions: run mtmsg's side of that
#           case under callgrind (and spsc3 under perf, where perf works)
#           and print where the time and the instructions go
#
# bench/run.sh --baseline REV [--rounds N] [case...]: the same cases, this
# tree against revision REV in one run. REV is checked out in a git worktree
# build/baseline-<short hash> and built there by its own Makefile (kept, and
# only brought up to date by make, for the next comparison). Each round runs
# every case once with each build, the order of the two builds alternating
# from round to round, N rounds (default 5, or BENCH_ROUNDS); the benchmark
# scripts and programs are this tree's, the library, the Lua module and the
# test host the build's own (C programs are compiled against each build's
# mtmsg.h). Floors are left out. Prints per row the median and spread of
# each build, current/baseline, and the verdict: "loss" when the current
# median is below 0.90 of the baseline's (for times, sizes and counts:
# above 1/0.90 of it), "ok" otherwise.
#
# Environment: BENCH_SCALE multiplies the message counts and run lengths
# (default 1; 0.1 for a quick look), BENCH_REPEAT is the number of runs of
# each measurement (default 5), BENCH_TIMEOUT stops one program after that
# many seconds (default 180) as failed, BENCH_STRICT=1 exits 1 when a target
# is missed (or, with --baseline, on a loss), CC the C compiler, MAKE make.
# MTMSG_SPIN_US=0 is what oversub-pingpong sets for the library's taker
# spin to be off; when libmtmsg.so does not know that variable, the case
# says the comparison is not available. Exits 1 when a benchmark fails (a
# wrong or lost message, a crash, a timeout), 2 when something it needs is
# missing.
set -u -o pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/bench
CC=${CC:-cc}
MAKE=${MAKE:-make}

REPEAT=${BENCH_REPEAT:-5}
SCALE=${BENCH_SCALE:-1}
TIMEOUT=${BENCH_TIMEOUT:-180}
ROUNDS=${BENCH_ROUNDS:-5}
# The sizes of the C programs (the Lua scripts hold their own): a few
# seconds per case on a 2-core machine.
PINGPONG_FLOOR_TRIPS=2000000
C_SPSC_MESSAGES=2000000
INSTRUCTIONS_MESSAGES=100000
FANOUT_CONSUMERS=32
FANOUT_MESSAGES_EACH=2000
OVERSUB_PAIRS=32
OVERSUB_ROUND_TRIPS=5000
# The environment variable the library is to honour for its taker spin
# (microseconds; 0: no spin), and how a build shows that it does: the name
# is in its libmtmsg.so, as any getenv of it puts it there.
SPIN_SWITCH=MTMSG_SPIN_US

# What each case prints, one row per line:
#   case  row  series  reference  unit  check  goal  target
# series and reference name SAMPLES lines of the case's output ("-": no
# reference). check: ratio-ge, ratio-le (series / reference against goal),
# value-le (the median against goal), worst-ge (the slowest run against
# goal), none (no target: the figure is for comparisons with a baseline).
# Units ending in /s are rates (more is better); the others are times,
# sizes and counts (less is better).
ROWS='
spsc               spsc                 spsc                 spsc.floor                     msg/s     ratio-ge 0.125 >=1/8
spsc3              spsc3                spsc3                spsc3.floor                    msg/s     ratio-ge 0.125 >=1/8
pingpong           pingpong             pingpong             pingpong.floor                 ns        ratio-le 15    <=15x
fanin              fanin                fanin                fanin.spsc                     msg/s     ratio-ge 0.7   >=0.7
bytes1K            bytes1K              bytes1K              bytes1K.floor                  MB/s      ratio-ge 0.25  >=0.25
bytes64K           bytes64K             bytes64K             bytes64K.floor                 MB/s      ratio-ge 0.40  >=0.40
bytes1M            bytes1M              bytes1M              bytes1M.floor                  MB/s      ratio-ge 0.40  >=0.40
lookup             lookup               lookup               lookup.id                      lookups/s ratio-ge 0.3   >=0.3
memory             memory               memory               -                              B         value-le 256   <=256B
instructions       instructions         instructions         instructions.floor             ins       ratio-le 2.5   <=2.5x
instructions-stock instructions-stock   instructions-stock   instructions-stock.floor       ins       value-le 1600  <=1600
c-spsc             c-spsc               c-spsc               c-spsc.textbook                msg/s     ratio-ge 2     >=2x
latency            latency-median       latency.median       -                              us        none     -     -
latency            latency-p99          latency.p99          -                              us        none     -     -
latency            latency-max          latency.max          -                              us        none     -     -
latency            latency-over-1ms     latency.over-1ms     -                              %         none     -     -
alternate          alternate            alternate            alternate.floor                ns        ratio-le 4     <=4x
patterns           batch10              batch10              batch10.floor                  ns        value-le 216   <=216ns
patterns           many-buffers         many-buffers         many-buffers.floor             ns        value-le 327   <=327ns
patterns           string64K            string64K            string64K.floor                ns        value-le 3508  <=3508ns
patterns           create-close         create-close         create-close.floor             ns        value-le 321   <=321ns
patterns           listener-take        listener-take        listener-take.floor            ns        value-le 359   <=359ns
patterns           setmsg               setmsg               setmsg.floor                   ns        value-le 129   <=129ns
patterns           poll-empty           poll-empty           poll-empty.floor               ns        value-le 109   <=109ns
patterns           lookup-name          lookup-name          lookup-name.floor              ns        value-le 297   <=297ns
pool               pool4                pool4                -                              msg/s     worst-ge 1.1e6 worst>=1.1M
pool               pool16               pool16               -                              msg/s     worst-ge 1.0e6 worst>=1.0M
listener-fanout    listener-fanout      listener-fanout      listener-fanout.standalone     msg/s     ratio-ge 0.5   >=0.5
listener-fanout    listener-fanout-cpu  listener-fanout.cpu  listener-fanout.standalone.cpu us/msg    ratio-le 2     <=2x
oversub-pingpong   oversub-pingpong     oversub-pingpong     oversub-pingpong.spin-off      msg/s     ratio-ge 1.0   >=1.0
oversub-pingpong   oversub-pingpong-cpu oversub-pingpong.cpu oversub-pingpong.spin-off.cpu  us/msg    ratio-le 1.1   <=1.1x
mpmc               mpmc                 mpmc                 mpmc.spsc                      msg/s     ratio-ge 0.5   >=0.5
churn              churn                churn                -                              MB        value-le 55    <=55MB
churn              churn-vs-empty       churn                churn.empty                    MB        ratio-le 3     <=3x
churn-stock        churn-stock          churn-stock          -                              MB        value-le 55    <=55MB
churn-stock        churn-stock-vs-empty churn-stock          churn-stock.empty              MB        ratio-le 3     <=3x
table-array1K      table-array1K        table-array1K        table-array1K.floor            tables/s  ratio-ge 0.3   >=0.3
table-record       table-record         table-record         table-record.floor             tables/s  ratio-ge 0.3   >=0.3
'

die() {
    echo "bench: $*" >&2
    exit 2
}

scaled() {
    awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'
}

all_cases() {
    awk 'NF && !seen[$1]++ { print $1 }' <<<"$ROWS"
}

rows_of() {
    awk -v c="$1" '$1 == c' <<<"$ROWS"
}

# ---- builds ----
#
# A build is a label ("current", or "baseline-<short hash>") and a tree.
# use_build sets what the cases run: TREE, BIN (this label's folder of
# build/bench/: the programs, benchfloor.so for each Lua, the outputs),
# HOST (the test host, Lua 5.4), STOCK (the stock lua5.4, or empty when it
# cannot run the module) and STOCK_MISSING (why not).

tree_of() {
    if [ "$1" = current ]; then echo "$ROOT"; else echo "$ROOT/build/$1"; fi
}

use_build() {
    LABEL=$1
    TREE=$(tree_of "$1")
    BIN=$OUT/$1
    HOST=$TREE/build/lua5.4/mtlua
    STOCK=
    STOCK_MISSING=$(cat "$BIN/stock-missing" 2>/dev/null || echo "not prepared")
    [ -e "$BIN/stock-lua5.4/benchfloor.so" ] && STOCK=$STOCK_INTERPRETER
}

# make, its output kept in $BIN/$1.log; shows its end when it fails.
make_in_tree() {
    local log=$BIN/$1.log
    shift
    "$MAKE" -C "$TREE" "$@" >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        return 1
    }
}

# Compiles bench/$1.c for the build into $BIN/$1, against its mtmsg.h and
# library when $2 is "mtmsg"; false (the compiler's complaint in
# $BIN/$1.log) when it does not compile there.
compile() {
    local with=()
    [ "${2:-}" != mtmsg ] || with=(-I"$TREE/include" -L"$TREE/target/release" -lmtmsg -Wl,-rpath,'$ORIGIN')
    rm -f "$BIN/$1"
    $CC -O2 -Wall -pthread "bench/$1.c" -o "$BIN/$1" "${with[@]}" >"$BIN/$1.log" 2>&1
}

prepare_build() {
    use_build "$1"
    mkdir -p "$BIN/lua5.4" "$BIN/stock-lua5.4"
    echo "bench: building $LABEL ($TREE)" >&2
    make_in_tree make LUA=5.4 || die "make failed in $TREE (log: $BIN/make.log)"
    local need program
    for need in target/release/libmtmsg.so include/mtmsg.h build/lua5.4/mtlua build/lua5.4/mtmsg.so \
        build/lua5.4/include/lua.h; do
        [ -e "$TREE/$need" ] || die "$TREE/$need is missing after make"
    done
    # The programs find the library by its soname beside themselves.
    ln -sf "$TREE/target/release/libmtmsg.so" "$BIN/libmtmsg.so.0"
    # An older run.sh put benchfloor.so beside the test host, which looks
    # there first: it would shadow the one built here.
    rm -f "$TREE/build/lua5.4/benchfloor.so"
    $CC -O2 -Wall -fPIC -shared -I"$TREE/build/lua5.4/include" bench/floor.c -o "$BIN/lua5.4/benchfloor.so" ||
        die "cannot build bench/floor.c"
    $CC -O2 -Wall -fPIC -shared -I"$TREE/build/lua5.4/include" bench/tablefloor.c -o "$BIN/lua5.4/benchtablefloor.so" ||
        die "cannot build bench/tablefloor.c"
    compile pingpong_floor || die "cannot build bench/pingpong_floor.c: $(cat "$BIN/pingpong_floor.log")"
    for program in c_spsc c_oversub; do
        # A baseline may predate what a program uses: its cases say so.
        compile $program mtmsg || [ "$LABEL" != current ] || die "cannot build bench/$program.c: $(cat "$BIN/$program.log")"
    done
    prepare_stock
}

# The module built for the stock lua5.4 by the tree's own make stock-5.4,
# and benchfloor.so for it; else the reason in $BIN/stock-missing.
prepare_stock() {
    local cflags
    rm -f "$BIN/stock-lua5.4/benchfloor.so" "$BIN/stock-missing"
    if [ -z "$STOCK_INTERPRETER" ]; then
        echo "no lua5.4 interpreter of the operating system" >"$BIN/stock-missing"
    elif ! cflags=$(tools/find-lua.sh cflags 5.4 2>/dev/null); then
        echo "no headers of the operating system's Lua 5.4" >"$BIN/stock-missing"
    elif ! make_in_tree make-stock stock-5.4; then
        echo "make stock-5.4 failed (log: $BIN/make-stock.log)" >"$BIN/stock-missing"
    elif ! $CC -O2 -Wall -fPIC -shared $cflags bench/floor.c -o "$BIN/stock-lua5.4/benchfloor.so"; then
        echo "bench/floor.c does not build for the stock Lua 5.4" >"$BIN/stock-missing"
    fi
    use_build "$LABEL"
}

# The baseline's worktree, made if missing, at REV's commit; prints its label.
baseline_label() {
    local commit short dir
    commit=$(git rev-parse --verify --quiet "$1^{commit}") || die "no revision $1"
    short=$(git rev-parse --short "$commit")
    dir=$ROOT/build/baseline-$short
    if [ ! -e "$dir/.git" ]; then
        [ ! -e "$dir" ] || die "$dir exists but is no git worktree: remove it"
        # --force: a worktree deleted with build/ (make clean) stays registered
        git worktree add --force --detach "$dir" "$commit" >&2 || die "cannot make a worktree of $1 in $dir"
    fi
    [ "$(git -C "$dir" rev-parse HEAD)" = "$commit" ] || die "$dir is not at $commit: remove it"
    echo "baseline-$short"
}

# ---- running the cases ----

# Runs a command for at most $TIMEOUT seconds (a lost wake-up must not hang
# make bench), its output appended to $CASE_OUT; on failure shows its end.
capture() {
    local status=0
    echo "## $*" >>"$CASE_OUT"
    timeout "$TIMEOUT" "$@" >>"$CASE_OUT" 2>&1 || status=$?
    if [ $status -ne 0 ]; then
        [ $status -ne 124 ] || echo "bench: still running after $TIMEOUT s, stopped" >>"$CASE_OUT"
        echo "failed:" >&2
        tail -n 20 "$CASE_OUT" >&2
        return 1
    fi
}

# Marks series of the running case as not measurable in this build.
unavailable() {
    local reason=$1 series
    shift
    for series in "$@"; do
        echo "UNAVAILABLE $series $reason" >>"$CASE_OUT"
    done
}

# The test host and the stock interpreter, each finding the scripts of
# bench/, the build's module and benchfloor.so (the test host also looks
# beside itself first).
host() {
    capture env LUA_PATH="$ROOT/bench/?.lua;;" LUA_CPATH="$TREE/build/lua5.4/?.so;$BIN/lua5.4/?.so;;" "$HOST" "$@"
}

stock() {
    capture env LUA_PATH="$ROOT/bench/?.lua;;" \
        LUA_CPATH="$TREE/build/stock-lua5.4/?.so;$BIN/stock-lua5.4/?.so;;" "$STOCK" "$@"
}

# The single-thread patterns: under the stock lua5.4, where the original's
# figures were measured; else on the test host, with a note.
patterns() {
    if [ -n "$STOCK" ]; then
        stock bench/patterns.lua "$@"
    else
        echo "NOTE patterns-host: $*: on the test host (Lua API checks on), not the stock lua5.4 ($STOCK_MISSING): not comparable with the targets" >>"$CASE_OUT"
        host bench/patterns.lua "$@"
    fi
}

# Instructions callgrind counts for bench/instructions.lua <mode> <n> under
# interpreter $1 (host or stock).
count_instructions() {
    local log=$BIN/instructions-$1-$2-$3
    local cpath="$TREE/build/lua5.4/?.so;$BIN/lua5.4/?.so;;" interpreter=$HOST
    [ "$1" = host ] || {
        cpath="$TREE/build/stock-lua5.4/?.so;$BIN/stock-lua5.4/?.so;;"
        interpreter=$STOCK
    }
    timeout "$TIMEOUT" env LUA_PATH="$ROOT/bench/?.lua;;" LUA_CPATH="$cpath" \
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$interpreter" bench/instructions.lua "$2" "$3" >"$log.out" 2>"$log.err" || {
        echo "instructions $1 $2 $3 failed:" >&2
        tail -n 20 "$log.err" >&2
        return 1
    }
    grep -q "^RESULT instructions-$2 $3\$" "$log.out" || {
        echo "instructions $1 $2 $3 gave no result" >&2
        return 1
    }
    awk '/Collected :/ { print $NF; found = 1 } END { exit !found }' "$log.err"
}

# Instructions per message of mtmsg's loops (series $2) and of the floor's,
# under interpreter $1: the counts of n messages less those of none. One
# run: the count hardly moves.
instructions() {
    local n=$INSTRUCTIONS_MESSAGES mode base full
    command -v valgrind >/dev/null || {
        unavailable "no valgrind" "$2" "$2.floor"
        return
    }
    for mode in mtmsg floor; do
        [ $mode = mtmsg ] || [ "$BENCH_FLOOR" = 1 ] || continue
        base=$(count_instructions "$1" $mode 0) && full=$(count_instructions "$1" $mode $n) || return 1
        awk -v s="$2$([ $mode = mtmsg ] || echo .floor)" -v b="$base" -v f="$full" -v n="$n" \
            'BEGIN { printf "SAMPLES %s %.1f\n", s, (f - b) / n }' >>"$CASE_OUT"
    done
}

# True when the build's C program $1 was compiled; else marks series $2...
# unavailable.
have_program() {
    local program=$1
    shift
    [ -x "$BIN/$program" ] && return 0
    unavailable "bench/$program.c does not build against this revision's mtmsg.h" "$@"
    return 1
}

# One case, against the build in use: appends its output to $CASE_OUT.
# Lua scripts repeat their measurements themselves (BENCH_REPEAT);
# measurements of a whole process (memory, the C programs of many threads)
# are repeated here, the compared runs alternating.
run_case() {
    local r
    case $1 in
    spsc) host bench/spsc.lua 1 ;;
    spsc3) host bench/spsc.lua 3 ;;
    fanin) host bench/fanin.lua ;;
    bytes1K) host bench/bytes.lua bytes1K 1024 1000000 ;;
    bytes64K) host bench/bytes.lua bytes64K 65536 16000 ;;
    bytes1M) host bench/bytes.lua bytes1M 1048576 1000 ;;
    lookup) host bench/lookup.lua ;;
    latency) host bench/latency.lua ;;
    pool) host bench/pool.lua ;;
    mpmc) host bench/mpmc.lua ;;
    table-*) host bench/tables.lua "$1" ;;
    alternate) patterns alternate ;;
    patterns) patterns batch10 many-buffers string64K create-close listener-take setmsg poll-empty lookup-name ;;
    pingpong)
        host bench/pingpong.lua || return 1
        [ "$BENCH_FLOOR" = 0 ] || capture "$BIN/pingpong_floor" "$(scaled $PINGPONG_FLOOR_TRIPS)" "$REPEAT"
        ;;
    c-spsc)
        have_program c_spsc c-spsc c-spsc.textbook || return 0
        capture "$BIN/c_spsc" "$(scaled $C_SPSC_MESSAGES)" "$REPEAT"
        ;;
    memory)
        for ((r = 0; r < REPEAT; r++)); do
            host bench/memory.lua || return 1
        done
        ;;
    churn)
        for ((r = 0; r < REPEAT; r++)); do
            host bench/churn.lua message churn || return 1
            [ "$BENCH_FLOOR" = 0 ] || host bench/churn.lua empty churn || return 1
        done
        ;;
    churn-stock)
        [ -n "$STOCK" ] || {
            unavailable "$STOCK_MISSING" churn-stock churn-stock.empty
            return 0
        }
        for ((r = 0; r < REPEAT; r++)); do
            stock bench/churn.lua message churn-stock || return 1
            [ "$BENCH_FLOOR" = 0 ] || stock bench/churn.lua empty churn-stock || return 1
        done
        ;;
    instructions) instructions host instructions ;;
    instructions-stock)
        if [ -n "$STOCK" ]; then
            instructions stock instructions-stock
        else
            unavailable "$STOCK_MISSING" instructions-stock instructions-stock.floor
        fi
        ;;
    listener-fanout)
        have_program c_oversub listener-fanout listener-fanout.cpu || return 0
        local each
        each=$(scaled $FANOUT_MESSAGES_EACH)
        for ((r = 0; r < REPEAT; r++)); do
            capture "$BIN/c_oversub" fanout listener $FANOUT_CONSUMERS "$each" listener-fanout || return 1
            [ "$BENCH_FLOOR" = 0 ] ||
                capture "$BIN/c_oversub" fanout standalone $FANOUT_CONSUMERS "$each" listener-fanout.standalone ||
                return 1
        done
        ;;
    oversub-pingpong)
        have_program c_oversub oversub-pingpong oversub-pingpong.cpu || return 0
        local trips spin_off=$BENCH_FLOOR
        trips=$(scaled $OVERSUB_ROUND_TRIPS)
        if [ "$spin_off" = 1 ] && ! grep -qa "$SPIN_SWITCH" "$TREE/target/release/libmtmsg.so"; then
            spin_off=0
            unavailable "the library ignores $SPIN_SWITCH (not in libmtmsg.so): no build with the spin off to compare with" \
                oversub-pingpong.spin-off oversub-pingpong.spin-off.cpu
        fi
        for ((r = 0; r < REPEAT; r++)); do
            # The library's own setting, whatever the caller's environment says.
            capture env -u "$SPIN_SWITCH" "$BIN/c_oversub" pingpong $OVERSUB_PAIRS "$trips" oversub-pingpong ||
                return 1
            [ "$spin_off" = 0 ] ||
                capture env "$SPIN_SWITCH=0" "$BIN/c_oversub" pingpong $OVERSUB_PAIRS "$trips" oversub-pingpong.spin-off ||
                return 1
        done
        ;;
    *) die "no way to run case $1" ;;
    esac
}

# Runs case $1 against build $2; false when it failed.
run_case_of_build() {
    local start=$SECONDS status=0
    use_build "$2"
    CASE_OUT=$BIN/$1.out
    echo -n "bench: $1 ($2) ... " >&2
    run_case "$1" || status=1
    [ $status -ne 0 ] || echo "$((SECONDS - start)) s" >&2
    return $status
}

# ---- statistics and tables ----

# "median slowest fastest runs" of a series' samples in build $1's
# outputs (slowest and fastest by the unit $3); "n/a reason" when a case
# marked it unavailable there; nothing when there are no samples.
series_stats() {
    cat "$OUT/$1"/*.out 2>/dev/null | awk -v s="$2" -v rate="$([[ $3 == */s ]] && echo 1 || echo 0)" '
        $1 == "UNAVAILABLE" && $2 == s { reason = $0; sub(/^UNAVAILABLE [^ ]+ /, "", reason) }
        $1 == "SAMPLES" && $2 == s { for (i = 3; i <= NF; i++) v[n++] = $i + 0 }
        END {
            if (n == 0) {
                if (reason != "") print "n/a", reason
                exit
            }
            for (i = 1; i < n; i++) {
                x = v[i]
                for (j = i - 1; j >= 0 && v[j] > x; j--) v[j + 1] = v[j]
                v[j + 1] = x
            }
            median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
            # for a rate the slowest run is the least figure, else the largest
            print median, (rate ? v[0] : v[n - 1]), (rate ? v[n - 1] : v[0]), n
        }'
}

# The awk functions that format a figure of a unit.
FORMAT_AWK='
    function bare(v, unit) {
        if (unit ~ /\/s$/ && unit != "MB/s") return v >= 1e6 ? sprintf("%.2fM", v / 1e6) : sprintf("%.0fk", v / 1e3)
        if (unit == "us/msg") return sprintf("%.2f", v)
        return v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v)
    }
    function show(v, unit) {
        if (unit ~ /\/s$/ && unit != "MB/s") return bare(v, unit) "/s"
        return bare(v, unit) " " unit
    }
    # the slowest and the fastest run
    function spread(slowest, fastest, unit) { return bare(slowest, unit) ".." bare(fastest, unit) }
    function cell(width, text) { return sprintf("| %-" width "s ", text) }
'

# One row of the table of this tree's figures.
table_row() {
    local case=$1 row=$2 series=$3 reference=$4 unit=$5 check=$6 goal=$7 text=$8 figure="" floor=""
    if [ "${FAILED[$case]:-0}" = 0 ]; then
        figure=$(series_stats current "$series" "$unit")
        [ "$reference" = - ] || floor=$(series_stats current "$reference" "$unit")
    fi
    awk -v row="$row" -v fig="$figure" -v fl="$floor" -v ref="$reference" -v unit="$unit" -v check="$check" \
        -v goal="$goal" -v text="$text" "$FORMAT_AWK"'
        BEGIN {
            split(fig, f, " "); split(fl, r, " ")
            out = cell(20, row)
            if (fig == "" || f[1] == "n/a") {
                status = fig == "" ? "FAILED" : "n/a"
                printf "%s%s%s%s%s%s%s|\n", out, cell(12, status), cell(16, ""), cell(12, ""), cell(8, ""),
                    cell(12, text), cell(4, status == "FAILED" ? "no" : "n/a")
                exit
            }
            median = f[1] + 0
            ratio = "-"
            if (ref != "-") {
                if (fl == "") { floor = "FAILED"; ratio = "" }
                else if (r[1] == "n/a") { floor = "n/a"; ratio = "n/a" }
                else if (r[1] == 0) { floor = show(0, unit); ratio = "n/a" }
                else {
                    floor = show(r[1], unit); q = median / r[1]
                    ratio = sprintf(q < 0.1 ? "%.4f" : "%.3f", q)
                }
            } else floor = "-"
            if (check == "none") met = "-"
            else if (check ~ /^ratio/ && (ratio == "n/a" || ratio == "")) met = ratio == "" ? "no" : "n/a"
            else if (check == "ratio-ge") met = q >= goal ? "yes" : "no"
            else if (check == "ratio-le") met = q <= goal ? "yes" : "no"
            else if (check == "value-le") met = median <= goal ? "yes" : "no"
            else if (check == "worst-ge") met = f[2] >= goal ? "yes" : "no"
            printf "%s%s%s%s%s%s%s|\n", out, cell(12, show(median, unit)), cell(16, spread(f[2], f[3], unit)),
                cell(12, floor), cell(8, ratio), cell(12, text), cell(4, met)
        }'
}

# One row of the comparison with the baseline (label $1).
baseline_row() {
    local baseline=$1 case=$2 row=$3 series=$4 unit=$6 now="" then=""
    [ "${FAILED[$case]:-0}" = 1 ] || now=$(series_stats current "$series" "$unit")
    [ "${FAILED_BASELINE[$case]:-0}" = 1 ] || then=$(series_stats "$baseline" "$series" "$unit")
    awk -v row="$row" -v now="$now" -v then="$then" -v unit="$unit" "$FORMAT_AWK"'
        function figure(s, a) { return s == "" ? "FAILED" : a[1] == "n/a" ? "n/a" : show(a[1], unit) }
        function range(s, a) { return s == "" || a[1] == "n/a" ? "" : spread(a[2], a[3], unit) }
        BEGIN {
            split(now, c, " "); split(then, b, " ")
            ratio = ""; verdict = "n/a"
            if (now == "" || then == "") verdict = "FAILED"
            else if (c[1] != "n/a" && b[1] != "n/a" && b[1] == 0)
                # nothing to divide by: only a count of nothing can stay as it was
                verdict = unit ~ /\/s$/ || c[1] == 0 ? "ok" : "loss"
            else if (c[1] != "n/a" && b[1] != "n/a") {
                q = c[1] / b[1]; ratio = sprintf("%.3f", q)
                # no loss beyond noise: a median at least 0.90 of the baseline
                verdict = (unit ~ /\/s$/ ? q >= 0.90 : q <= 1 / 0.90) ? "ok" : "loss"
            }
            printf "%s%s%s%s%s%s%s|\n", cell(20, row), cell(12, figure(now, c)), cell(16, range(now, c)),
                cell(12, figure(then, b)), cell(16, range(then, b)), cell(9, ratio), cell(7, verdict)
        }'
}

machine() {
    echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# The NOTE lines of the builds' outputs (the first of each case, as the runs
# of a case repeat theirs), and what was not available, and why; each line
# names its build when there are two.
notes() {
    local label prefix=
    for label in "$@"; do
        [ $# -eq 1 ] || prefix="$label: "
        cat "$OUT/$label"/*.out 2>/dev/null | awk -v prefix="$prefix" '
            $1 == "NOTE" && !seen[$2]++ { sub(/^NOTE /, ""); print prefix $0 }
            $1 == "UNAVAILABLE" {
                series = $2; reason = $0; sub(/^UNAVAILABLE [^ ]+ /, "", reason)
                if (!(reason in which)) order[n++] = reason
                if (index(" " which[reason] " ", " " series " ") == 0) which[reason] = which[reason] " " series
            }
            END { for (i = 0; i < n; i++) print prefix "not available:" which[order[i]] ": " order[i] }'
    done
}

# ---- main ----

STOCK_INTERPRETER=$(tools/find-lua.sh interpreter 5.4 2>/dev/null || true)
declare -A FAILED FAILED_BASELINE

main_table() {
    local c failed=0 row met total unavailable_rows
    local rows=()
    export BENCH_REPEAT=$REPEAT BENCH_SCALE=$SCALE BENCH_FLOOR=1
    prepare_build current
    rm -f "$OUT/current"/*.out
    echo "bench: started with $(machine)" >&2
    for c in "${CASES[@]}"; do
        run_case_of_build "$c" current || {
            FAILED[$c]=1
            failed=1
        }
    done
    while read -r c row; do
        rows+=("$(table_row "$c" $row)")
    done < <(for c in "${CASES[@]}"; do rows_of "$c"; done)
    echo
    echo "mtmsg benchmarks: $(machine); median of $REPEAT runs, scale $SCALE"
    use_build current
    if [ -n "$STOCK" ]; then
        echo "Lua: the test host (Lua 5.4, API checks on); $STOCK for alternate, patterns, instructions-stock"
    else
        echo "Lua: the test host (Lua 5.4, API checks on); no stock lua5.4 ($STOCK_MISSING)"
    fi
    echo
    echo "| case                 | mtmsg        | slowest..fastest | floor        | ratio    | target       | met  |"
    echo "| -------------------- | ------------ | ---------------- | ------------ | -------- | ------------ | ---- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "mtmsg: the median of the runs; ratio: mtmsg / floor (or reference), medians. Floors: spsc, spsc3,"
    echo "alternate and the patterns the same loops calling null C functions; pingpong a C round trip"
    echo "through one atomic variable; fanin and mpmc the spsc throughput of the same run; bytes one thread"
    echo "copying the string into C memory and back into a new Lua string; lookup mtmsg.buffer(id);"
    echo "instructions the same loops calling null C functions (callgrind, per message); c-spsc a textbook"
    echo "queue (mutex, condition variable, malloc per message); listener-fanout the same with standalone"
    echo "buffers; oversub-pingpong the same build with $SPIN_SWITCH=0 (taker spin off); churn the same loop"
    echo "creating buffers without a message. memory has no floor: it is the whole growth of resident memory"
    echo "per buffer, Lua userdata and table slot included, as a Lua user pays it. pool is judged by its"
    echo "slowest run; latency has no target of its own (compare it with a baseline: --baseline REV)."
    echo "table-*: one thread copying the same table with a C function that walks it and builds the copy."
    notes current
    total=$(printf '%s\n' "${rows[@]}" | grep -cE '\| (yes|no) +\|$')
    met=$(printf '%s\n' "${rows[@]}" | grep -cE '\| yes +\|$')
    unavailable_rows=$(printf '%s\n' "${rows[@]}" | grep -cE '\| n/a +\|$')
    echo "targets met: $met of $total$([ "$unavailable_rows" = 0 ] || echo "; $unavailable_rows not available")"
    echo "bench: finished with $(machine)" >&2
    [ $failed -eq 0 ] || return 1
    [ "${BENCH_STRICT:-0}" != 1 ] || [ "$met" -eq "$total" ] || return 1
}

main_baseline() {
    local baseline c r label failed=0 row losses
    local rows=() order
    baseline=$(baseline_label "$BASELINE_REV") || exit 2
    # One run per round and build; the rounds give the spread. No floors.
    export BENCH_REPEAT=1 BENCH_SCALE=$SCALE BENCH_FLOOR=0
    REPEAT=1
    prepare_build current
    prepare_build "$baseline"
    rm -f "$OUT/current"/*.out "$OUT/$baseline"/*.out
    echo "bench: started with $(machine)" >&2
    for ((r = 1; r <= ROUNDS; r++)); do
        # the order alternates, so that a drift of the machine does not favour one build
        if ((r % 2)); then order=(current "$baseline"); else order=("$baseline" current); fi
        echo "bench: round $r of $ROUNDS" >&2
        for c in "${CASES[@]}"; do
            for label in "${order[@]}"; do
                [ "$label" = current ] && [ "${FAILED[$c]:-0}" = 1 ] && continue
                [ "$label" != current ] && [ "${FAILED_BASELINE[$c]:-0}" = 1 ] && continue
                run_case_of_build "$c" "$label" && continue
                failed=1
                if [ "$label" = current ]; then FAILED[$c]=1; else FAILED_BASELINE[$c]=1; fi
            done
        done
    done
    while read -r c row; do
        rows+=("$(baseline_row "$baseline" "$c" $row)")
    done < <(for c in "${CASES[@]}"; do rows_of "$c"; done | awk '!seen[$3]++')
    echo
    echo "mtmsg benchmarks, this tree against $baseline ($(git log -1 --format='%h %s' "${baseline#baseline-}"))"
    echo "$(machine); $ROUNDS rounds, the builds alternating, scale $SCALE"
    echo
    echo "| case                 | current      | slowest..fastest | baseline     | slowest..fastest | cur/base  | verdict |"
    echo "| -------------------- | ------------ | ---------------- | ------------ | ---------------- | --------- | ------- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "medians of the rounds; loss: the current median below 0.90 of the baseline's (rates), or above"
    echo "1/0.90 of it (times, sizes, counts)"
    notes current "$baseline"
    losses=$(printf '%s\n' "${rows[@]}" | grep -cE '\| (loss|FAILED) +\|$')
    echo "rows with a loss or a failure: $losses of ${#rows[@]}"
    echo "bench: finished with $(machine)" >&2
    [ $failed -eq 0 ] || return 1
    [ "${BENCH_STRICT:-0}" != 1 ] || [ "$losses" -eq 0 ] || return 1
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
    local env=(env LUA_PATH="$ROOT/bench/?.lua;;" LUA_CPATH="$BIN/lua5.4/?.so;;" BENCH_REPEAT=1 BENCH_FLOOR=0)
    local script=(bench/instructions.lua mtmsg $INSTRUCTIONS_MESSAGES)
    [ "$1" = instructions ] || script=(bench/spsc.lua 3)
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

BASELINE_REV=
CASES=()
while [ $# -gt 0 ]; do
    case $1 in
    --baseline)
        [ $# -ge 2 ] || die "--baseline needs a revision"
        BASELINE_REV=$2
        shift 2
        ;;
    --rounds)
        [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a number of rounds"
        ROUNDS=$2
        shift 2
        ;;
    profile-spsc3 | profile-instructions)
        [ $# -eq 1 ] && [ -z "$BASELINE_REV" ] || die "$1 goes alone"
        prepare_build current
        profile "${1#profile-}"
        exit
        ;;
    -*) die "unknown option $1 (bench/run.sh [--baseline REV [--rounds N]] [case...])" ;;
    *)
        rows_of "$1" | grep -q . || die "unknown case $1 (cases: $(all_cases | tr '\n' ' ')profile-spsc3 profile-instructions)"
        CASES+=("$1")
        shift
        ;;
    esac
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a number of runs"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a number of rounds"
[ ${#CASES[@]} -gt 0 ] || mapfile -t CASES < <(all_cases)

if [ -n "$BASELINE_REV" ]; then
    main_baseline
else
    main_table
fi

#!/usr/bin/env bash
# Tests of what users install: make install into a temporary
# DESTDIR, a C program built against the installed tree with pkg-config, the
# installed module in the stock lua5.4, make uninstall, and luarocks make
# with the rockspec. Prints "ok NAME", "FAIL NAME: why" or "skip NAME: why"
# per test and ends with "N passed, N failed"; exits non-zero on a failure.
#
#   test/install.sh          (make test runs it; MAKE: the make to use)
set -uo pipefail
cd "$(dirname "$0")/.."

make_command=${MAKE:-make}
prefix=/usr/local
work=$(mktemp -d "${TMPDIR:-/tmp}/mtmsg-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/dest
tree=$dest$prefix
passed=0
failed=0

ok() {
    echo "ok $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}
skip() {
    echo "skip $1: $2"
}
# check NAME COMMAND...: ok when COMMAND succeeds; else FAIL with the end of its output.
check() {
    local name=$1 log=$work/$1.log
    shift
    if "$@" >"$log" 2>&1; then
        ok "$name"
    else
        fail "$name" "$* failed:"
        tail -n 20 "$log" | sed 's/^/    /'
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
lua_include=build/lua5.4/include
lua_library=build/lua5.4/lib/liblua5.4.a

if ! "$make_command" --no-print-directory install PREFIX=$prefix DESTDIR="$dest" LUA=5.4 >"$work/install.log" 2>&1; then
    fail make_install_into_a_destdir "make install failed:"
    tail -n 30 "$work/install.log" | sed 's/^/    /'
    finish
fi
ok make_install_into_a_destdir

expected="$prefix/include/mtmsg.h
$prefix/lib/libmtmsg.a
$prefix/lib/libmtmsg.so -> libmtmsg.so.0
$prefix/lib/libmtmsg.so.0 -> libmtmsg.so.$version
$prefix/lib/libmtmsg.so.$version
$prefix/lib/lua/5.4/mtmsg.so
$prefix/lib/pkgconfig/mtmsg.pc"
# Every file and symlink below DESTDIR, with the targets of the symlinks.
installed=$( (cd "$dest" && find . \( -type f -o -type l \) -printf '%p\t%l\n') | sed -e 's|^\.||' \
    -e 's|\t\(..*\)$| -> \1|' -e 's|\t$||' | sort)
if [ "$installed" = "$expected" ]; then
    ok install_puts_exactly_the_listed_files
else
    fail install_puts_exactly_the_listed_files "got, below the expected:"
    diff <(echo "$installed") <(echo "$expected") | sed 's/^/    /'
fi

soname=$(readelf -d "$tree/lib/libmtmsg.so.$version" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libmtmsg.so.0 ]; then
    ok installed_library_has_the_versioned_soname
else
    fail installed_library_has_the_versioned_soname "SONAME is '$soname'"
fi

runpath=$(readelf -d "$tree/lib/lua/5.4/mtmsg.so" 2>/dev/null | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
if [ "$runpath" = '$ORIGIN/../..' ]; then
    ok installed_module_finds_the_library_two_folders_up
else
    fail installed_module_finds_the_library_two_folders_up "RUNPATH is '$runpath'"
fi

# pkg-config on the installed tree: --define-prefix takes the prefix from
# where mtmsg.pc lies, so the flags point into DESTDIR.
pc() {
    PKG_CONFIG_PATH="$tree/lib/pkgconfig" PKG_CONFIG_LIBDIR=/nonexistent pkg-config --define-prefix "$@" mtmsg
}
if ! command -v pkg-config >/dev/null; then
    skip pkgconfig_gives_the_installed_flags "no pkg-config"
else
    flags=$(echo $(pc --cflags --libs)) # one space between flags, none at the end
    if [ "$flags" = "-I$tree/include -L$tree/lib -lmtmsg" ] && [ "$(pc --modversion)" = "$version" ]; then
        ok pkgconfig_gives_the_installed_flags
    else
        fail pkgconfig_gives_the_installed_flags "got '$flags', version $(pc --modversion)"
    fi

    # The example C program: links libmtmsg.so through pkg-config and runs
    # Lua states that load the installed module.
    check c_program_builds_against_the_installed_tree \
        cc -std=c99 -O2 -pthread -I"$lua_include" -o "$work/c_host" examples/c_host.c $(pc --cflags --libs) \
        -Wl,--whole-archive "$lua_library" -Wl,--no-whole-archive -Wl,-E -lm -ldl
    check c_program_runs_with_the_installed_library_and_module \
        env LD_LIBRARY_PATH="$tree/lib" LUA_CPATH="$tree/lib/lua/5.4/?.so" "$work/c_host"

    # The README's C quick start, linked with the static library and the
    # system libraries mtmsg.pc lists for it.
    awk '/^### C quick start/ { found = 1 } found && /^```c/ { inside = 1; next }
         inside && /^```/ { exit } inside' README.md >"$work/quick_start.c"
    static_libs=$(pc --static --libs-only-l | sed 's/-lmtmsg//')
    check readme_quick_start_links_with_the_static_library \
        cc -std=c99 $(pc --cflags) -o "$work/quick_start" "$work/quick_start.c" "$tree/lib/libmtmsg.a" $static_libs
    check readme_quick_start_runs "$work/quick_start"
fi

# The installed module in the stock interpreter: LUA_CPATH stands for the
# default path (/usr/local/lib/lua/5.4/?.so); no LD_LIBRARY_PATH, the module's
# RUNPATH finds libmtmsg.so.0.
have_lua54=false
if lua54=$(tools/find-lua.sh interpreter 5.4 2>&1); then
    have_lua54=true
    check stock_lua54_requires_the_installed_module \
        env -u LUA_CPATH_5_4 -u LD_LIBRARY_PATH LUA_CPATH="$tree/lib/lua/5.4/?.so" "$lua54" \
        -e 'local mtmsg = require "mtmsg"
            local b = mtmsg.newbuffer("installed")
            assert(b:addmsg("hello", 42) and select(2, mtmsg.buffer("installed"):nextmsg(0)) == 42)'
else
    skip stock_lua54_requires_the_installed_module "$lua54"
fi

"$make_command" --no-print-directory uninstall PREFIX=$prefix DESTDIR="$dest" LUA=5.4 >"$work/uninstall.log" 2>&1
left=$(cd "$dest" && find . \( -type f -o -type l \))
if [ -z "$left" ]; then
    ok uninstall_removes_every_installed_file
else
    fail uninstall_removes_every_installed_file "left: $left"
fi

# luarocks make with the rockspec, into a tree of its own, offline.
rockspec=$(ls mtmsg-*.rockspec 2>/dev/null | head -n 1)
if ! command -v luarocks >/dev/null; then
    skip luarocks_make_installs_the_module "no luarocks"
elif ! $have_lua54; then
    skip luarocks_make_installs_the_module "$lua54"
elif ! tools/find-lua.sh cflags 5.4 >/dev/null 2>&1; then
    skip luarocks_make_installs_the_module "no Lua 5.4 headers"
else
    rocks=$work/rocks
    check luarocks_make_installs_the_module \
        luarocks --lua-version=5.4 --tree="$rocks" make "$rockspec"
    check module_installed_by_luarocks_works_in_lua54 \
        env -u LUA_CPATH_5_4 -u LD_LIBRARY_PATH LUA_CPATH="$rocks/lib/lua/5.4/?.so" "$lua54" \
        -e 'local mtmsg = require "mtmsg"
            assert(mtmsg._VERSION == "'"$version"'")
            local b = mtmsg.newbuffer()
            assert(b:addmsg(1.5, "x") and b:nextmsg(0) == 1.5)'
    check luarocks_remove_takes_the_module_away \
        sh -c 'luarocks --lua-version=5.4 --tree="$1" remove mtmsg && ! ls "$1"/lib/lua/5.4/*mtmsg*' - "$rocks"
fi

finish

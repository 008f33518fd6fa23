#!/bin/sh
# Finds the operating system's Lua of one version, for the suites that run
# in stock interpreters (test/run-all.sh) and the modules built for them
# (make stock-VERSION).
#
#   tools/find-lua.sh interpreter VERSION   prints the interpreter's path
#   tools/find-lua.sh cflags VERSION        prints -I<folder of its lua.h>
#
# VERSION is 5.1, 5.2, 5.3, 5.4 or jit. When nothing fits, prints why on
# standard error and exits 1. The headers are found with pkg-config (the
# names Debian, Fedora, Arch and FreeBSD give them) or in the usual include
# folders, and only when their lua.h is of VERSION.
set -u

usage() {
    echo "usage: $0 interpreter|cflags 5.1|5.2|5.3|5.4|jit" >&2
    exit 2
}
[ $# -eq 2 ] || usage
what=$1
version=$2

case $version in
5.1 | 5.2 | 5.3 | 5.4)
    short=$(echo "$version" | tr -d .)
    interpreters="lua$version lua$short lua-$version"
    packages="lua$version lua-$version lua$short"
    folders="/usr/include/lua$version /usr/local/include/lua$version /usr/include/lua$short /usr/local/include/lua$short /usr/include /usr/local/include"
    version_num=50${version#5.}
    ;;
jit)
    interpreters="luajit"
    packages="luajit"
    folders="/usr/include/luajit-2.1 /usr/local/include/luajit-2.1"
    version_num=501
    ;;
*)
    usage
    ;;
esac

# headers_fit FOLDER: its lua.h is of VERSION (LuaJIT's folder also has luajit.h, Lua 5.1's has not).
headers_fit() {
    [ -r "$1/lua.h" ] || return 1
    grep -Eq "define[[:space:]]+LUA_VERSION_NUM[[:space:]]+$version_num\b" "$1/lua.h" || return 1
    if [ "$version" = jit ]; then
        [ -r "$1/luajit.h" ]
    else
        [ ! -e "$1/luajit.h" ]
    fi
}

case $what in
interpreter)
    for name in $interpreters; do
        if path=$(command -v "$name"); then
            echo "$path"
            exit 0
        fi
    done
    echo "no $(echo "$interpreters" | sed 's/ / or /g') interpreter on the PATH" >&2
    exit 1
    ;;
cflags)
    if command -v pkg-config >/dev/null 2>&1; then
        for package in $packages; do
            cflags=$(pkg-config --cflags "$package" 2>/dev/null) || continue
            for flag in $cflags; do
                case $flag in
                -I*)
                    if headers_fit "${flag#-I}"; then
                        echo "$flag"
                        exit 0
                    fi
                    ;;
                esac
            done
        done
    fi
    for folder in $folders; do
        if headers_fit "$folder"; then
            echo "-I$folder"
            exit 0
        fi
    done
    echo "no lua.h of Lua $version (pkg-config: $packages; folders: $folders)" >&2
    exit 1
    ;;
*)
    usage
    ;;
esac

# mtmsg: the commands a user types.
#
#   make [LUA=5.4]      the Rust library (target/release/libmtmsg.{so,a}, checks
#                       include/mtmsg.h) and, for one Lua, build/lua<LUA>/:
#                       the test host mtlua, the module mtmsg.so, llthreads2/ex.so;
#                       build/lib/ and build/pkgconfig/ for C programs of the tree
#   make lua-all        the same for every Lua: 5.1 5.2 5.3 5.4 5.5 jit
#   make example        runs examples/*.lua with build/lua<LUA>/mtlua and the
#                       C examples examples/c_*.c; each checks its result
#   make test           Rust tests, C tests, the Lua suite on every Lua and
#                       in the stock interpreters installed, the examples,
#                       install; ends with "N passed, N failed" (test/run-all.sh)
#   make bench          the benchmark table (bench/run.sh; one case: bench/run.sh spsc;
#                       against revision REV: bench/run.sh --baseline REV)
#   make stress         the stress tests at full size: 1,000,000 messages per
#                       case in C (build/c/stress) and on Lua 5.4 (test_stress),
#                       with STRESS_BURNERS=3 threads that only spin beside
#                       every case (MTMSG_STRESS_BURNERS), so that producers
#                       and consumers are preempted anywhere; make test runs
#                       them with fewer messages, with and without burners
#   make check-memory   valgrind memcheck on the C tests and the Lua suite, drd
#                       on the C stress test, the glue and host built with
#                       -fsanitize=address,undefined (test/check-memory.sh)
#   make header         regenerates include/mtmsg.h from src/ffi
#   make stock-5.4      the module and llthreads2/ex.so against the operating
#                       system's Lua headers (5.1 5.2 5.3 5.4 jit), in
#                       build/stock-lua5.4/, for its stock interpreter
#   make install        PREFIX=/usr/local DESTDIR= LUA=5.4: libmtmsg.so.0.1.0
#                       and its symlinks, libmtmsg.a, mtmsg.h, mtmsg.pc, and
#                       lib/lua/<LUA>/mtmsg.so; make uninstall removes them
#   make rock           what mtmsg-*.rockspec builds: see there
#   make clean
#
# No system Lua is needed: tools/luabuild builds each Lua from the lua-src and
# luajit-src crates, with the API checks on (LUA_USE_APICHECK). Only
# make stock-* and make rock build against the operating system's Lua headers.

LUA ?= 5.4
LUA_VERSIONS := 5.1 5.2 5.3 5.4 5.5 jit

CC ?= cc
CARGO ?= cargo

RUST_SO := target/release/libmtmsg.so
RUST_A := target/release/libmtmsg.a
# The soname build.rs gives libmtmsg.so: what every user of it looks for.
RUST_SONAME := libmtmsg.so.0

LUABUILD := tools/luabuild/target/release/luabuild
LUABUILD_SOURCES := tools/luabuild/Cargo.toml tools/luabuild/Cargo.lock $(wildcard tools/luabuild/src/*.rs)

GLUE_SOURCES := $(wildcard lua/*.c)
GLUE_HEADERS := $(wildcard lua/*.h)
GLUE_CFLAGS := -O2 -g -fPIC -Wall -Wextra
# Never unloaded (nor libmtmsg with it) when the last state closes: the
# process-wide registry stays valid and its memory reachable for valgrind.
GLUE_LDFLAGS := -Wl,-z,nodelete
# $(call glue_link,OUTPUT,LUA-CFLAGS,RPATH): the module, against one Lua's
# headers, finding libmtmsg.so.0 through RPATH (e.g. $$ORIGIN).
glue_link = $(CC) $(GLUE_CFLAGS) -shared -Iinclude $(2) -o $(1) $(GLUE_SOURCES) \
	-Ltarget/release -lmtmsg -Wl,-rpath,'$(3)' $(GLUE_LDFLAGS)

HOST_HEADERS := $(wildcard test/host/*.h)
HOST_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -pthread
# The host exports the Lua API (-E) for the modules it loads, and takes every
# object of the Lua library, used by the host or not, for them to find.
host_lua_link = -Wl,--whole-archive $(1) -Wl,--no-whole-archive -Wl,-E -lm -ldl -pthread
# $(call threads_link,OUTPUT,LUA-CFLAGS): the host's thread module alone, as llthreads2/ex.so.
threads_link = mkdir -p $(dir $(1)) && \
	$(CC) $(HOST_CFLAGS) -fPIC -shared $(2) -o $(1) test/host/llthreads.c

C_TEST_SOURCES := $(wildcard test/c/*.c)
C_TESTS := $(patsubst test/c/%.c,build/c/%,$(C_TEST_SOURCES))
C_TEST_CFLAGS := -Wall -Wextra -O1 -g -pthread -Iinclude
# C tests named lua_*.c also run Lua 5.4 states that load build/lua5.4/mtmsg.so.
C_TEST_LUA := build/lua5.4

# The operating system's Lua interpreters make test also runs (see stock_rules).
STOCK_VERSIONS := 5.1 5.2 5.3 5.4 jit

.PHONY: all rust lua-all example test bench stress check-memory c-tests header clean FORCE \
	example-programs install uninstall rock install-rock \
	$(addprefix lua-,$(LUA_VERSIONS)) $(addprefix stock-,$(STOCK_VERSIONS))

all: rust lua-$(LUA) build/lib/libmtmsg.so build/pkgconfig/mtmsg-uninstalled.pc

# cargo knows what is up to date; make asks it every time.
$(RUST_SO): FORCE
	$(CARGO) build --release
$(RUST_A): $(RUST_SO)
rust: $(RUST_SO) $(RUST_A)

header:
	MTMSG_UPDATE_HEADER=1 $(CARGO) build --release

$(LUABUILD): $(LUABUILD_SOURCES)
	$(CARGO) build --release --locked --manifest-path tools/luabuild/Cargo.toml

# Rules for one Lua: $(1) is the version as LUA takes it (5.4, jit), $(2) its
# folder build/lua$(1) (build/lua5.4, build/luajit), whose name is also that
# of its library (liblua5.4.a, libluajit.a). Everything a Lua needs at run
# time sits in its folder: mtlua looks for modules beside itself, and
# mtmsg.so for libmtmsg.so.0 beside itself ($ORIGIN).
define lua_rules
$(2)/lib/liblua$(1).a: $$(LUABUILD)
	$$(LUABUILD) lua$(1) $(2)

$(2)/mtlua: test/host/mtlua.c test/host/llthreads.c $$(HOST_HEADERS) $(2)/lib/liblua$(1).a
	$$(CC) $$(HOST_CFLAGS) -I$(2)/include -o $$@ test/host/mtlua.c test/host/llthreads.c \
		$$(call host_lua_link,$(2)/lib/liblua$(1).a)

$(2)/llthreads2/ex.so: test/host/llthreads.c $$(HOST_HEADERS) $(2)/lib/liblua$(1).a
	$$(call threads_link,$$@,-I$(2)/include)

$(2)/mtmsg.so: $$(GLUE_SOURCES) $$(GLUE_HEADERS) include/mtmsg.h $(2)/lib/liblua$(1).a $(2)/$$(RUST_SONAME)
	$$(call glue_link,$$@,-I$(2)/include,$$$$ORIGIN)

lua-$(1): $(2)/mtlua $(2)/llthreads2/ex.so $(2)/mtmsg.so
endef
$(foreach version,$(LUA_VERSIONS),$(eval $(call lua_rules,$(version),build/lua$(version))))

# Every folder of build/ that has a module or C program in it has its copy
# of libmtmsg.so.0, found beside them ($ORIGIN).
build/%/$(RUST_SONAME): $(RUST_SO)
	@mkdir -p $(@D)
	cp $< $@
# Kept after the build even where only a pattern rule asks for it (build/c/).
.PRECIOUS: build/%/$(RUST_SONAME)

# The operating system's Lua: the module and the thread module built
# against its headers (tools/find-lua.sh) for its stock interpreter, which
# finds them with LUA_CPATH='build/stock-lua5.4/?.so;;'. No Lua library is
# linked: the interpreter has it. (STOCK_VERSIONS is set above .PHONY.)
stock_cflags = $(or $(shell tools/find-lua.sh cflags $(1)),$(error no headers of the operating system's Lua $(1)))

define stock_rules
$(2)/llthreads2/ex.so: test/host/llthreads.c $$(HOST_HEADERS)
	$$(call threads_link,$$@,$$(call stock_cflags,$(1)))

$(2)/mtmsg.so: $$(GLUE_SOURCES) $$(GLUE_HEADERS) include/mtmsg.h $(2)/$$(RUST_SONAME)
	$$(call glue_link,$$@,$$(call stock_cflags,$(1)),$$$$ORIGIN)

stock-$(1): $(2)/mtmsg.so $(2)/llthreads2/ex.so
endef
$(foreach version,$(STOCK_VERSIONS),$(eval $(call stock_rules,$(version),build/stock-lua$(version))))

lua-all: rust $(addprefix lua-,$(LUA_VERSIONS))

# The examples, each checking its own result (examples/run.sh): the Lua ones
# under build/lua<LUA>/mtlua, and examples/c_*.c built as a user builds
# them, with the flags pkg-config gives for mtmsg (here those of the tree's
# uninstalled mtmsg.pc) and LUA's library from build/.
EXAMPLE_BUILD = build/examples-lua$(LUA)
PKG_CONFIG ?= pkg-config
EXAMPLE_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -pthread

C_EXAMPLES := $(patsubst examples/%.c,$(EXAMPLE_BUILD)/%,$(wildcard examples/c_*.c))

example-programs: lua-$(LUA) $(C_EXAMPLES)

example: example-programs
	@LD_LIBRARY_PATH=$(CURDIR)/build/lib LUA_CPATH='build/lua$(LUA)/?.so' \
		bash examples/run.sh build/lua$(LUA)/mtlua $(C_EXAMPLES)

$(EXAMPLE_BUILD)/%: examples/%.c include/mtmsg.h build/pkgconfig/mtmsg-uninstalled.pc \
		build/lib/libmtmsg.so build/lua$(LUA)/lib/liblua$(LUA).a
	@mkdir -p $(@D)
	flags=$$(PKG_CONFIG_PATH=build/pkgconfig $(PKG_CONFIG) --cflags --libs mtmsg) || \
		{ echo "no pkg-config: linking with -Iinclude -Lbuild/lib -lmtmsg"; flags="-Iinclude -Lbuild/lib -lmtmsg"; }; \
	$(CC) $(EXAMPLE_CFLAGS) -Ibuild/lua$(LUA)/include -o $@ $< $$flags \
		$(call host_lua_link,build/lua$(LUA)/lib/liblua$(LUA).a)

# The tree's own lib folder, laid out as an installed one, and the mtmsg.pc
# that pkg-config prefers while PKG_CONFIG_PATH has build/pkgconfig.
build/lib/libmtmsg.so: build/lib/$(RUST_SONAME)
	ln -sf $(RUST_SONAME) $@

build/pkgconfig/mtmsg-uninstalled.pc: mtmsg.pc.in Cargo.toml
	@mkdir -p $(@D)
	$(call write_pc,$(CURDIR),$${prefix}/build/lib) >$@

# C tests find libmtmsg.so.0 beside themselves, as the Lua module does.
build/c/%: test/c/%.c include/mtmsg.h build/c/$(RUST_SONAME)
	$(CC) $(C_TEST_CFLAGS) -o $@ $< -Ltarget/release -lmtmsg -Wl,-rpath,'$$ORIGIN'

build/c/lua_%: test/c/lua_%.c include/mtmsg.h build/c/$(RUST_SONAME) \
		$(C_TEST_LUA)/mtmsg.so $(C_TEST_LUA)/llthreads2/ex.so
	$(CC) $(C_TEST_CFLAGS) -I$(C_TEST_LUA)/include -o $@ $< -Ltarget/release -lmtmsg -Wl,-rpath,'$$ORIGIN' \
		$(call host_lua_link,$(C_TEST_LUA)/lib/liblua5.4.a)

c-tests: $(C_TESTS)

# The script builds each suite's pieces itself, so that one that does not
# build counts as failed and the others still run.
test:
	@MAKE='$(MAKE)' LUA_VERSIONS='$(LUA_VERSIONS)' STOCK_VERSIONS='$(STOCK_VERSIONS)' bash test/run-all.sh

# The benchmarks of the performance targets; one case: bench/run.sh spsc;
# against another revision: bench/run.sh --baseline REV. The script runs
# make itself (and make stock-5.4 where the system has Lua 5.4).
bench:
	MAKE='$(MAKE)' bench/run.sh

# The stress test at full size, beside CPU-burning threads; one case:
# MTMSG_STRESS_BURNERS=3 build/c/stress listener_P8_C8
STRESS_BURNERS ?= 3
stress: c-tests lua-5.4
	MTMSG_STRESS_MESSAGES=1000000 MTMSG_STRESS_BURNERS=$(STRESS_BURNERS) build/c/stress
	MTMSG_STRESS_MESSAGES=1000000 MTMSG_STRESS_BURNERS=$(STRESS_BURNERS) build/lua5.4/mtlua test/lua/run.lua test_stress

# One checker: test/check-memory.sh memcheck-c (or memcheck-lua, drd, asan)
check-memory: c-tests lua-5.4
	MAKE='$(MAKE)' bash test/check-memory.sh

# make install: the C library (the file of the versioned soname, its two
# symlinks, the static library, the header, pkg-config's mtmsg.pc) and the
# module of LUA where that Lua's stock interpreter looks by default:
# lib/lua/<LUA>/ (LuaJIT: lib/lua/5.1/). The module finds libmtmsg.so.0 two
# folders up ($ORIGIN/../..), so neither ldconfig nor LD_LIBRARY_PATH is
# needed for Lua; C programs find it on the system path (ldconfig runs after
# an install as root into the real /).
VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
PREFIX ?= /usr/local
DESTDIR ?=
libdir = $(PREFIX)/lib
includedir = $(PREFIX)/include
luacdir = $(libdir)/lua/$(if $(filter jit,$(LUA)),5.1,$(LUA))
INSTALL_BUILD = build/install-lua$(LUA)
INSTALLED_FILES = $(libdir)/libmtmsg.so.$(VERSION) $(libdir)/$(RUST_SONAME) $(libdir)/libmtmsg.so \
	$(libdir)/libmtmsg.a $(includedir)/mtmsg.h $(libdir)/pkgconfig/mtmsg.pc $(luacdir)/mtmsg.so

# $(call write_pc,PREFIX,LIBDIR): mtmsg.pc.in filled in, on standard output.
write_pc = sed -e 's|@prefix@|$(1)|' -e 's|@libdir@|$(2)|' -e 's|@version@|$(VERSION)|' mtmsg.pc.in

$(INSTALL_BUILD)/mtmsg.so: $(GLUE_SOURCES) $(GLUE_HEADERS) include/mtmsg.h build/lua$(LUA)/lib/liblua$(LUA).a $(RUST_SO)
	@mkdir -p $(@D)
	$(call glue_link,$@,-Ibuild/lua$(LUA)/include,$$ORIGIN/../..)

install: $(RUST_SO) $(RUST_A) $(INSTALL_BUILD)/mtmsg.so
	install -d $(DESTDIR)$(libdir)/pkgconfig $(DESTDIR)$(includedir) $(DESTDIR)$(luacdir)
	install -m 755 $(RUST_SO) $(DESTDIR)$(libdir)/libmtmsg.so.$(VERSION)
	ln -sf libmtmsg.so.$(VERSION) $(DESTDIR)$(libdir)/$(RUST_SONAME)
	ln -sf $(RUST_SONAME) $(DESTDIR)$(libdir)/libmtmsg.so
	install -m 644 $(RUST_A) $(DESTDIR)$(libdir)/libmtmsg.a
	install -m 644 include/mtmsg.h $(DESTDIR)$(includedir)/mtmsg.h
	$(call write_pc,$(PREFIX),$${prefix}/lib) >$(DESTDIR)$(libdir)/pkgconfig/mtmsg.pc
	install -m 755 $(INSTALL_BUILD)/mtmsg.so $(DESTDIR)$(luacdir)/mtmsg.so
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))

# luarocks (mtmsg-*.rockspec, build type make): `make rock LUA_INCDIR=...`
# builds the module against the headers luarocks found, and `make
# install-rock ROCK_LIBDIR=...` puts it, with the libmtmsg.so.0 it finds
# beside itself, into the rock's lib folder, from where luarocks deploys both
# to lib/lua/<version>/. Rebuilt every time: LUA_INCDIR may differ.
ROCK_BUILD := build/rock
rock: $(ROCK_BUILD)/mtmsg.so

$(ROCK_BUILD)/mtmsg.so: $(ROCK_BUILD)/$(RUST_SONAME) FORCE
	$(if $(LUA_INCDIR),,$(error set LUA_INCDIR to the folder of the lua.h to build for))
	$(call glue_link,$@,-I$(LUA_INCDIR),$$ORIGIN)

# What make rock built, as it is: luarocks' install pass knows no LUA_INCDIR.
install-rock:
	$(if $(ROCK_LIBDIR),,$(error set ROCK_LIBDIR to the folder to install into))
	install -d $(ROCK_LIBDIR)
	install -m 755 $(ROCK_BUILD)/mtmsg.so $(ROCK_BUILD)/$(RUST_SONAME) $(ROCK_LIBDIR)/

clean:
	$(CARGO) clean
	rm -rf build tools/luabuild/target

FORCE:

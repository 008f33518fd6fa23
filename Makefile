# mtmsg: the commands a user types.
#
#   make [LUA=5.4]      the Rust library (target/release/libmtmsg.{so,a}, checks
#                       include/mtmsg.h) and, for one Lua, build/lua<LUA>/:
#                       the test host mtlua, the module mtmsg.so, llthreads2/ex.so
#   make lua-all        the same for every Lua: 5.1 5.2 5.3 5.4 5.5 jit
#   make example        runs examples/*.lua with build/lua<LUA>/mtlua
#   make test           Rust tests, C tests, the Lua suite on every Lua;
#                       ends with "N passed, N failed" (test/run-all.sh)
#   make bench          the benchmark table (bench/run.sh; one case: bench/run.sh spsc)
#   make header         regenerates include/mtmsg.h from src/ffi
#   make clean
#
# No system Lua is used: tools/luabuild builds each Lua from the lua-src and
# luajit-src crates, with the API checks on (LUA_USE_APICHECK).

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

HOST_HEADERS := $(wildcard test/host/*.h)
HOST_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -pthread
# The host exports the Lua API (-E) for the modules it loads, and takes every
# object of the Lua library, used by the host or not, for them to find.
host_lua_link = -Wl,--whole-archive $(1) -Wl,--no-whole-archive -Wl,-E -lm -ldl -pthread

C_TEST_SOURCES := $(wildcard test/c/*.c)
C_TESTS := $(patsubst test/c/%.c,build/c/%,$(C_TEST_SOURCES))
C_TEST_CFLAGS := -Wall -Wextra -O1 -g -pthread -Iinclude
# C tests named lua_*.c also run Lua 5.4 states that load build/lua5.4/mtmsg.so.
C_TEST_LUA := build/lua5.4

.PHONY: all rust lua-all example test bench c-tests header clean FORCE \
	$(addprefix lua-,$(LUA_VERSIONS))

all: rust lua-$(LUA)

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
	@mkdir -p $$(@D)
	$$(CC) $$(HOST_CFLAGS) -fPIC -shared -I$(2)/include -o $$@ test/host/llthreads.c

$(2)/$$(RUST_SONAME): $$(RUST_SO)
	cp $$< $$@

$(2)/mtmsg.so: $$(GLUE_SOURCES) $$(GLUE_HEADERS) include/mtmsg.h $(2)/lib/liblua$(1).a $(2)/$$(RUST_SONAME)
	$$(CC) $$(GLUE_CFLAGS) -shared -Iinclude -I$(2)/include -o $$@ $$(GLUE_SOURCES) \
		-Ltarget/release -lmtmsg -Wl,-rpath,'$$$$ORIGIN' $$(GLUE_LDFLAGS)

lua-$(1): $(2)/mtlua $(2)/llthreads2/ex.so $(2)/mtmsg.so
endef
$(foreach version,$(LUA_VERSIONS),$(eval $(call lua_rules,$(version),build/lua$(version))))

lua-all: rust $(addprefix lua-,$(LUA_VERSIONS))

example: lua-$(LUA)
	@for example in examples/*.lua; do \
		echo "== $$example"; \
		build/lua$(LUA)/mtlua $$example || exit 1; \
	done

# C tests find libmtmsg.so.0 beside themselves, as the Lua module does.
build/c/$(RUST_SONAME): $(RUST_SO)
	@mkdir -p $(@D)
	cp $< $@

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
	@MAKE='$(MAKE)' LUA_VERSIONS='$(LUA_VERSIONS)' bash test/run-all.sh

# The benchmarks of the performance targets; one case: bench/run.sh spsc
bench: rust lua-5.4
	bench/run.sh

clean:
	$(CARGO) clean
	rm -rf build tools/luabuild/target

FORCE:

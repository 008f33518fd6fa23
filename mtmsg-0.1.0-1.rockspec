-- Builds and installs the Lua module from a checkout of mtmsg:
--
--   luarocks make                      (for luarocks' default Lua)
--   luarocks --lua-version=5.4 make    (for another one)
--
-- The build runs `make rock` (the Rust library with cargo, then the module
-- against the headers luarocks finds for that Lua) and `make install-rock`,
-- which puts mtmsg.so and the libmtmsg.so.0 it finds beside itself into the
-- rock. Needs cargo and a C compiler. Cargo runs offline: the crates of
-- Cargo.lock must be in cargo's cache already (`cargo fetch` once, with
-- network, on a machine that has never built mtmsg).
rockspec_format = "3.0"
package = "mtmsg"
version = "0.1.0-1"
source = {
   url = "file://.",
}
description = {
   summary = "In-memory message buffers for threads with their own Lua states",
   detailed = [[
      Process-wide message buffers and listeners, found by id or name from
      any thread, that pass messages of simple values (nil, booleans,
      numbers, strings, light userdata, C functions) between OS threads,
      each running its own Lua state or plain C. Works with any threading
      library (llthreads2, Lanes, effil, a C host). Written in Rust with a
      C API; Lua 5.1 to 5.5 and LuaJIT.
   ]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.6",
}
build = {
   type = "make",
   build_target = "rock",
   build_variables = {
      LUA_INCDIR = "$(LUA_INCDIR)",
      CFLAGS = "$(CFLAGS)",
      CARGO = "cargo --offline",
   },
   install_target = "install-rock",
   install_variables = {
      ROCK_LIBDIR = "$(LIBDIR)",
   },
}

/*
 * The thread module of the test host (llthreads.c): the subset of
 * lua-llthreads2's interface that mtmsg's examples and tests use.
 * Linked into mtlua and also built alone as llthreads2/ex.so.
 */
#ifndef MTMSG_HOST_LLTHREADS_H
#define MTMSG_HOST_LLTHREADS_H

#include "host_compat.h"

/* require "llthreads2.ex": returns the module table { new = ... }. */
int luaopen_llthreads2_ex(lua_State *L);

/* Makes require "llthreads2.ex" and require "llthreads2" find this module
 * in L without a search (package.preload). Does nothing without a package library. */
void llthreads_preload(lua_State *L);

/* A message handler for lua_pcall: the error message (or a description of
 * a non-string error value) followed by a stack traceback, as `lua` prints. */
int llthreads_traceback(lua_State *L);

#endif

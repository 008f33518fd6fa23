/*
 * mtlua: the Lua interpreter of mtmsg's tests and examples, built from
 * lua-src's (or luajit-src's) sources, which carry no standalone `lua`.
 *
 *   mtlua [-e code]... [script [args...]]
 *
 * Like `lua`: runs each -e chunk, then the script ("-" reads standard input)
 * with `arg` set (arg[0] = script, arg[1..] = args, the interpreter and
 * options below 0) and the args also as `...`. An error prints its message
 * with a traceback on stderr and exits with status 1.
 *
 * The executable is linked with -Wl,-E so that loaded modules (mtmsg.so)
 * find the Lua API in it, as in a stock interpreter. package.cpath starts
 * with the executable's own folder, where the Makefile puts mtmsg.so, so no
 * LUA_CPATH is needed. "llthreads2.ex" (llthreads.c) is preloaded.
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "llthreads.h"

typedef struct command_line {
    int argc;
    char **argv;
    int script_index; /* of the script in argv, argc when there is none */
} command_line;

static void print_usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [-e code]... [script [args...]]\n"
            "  -e code  run the Lua code\n"
            "  --       stop handling options\n"
            "  script   a Lua file (\"-\": standard input), run with args\n",
            program);
}

/* Fills command->script_index; 0 when the command line is not understood. */
static int parse_command_line(command_line *command)
{
    int i = 1;
    int has_code = 0;
    while (i < command->argc && command->argv[i][0] == '-') {
        const char *option = command->argv[i];
        if (strcmp(option, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(option, "-") == 0) {
            break;
        }
        if (strcmp(option, "-e") != 0 || i + 1 >= command->argc) {
            return 0;
        }
        has_code = 1;
        i += 2;
    }
    command->script_index = i;
    return has_code || i < command->argc;
}

/* So that require "mtmsg" finds the module beside this executable. */
static void prepend_own_folder_to_cpath(lua_State *L)
{
    char path[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    char *last_slash;
    if (length <= 0) {
        return;
    }
    path[length] = '\0';
    last_slash = strrchr(path, '/');
    if (last_slash == NULL) {
        return;
    }
    *last_slash = '\0';
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "cpath");
    lua_pushfstring(L, "%s/?.so;%s", path, lua_tostring(L, -1));
    lua_setfield(L, -3, "cpath");
    lua_pop(L, 2);
}

/* The global `arg`, numbered as `lua` does: the script at 0. */
static void create_arg_table(lua_State *L, const command_line *command)
{
    int script = command->script_index < command->argc ? command->script_index : 0;
    int i;
    lua_createtable(L, command->argc - script, script + 1);
    for (i = 0; i < command->argc; i++) {
        lua_pushstring(L, command->argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* Calls the function below its nargs arguments; an error comes back with a traceback. */
static void call_with_traceback(lua_State *L, int nargs)
{
    int handler = lua_gettop(L) - nargs;
    lua_pushcfunction(L, llthreads_traceback);
    lua_insert(L, handler);
    if (lua_pcall(L, nargs, 0, handler) != LUA_OK) {
        lua_error(L);
    }
    lua_pop(L, 1);
}

static void check_loaded(lua_State *L, int status)
{
    if (status != LUA_OK) {
        lua_error(L);
    }
}

static void run_script(lua_State *L, const command_line *command)
{
    const char *script = command->argv[command->script_index];
    int i;
    check_loaded(L, luaL_loadfile(L, strcmp(script, "-") == 0 ? NULL : script));
    luaL_checkstack(L, command->argc, "too many script arguments");
    for (i = command->script_index + 1; i < command->argc; i++) {
        lua_pushstring(L, command->argv[i]);
    }
    call_with_traceback(L, command->argc - command->script_index - 1);
}

/* Runs protected, so that running out of memory while setting up is an error, not a panic. */
static int run_command_line(lua_State *L)
{
    const command_line *command = (const command_line *)lua_touserdata(L, 1);
    int i;
    lua_settop(L, 0);
    luaL_openlibs(L);
    llthreads_preload(L);
    prepend_own_folder_to_cpath(L);
    create_arg_table(L, command);
    for (i = 1; i < command->script_index; i++) {
        if (strcmp(command->argv[i], "-e") == 0) {
            i++;
            check_loaded(L, luaL_loadbuffer(L, command->argv[i], strlen(command->argv[i]), "=(command line)"));
            call_with_traceback(L, 0);
        }
    }
    if (command->script_index < command->argc) {
        run_script(L, command);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *program = argc > 0 ? argv[0] : "mtlua";
    command_line command = {argc, argv, 0};
    lua_State *L;
    int status;

    if (!parse_command_line(&command)) {
        print_usage(program);
        return 1;
    }
    L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "%s: not enough memory for a Lua state\n", program);
        return 1;
    }
    lua_pushcfunction(L, run_command_line);
    lua_pushlightuserdata(L, &command);
    status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        const char *message = lua_tostring(L, -1);
        fprintf(stderr, "%s: %s\n", program, message != NULL ? message : "(error object is not a string)");
        fflush(stderr);
    }
    /* joins the threads still running: see llthreads.c */
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}

/*
 * A C program that runs Lua states on threads of its own and exchanges
 * messages with them through mtmsg buffers: C hands out jobs and checks the
 * results, each Lua state (one per thread) does the work. C and Lua find the
 * same buffers by name, because the program and the Lua module share the
 * one libmtmsg.so.0 of the process.
 *
 * Build with pkg-config, linking a Lua with -Wl,-E so that the module the
 * states load finds the Lua API in the program:
 *
 *   cc -pthread c_host.c $(pkg-config --cflags --libs mtmsg) \
 *      $(pkg-config --cflags --libs lua5.4) -Wl,-E -o c_host
 *
 * The states load the module with require "mtmsg" from package.cpath
 * (LUA_CPATH, or the default path where make install puts it). Exits 0
 * when every result is right, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <mtmsg.h>

#define WORKERS 3
#define JOBS 30
#define WAIT_SECONDS 10.0

/* Each Lua state takes jobs (n, text) until an empty message tells it to stop. */
static const char worker_code[] =
    "local mtmsg = require 'mtmsg'\n"
    "local jobs = mtmsg.buffer('c_host.jobs')\n"
    "local results = mtmsg.buffer('c_host.results')\n"
    "local worker = ...\n"
    "local done = 0\n"
    "while true do\n"
    "  local n, text = jobs:nextmsg()\n"
    "  if n == nil then return done end\n"
    "  mtmsg.sleep(0.001) -- the work a job stands for\n"
    "  results:addmsg(n, n * n, text:upper(), worker)\n"
    "  done = done + 1\n"
    "end\n";

typedef struct worker {
    pthread_t thread;
    int number;
    int done;
    char error[512]; /* empty when the state ran to its end */
} worker;

static void *run_worker(void *data)
{
    worker *w = (worker *)data;
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        snprintf(w->error, sizeof w->error, "no memory for a Lua state");
        return NULL;
    }
    luaL_openlibs(L);
    if (luaL_loadstring(L, worker_code) != 0) {
        snprintf(w->error, sizeof w->error, "%s", lua_tostring(L, -1));
    } else {
        lua_pushinteger(L, w->number);
        if (lua_pcall(L, 1, 1, 0) != 0) {
            snprintf(w->error, sizeof w->error, "%s", lua_tostring(L, -1));
        } else {
            w->done = (int)lua_tointeger(L, -1);
        }
    }
    lua_close(L);
    return NULL;
}

/* Lua 5.1 and LuaJIT hand every number back as a double, 5.3+ integers as integers. */
static int as_integer(const mtmsg_value *value, long long *out)
{
    if (value->type == MTMSG_INTEGER) {
        *out = (long long)value->as.integer;
        return 1;
    }
    if (value->type == MTMSG_NUMBER && value->as.number == (double)(long long)value->as.number) {
        *out = (long long)value->as.number;
        return 1;
    }
    return 0;
}

static int failed(const char *what)
{
    fprintf(stderr, "c_host: %s: %s\n", what, mtmsg_last_error());
    return 1;
}

/* Takes one result and checks it; returns the job number, 0 when it is wrong. */
static int check_result(mtmsg_reader *reader, int per_worker[WORKERS + 1])
{
    mtmsg_value values[4];
    size_t got = 0;
    long long n, square, number;
    char want[32];
    if (mtmsg_reader_next(reader, values, 4, &got) != MTMSG_OK || got != 4 || !as_integer(&values[0], &n) ||
        !as_integer(&values[1], &square) || values[2].type != MTMSG_STRING || !as_integer(&values[3], &number)) {
        fprintf(stderr, "c_host: a result is not (n, n*n, text, worker)\n");
        return 0;
    }
    snprintf(want, sizeof want, "JOB %lld", n);
    if (n < 1 || n > JOBS || square != n * n || number < 1 || number > WORKERS ||
        values[2].as.string.len != strlen(want) || memcmp(values[2].as.string.ptr, want, strlen(want)) != 0) {
        fprintf(stderr, "c_host: wrong result for job %lld\n", n);
        return 0;
    }
    per_worker[number]++;
    return (int)n;
}

int main(void)
{
    mtmsg_buffer *jobs = NULL, *results = NULL;
    mtmsg_reader *reader = NULL;
    worker workers[WORKERS];
    int seen[JOBS + 1] = {0};
    int per_worker[WORKERS + 1] = {0};
    int i, wrong = 0, done = 0;

    if (mtmsg_buffer_new("c_host.jobs", strlen("c_host.jobs"), MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2,
                         MTMSG_DEFAULT_GROW, &jobs) != MTMSG_OK ||
        mtmsg_buffer_new("c_host.results", strlen("c_host.results"), MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2,
                         MTMSG_DEFAULT_GROW, &results) != MTMSG_OK ||
        mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &reader) != MTMSG_OK) {
        return failed("cannot create the buffers");
    }

    for (i = 0; i < WORKERS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].number = i + 1;
        if (pthread_create(&workers[i].thread, NULL, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "c_host: cannot start a thread\n");
            return 1;
        }
    }

    for (i = 1; i <= JOBS; i++) {
        char text[32];
        mtmsg_value job[2];
        snprintf(text, sizeof text, "job %d", i);
        job[0].type = MTMSG_INTEGER;
        job[0].as.integer = i;
        job[1].type = MTMSG_STRING;
        job[1].as.string.ptr = text;
        job[1].as.string.len = strlen(text);
        if (mtmsg_buffer_addmsg(jobs, job, 2) != MTMSG_OK) {
            return failed("cannot add a job");
        }
    }
    for (i = 0; i < WORKERS; i++) {
        if (mtmsg_buffer_addmsg(jobs, NULL, 0) != MTMSG_OK) { /* the empty message: stop */
            return failed("cannot add a stop message");
        }
    }

    for (i = 0; i < JOBS; i++) {
        int n;
        mtmsg_status status = mtmsg_buffer_nextmsg(results, reader, WAIT_SECONDS);
        if (status != MTMSG_OK) {
            fprintf(stderr, "c_host: no result within %.0f s (%s)\n", WAIT_SECONDS,
                    status == MTMSG_TIMEOUT ? "did a Lua state fail?" : mtmsg_last_error());
            wrong++;
            break;
        }
        n = check_result(reader, per_worker);
        if (n == 0 || seen[n]++) {
            wrong++;
        }
    }

    for (i = 0; i < WORKERS; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].error[0] != '\0') {
            fprintf(stderr, "c_host: Lua state %d failed: %s\n", workers[i].number, workers[i].error);
            wrong++;
        } else if (workers[i].done != per_worker[workers[i].number]) {
            fprintf(stderr, "c_host: Lua state %d counted %d jobs, C saw %d\n", workers[i].number, workers[i].done,
                    per_worker[workers[i].number]);
            wrong++;
        }
        printf("Lua state %d did %d jobs\n", workers[i].number, workers[i].done);
        done += workers[i].done;
    }

    mtmsg_reader_release(reader);
    mtmsg_buffer_release(results);
    mtmsg_buffer_release(jobs);
    if (wrong != 0 || done != JOBS) {
        fprintf(stderr, "c_host: %d wrong, %d of %d jobs done\n", wrong, done, JOBS);
        return 1;
    }
    printf("%d jobs done by %d Lua states on threads of a C program, every result right\n", JOBS, WORKERS);
    return 0;
}

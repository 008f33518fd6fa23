/*
 * Statuses of the C API as Lua results and Lua errors. The error names and
 * texts come from the library (mtmsg_status_name, mtmsg_last_error), so they
 * are spelled in one place for C and Lua alike.
 */
#include <string.h>

#include "glue.h"

/*
 * Raises the library's text for the failed call as it is, without Lua's
 * "file:line:" prefix, so err:match(mtmsg.error.object_closed) and
 * comparisons with the documented texts work. Timeout and would_block are
 * results, which leave the last error text as an earlier call set it: a
 * call that has no such result raises them by name (glue_check).
 */
int glue_raise(lua_State *L, mtmsg_status status)
{
    const char *text = status == MTMSG_TIMEOUT || status == MTMSG_WOULD_BLOCK ? NULL : mtmsg_last_error();
    if (text == NULL || text[0] == '\0') {
        text = mtmsg_status_name(status);
    }
    if (text == NULL) {
        text = "mtmsg: unknown error";
    }
    lua_pushstring(L, text);
    return lua_error(L);
}

/* mtmsg.error: each error name mapped to its "mtmsg.error.<name>" string. */
void glue_pusherrortable(lua_State *L)
{
    static const mtmsg_status errors[] = {
        MTMSG_AMBIGUOUS_NAME, MTMSG_HAS_NOTIFIER,        MTMSG_MESSAGE_SIZE,  MTMSG_NO_BUFFERS,
        MTMSG_OBJECT_CLOSED,  MTMSG_OPERATION_ABORTED, MTMSG_OUT_OF_MEMORY, MTMSG_UNKNOWN_OBJECT,
    };
    size_t i;
    lua_createtable(L, 0, (int)(sizeof errors / sizeof errors[0]));
    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const char *full = mtmsg_status_name(errors[i]);
        const char *dot = full != NULL ? strrchr(full, '.') : NULL;
        if (dot != NULL) {
            lua_pushstring(L, full);
            lua_setfield(L, -2, dot + 1);
        }
    }
}

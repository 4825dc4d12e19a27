/*
 * What a traced program tells the recorder through the client API (api.c
 * exports it; include/heapscope/heapscope.h declares it): a block's type
 * tag, a block to ignore, and the refcount shim's events.
 *
 * Must never fail the program for a bad request: an address that is not a
 * live block is ignored (but a new type's name still reaches the trace);
 * nothing happens while recording is off.
 */
#include "internal.h"

#include <string.h>

void rec_tag(const void *block, const char *type)
{
    if (!atomic_load(&rec_on))
        return;
    struct rec_guard g = rec_guard_enter();
    int is_new;
    uint32_t id = type_table_intern(type, &is_new);
    size_t type_room = FMT_TYPE_ROOM(strnlen(type, FMT_MAX_STRING));
    if (id && live_update((uintptr_t)block, id, 0)) {
        struct out_buf *ob = out_acquire(type_room + FMT_TAG_ROOM);
        if (ob) {
            struct fmt_buf *b = out_fmt(ob);
            if (is_new)
                fmt_put_type(b, id, type);
            fmt_put_tag(b, (uintptr_t)block, id);
            out_release(ob);
        }
    } else if (id && is_new) { /* not a live block, but the name must reach the trace */
        struct out_buf *ob = out_acquire(type_room);
        if (ob) {
            fmt_put_type(out_fmt(ob), id, type);
            out_release(ob);
        }
    }
    rec_guard_leave(g);
}

void rec_rc(unsigned op, const void *obj, uint64_t id, long count, const char *type, uintptr_t ret, int misuse)
{
    if (!atomic_load(&rec_on))
        return;
    struct rec_guard g = rec_guard_enter();
    if (misuse)
        rc_misuse(op, obj, id, type, ret);
    else
        rc_event(op, obj, id, count, type, ret);
    rec_guard_leave(g);
}

void rec_ignore(const void *block)
{
    if (!atomic_load(&rec_on))
        return;
    struct rec_guard g = rec_guard_enter();
    live_update((uintptr_t)block, 0, FMT_BLOCK_IGNORED);
    rec_guard_leave(g);
}

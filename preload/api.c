/*
 * The client API's definitions (include/heapscope/heapscope.h): the names a
 * traced program's weak references bind to. Each hands over to the recorder.
 */
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT void heapscope_tag(const void *block, const char *type)
{
    if (block && type)
        rec_tag(block, type);
}

EXPORT void heapscope_snapshot(const char *label)
{
    rec_snapshot(label && *label ? label : "api", HS_CALLER_SP());
}

EXPORT void heapscope_ignore(const void *block)
{
    if (block)
        rec_ignore(block);
}

/* From the refcount shim: __builtin_return_address(0) is in the shim's one
 * frame, which is cut from the recorded stack. */
EXPORT void heapscope_rc_event(unsigned op, const void *obj, unsigned long id, long count, const char *type)
{
    rec_rc(op, obj, id, count, type, (uintptr_t)__builtin_return_address(0), 0);
}

EXPORT void heapscope_rc_misuse(unsigned op, const void *obj, unsigned long id, const char *type)
{
    rec_rc(op, obj, id, -1, type, (uintptr_t)__builtin_return_address(0), 1);
}

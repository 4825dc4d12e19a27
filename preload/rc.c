/*
 * Refcount events from the refcount shim: each recorded with its stack and a
 * process-wide sequence number (events of different threads reach the file
 * out of order; the sequence puts an object's history back in order). A
 * misuse is reported on stderr with the stack where it happened and, when
 * known, the stack where the object was freed.
 *
 * The shim's own frame is cut from the top of each stack (the shim inlines
 * its internals, so each public call is one frame), so a stack starts at the
 * function that retained or released.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong rc_seq;

uint64_t rc_sequence(void) { return atomic_load(&rc_seq); }

/* Recently freed objects, for misuse reports: a ring, racy by design (a
 * lost entry only costs the "freed at" stack of a report). */
#define FREED_RING 4096
static struct {
    uintptr_t addr;
    uint32_t stack_id;
} freed[FREED_RING];
static atomic_uint freed_next;

/* The stack, from the frame after the shim's call into us (at ret); interned
 * when sid is given. */
static unsigned capture(uintptr_t ret, uintptr_t *frames, uint32_t *sid, int *is_new)
{
    uintptr_t raw[FMT_MAX_FRAMES];
    uint64_t hash;
    unsigned n = stack_capture(NULL, NULL, raw, hs_opt.max_frames, &hash), skip = 0;
    while (skip < n && raw[skip] != ret)
        skip++;
    skip = skip < n ? skip + 1 : 0;
    memcpy(frames, raw + skip, (n - skip) * sizeof *frames);
    n -= skip;
    if (sid)
        *sid = n ? stack_table_intern(frames, n, is_new) : FMT_NO_STACK;
    return n;
}

void rc_event(unsigned op, const void *obj, uint64_t id, long count, const char *type, uintptr_t ret)
{
    uintptr_t frames[FMT_MAX_FRAMES];
    uint32_t sid;
    int is_new = 0, type_new = 0;
    unsigned n = capture(ret, frames, &sid, &is_new);
    uint32_t type_id = type && op == FMT_RC_NEW ? type_table_intern(type, &type_new) : 0;
    uint64_t seq = atomic_fetch_add(&rc_seq, 1) + 1;
    if (op == FMT_RC_FREE) {
        unsigned i = atomic_fetch_add(&freed_next, 1) % FREED_RING;
        freed[i].addr = (uintptr_t)obj;
        freed[i].stack_id = sid;
    }
    size_t room = FMT_STACK_ROOM(n) + (type_new ? FMT_TYPE_ROOM(strnlen(type, FMT_MAX_STRING)) : 0) + FMT_RC_ROOM;
    struct out_buf *ob = out_acquire(room);
    if (!ob)
        return;
    struct fmt_buf *b = out_fmt(ob);
    if (is_new)
        fmt_put_stack(b, sid, frames, n);
    if (type_new)
        fmt_put_type(b, type_id, type);
    fmt_put_rc(b, op, (uintptr_t)obj, count, sid, seq, type_id, id);
    out_release(ob);
}

static void print_frames(const char *title, const uintptr_t *frames, unsigned n)
{
    fprintf(stderr, "  %s\n", title);
    for (unsigned i = 0; i < n && i < 16; i++) {
        struct plat_symbol sym;
        if (plat_symbolize(frames[i] - 1, &sym) == 0) {
            const char *mod = strrchr(sym.module, '/');
            if (sym.name)
                fprintf(stderr, "    #%u 0x%lx %s+0x%lx (%s)\n", i, (unsigned long)frames[i], sym.name,
                        (unsigned long)(frames[i] - sym.address), mod ? mod + 1 : sym.module);
            else
                fprintf(stderr, "    #%u 0x%lx (%s+0x%lx)\n", i, (unsigned long)frames[i], mod ? mod + 1 : sym.module,
                        (unsigned long)(frames[i] - sym.module_base));
        } else {
            fprintf(stderr, "    #%u 0x%lx\n", i, (unsigned long)frames[i]);
        }
    }
    if (n > 16)
        fprintf(stderr, "    ... %u more (heapscope refs shows them all, symbolized)\n", n - 16);
}

void rc_misuse(unsigned op, const void *obj, uint64_t id, const char *type, uintptr_t ret)
{
    static const unsigned as_misuse[] = {
        [FMT_RC_RETAIN] = FMT_RC_MISUSE_RETAIN, [FMT_RC_RELEASE] = FMT_RC_MISUSE_RELEASE,
        [FMT_RC_WEAK_NEW] = FMT_RC_MISUSE_WEAK, [FMT_RC_MISUSE_WEAK] = FMT_RC_MISUSE_WEAK,
        [FMT_RC_MISUSE_COUNT] = FMT_RC_MISUSE_COUNT };
    unsigned mop = op < sizeof as_misuse / sizeof as_misuse[0] && as_misuse[op] ? as_misuse[op] : FMT_RC_MISUSE_COUNT;
    uintptr_t frames[FMT_MAX_FRAMES];
    unsigned n = capture(ret, frames, NULL, NULL);
    print_frames("at:", frames, n);
    for (unsigned k = 0; k < FREED_RING; k++) {
        unsigned i = (atomic_load(&freed_next) - 1 - k) % FREED_RING;
        if (freed[i].addr == (uintptr_t)obj && freed[i].stack_id) {
            uintptr_t f[FMT_MAX_FRAMES];
            unsigned fn = stack_table_get(freed[i].stack_id, f, FMT_MAX_FRAMES);
            print_frames("the object was freed at:", f, fn);
            break;
        }
    }
    rc_event(mop, obj, id, -1, type, ret);
}

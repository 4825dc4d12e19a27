/*
 * The refcount shim (include/heapscope/refcount.h).
 *
 * Layout: the object starts its malloc block, so the program's pointers to
 * it are start pointers (a header in front would make every reference an
 * interior pointer, and a reachable object "possibly lost" to any leak
 * checker). The header sits in the block's last usable bytes, found again
 * from malloc_usable_size, which is stable for a block.
 *
 * Weak references share a control block that outlives the object: the last
 * release clears it under its lock before freeing, so a weak reference never
 * reads freed memory.
 *
 * Under libheapscope.so each event goes to heapscope_rc_event (a weak
 * symbol: absent, nothing is recorded).
 */
#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>

#include <malloc.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace_format.h" /* FMT_RC_*: the event codes the trace records */

extern void heapscope_rc_event(unsigned op, const void *obj, unsigned long id, long count, const char *type)
    __attribute__((weak));
extern void heapscope_rc_misuse(unsigned op, const void *obj, unsigned long id, const char *type) __attribute__((weak));

/* Object ids: an address is reused once an object is freed; an id is not,
 * so the tracer can tell apart events on two objects that had one address. */
static atomic_ulong next_id = 1;

#define MAGIC_LIVE 0x6f626a2d7273682bull /* "+hsr-obj" */
#define MAGIC_DEAD 0x646165642d72736bull
#define WEAK_LIVE 0x6b6165772d73682bull
#define WEAK_DEAD 0x6b6165772d646561ull

/* The control block keeps its object's address disguised (complemented), as
 * garbage collectors do with weak pointers: a conservative scan must not
 * see a weak reference as a reference, or weak parents would still make
 * cycles. 0 once the object died. */
#define HIDE(p) (~(uintptr_t)(p))
#define REVEAL(h) ((h) ? (void *)~(h) : NULL)

struct control {
    atomic_int lock;
    uintptr_t obj; /* HIDE(object), 0 once the object died */
    long refs;    /* weak handles, + 1 while the object lives */
    long handles; /* weak handles */
};

struct header {
    atomic_long count;
    const char *type;
    void (*fin)(void *);
    _Atomic(struct control *) weak;
    uint64_t magic;
    uint64_t id;
};

struct hs_weak {
    struct control *ctl;
    uint64_t magic;
};

static inline struct header *header_of(const void *obj)
{
    size_t usable = malloc_usable_size((void *)obj);
    return (struct header *)((char *)obj + ((usable - sizeof(struct header)) & ~(size_t)7));
}

/* The header of what may be a freed block: glibc says 0 for a chunk back in
 * its bins (then there is no header to read), its size while in tcache. */
static inline struct header *header_if_any(const void *obj)
{
    return malloc_usable_size((void *)obj) >= sizeof(struct header) ? header_of(obj) : NULL;
}

#define INLINE static inline __attribute__((always_inline))

/* Internals are always inlined: each public call is one frame, which the
 * tracer cuts from the stacks it records. */
/* What an event names. Copied from the header before the count changes:
 * once a release leaves the count above zero, another thread may free the
 * object at any moment, and the memory may hold another object's header. */
struct ident {
    uint64_t id;
    const char *type;
};

INLINE struct ident ident_of(const struct header *h) { return (struct ident){ h->id, h->type }; }

INLINE void event(unsigned op, const void *obj, struct ident who, long count)
{
    if (heapscope_rc_event)
        heapscope_rc_event(op, obj, who.id, count, who.type);
}

/* h: the object's header if it can still be read (a freed object's, while
 * the memory is not reused), else NULL. */
INLINE void misuse(unsigned op, const void *obj, const char *what, const struct header *h)
{
    const char *type = h ? h->type : NULL;
    fprintf(stderr, "heapscope-refcount: %s: object %p%s%s%s\n", what, obj, type ? " (type " : "",
            type ? type : "", type ? ")" : "");
    if (heapscope_rc_misuse)
        heapscope_rc_misuse(op, obj, h ? h->id : 0, type);
}

static void lock(struct control *c)
{
    while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire))
        sched_yield();
}

static void unlock(struct control *c) { atomic_store_explicit(&c->lock, 0, memory_order_release); }

/* A live object's header, or NULL (and a message) for anything else. */
INLINE struct header *live(const void *obj, unsigned op, const char *what)
{
    if (!obj)
        return NULL;
    struct header *h = header_if_any(obj);
    if (!h || h->magic != MAGIC_LIVE) {
        misuse(op, obj, what, h && h->magic == MAGIC_DEAD ? h : NULL);
        return NULL;
    }
    return h;
}

void *hs_rc_new(const char *type, size_t size)
{
    void *obj = calloc(1, size + sizeof(struct header));
    if (!obj)
        return NULL;
    struct header *h = header_of(obj);
    atomic_init(&h->count, 1);
    h->type = type;
    h->magic = MAGIC_LIVE;
    h->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    hs_tag(obj, type);
    event(FMT_RC_NEW, obj, ident_of(h), 1);
    return obj;
}

void *hs_rc_retain(void *obj)
{
    struct header *h = live(obj, FMT_RC_RETAIN, "hs_rc_retain of a freed object");
    if (!h)
        return obj;
    struct ident who = ident_of(h);
    long count = atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed) + 1;
    if (count <= 1) { /* it was at 0: being freed by another thread */
        atomic_fetch_sub_explicit(&h->count, 1, memory_order_relaxed);
        misuse(FMT_RC_RETAIN, obj, "hs_rc_retain of an object being freed", NULL);
        return obj;
    }
    event(FMT_RC_RETAIN, obj, who, count);
    return obj;
}

INLINE void destroy(void *obj, struct header *h)
{
    if (h->fin)
        h->fin(obj);
    struct control *c = atomic_load_explicit(&h->weak, memory_order_acquire);
    if (c) {
        lock(c);
        c->obj = 0;
        long handles = c->handles, refs = --c->refs;
        unlock(c);
        event(FMT_RC_WEAK_CLEAR, obj, ident_of(h), handles);
        if (refs == 0)
            free(c);
    }
    event(FMT_RC_FREE, obj, ident_of(h), 0);
    h->magic = MAGIC_DEAD;
    free(obj);
}

long hs_rc_release(void *obj)
{
    struct header *h = live(obj, FMT_RC_RELEASE, "hs_rc_release below zero (object already freed)");
    if (!h)
        return -1;
    struct ident who = ident_of(h);
    long count = atomic_fetch_sub_explicit(&h->count, 1, memory_order_acq_rel) - 1;
    if (count < 0) {
        atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
        misuse(FMT_RC_RELEASE, obj, "hs_rc_release below zero", NULL);
        return -1;
    }
    event(FMT_RC_RELEASE, obj, who, count); /* not h: at count > 0 it may be freed already */
    if (count == 0)
        destroy(obj, h);
    return count;
}

long hs_rc_count(const void *obj)
{
    struct header *h = live(obj, FMT_RC_MISUSE_COUNT, "hs_rc_count of a freed object");
    return h ? atomic_load_explicit(&h->count, memory_order_relaxed) : -1;
}

void hs_rc_set_finalizer(void *obj, void (*fin)(void *obj))
{
    struct header *h = live(obj, FMT_RC_MISUSE_COUNT, "hs_rc_set_finalizer on a freed object");
    if (h)
        h->fin = fin;
}

const char *hs_rc_type(const void *obj)
{
    struct header *h = live(obj, FMT_RC_MISUSE_COUNT, "hs_rc_type of a freed object");
    return h ? h->type : NULL;
}

hs_weak *hs_weak_new(void *obj)
{
    struct header *h = live(obj, FMT_RC_WEAK_NEW, "hs_weak_new of a freed object");
    if (!h)
        return NULL;
    hs_weak *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    struct control *c = atomic_load_explicit(&h->weak, memory_order_acquire);
    if (!c) {
        struct control *fresh = calloc(1, sizeof *fresh);
        if (!fresh) {
            free(w);
            return NULL;
        }
        fresh->obj = HIDE(obj);
        fresh->refs = 1; /* the object's own */
        if (atomic_compare_exchange_strong(&h->weak, &c, fresh))
            c = fresh;
        else
            free(fresh); /* another thread made one first */
    }
    lock(c);
    c->refs++;
    long handles = ++c->handles;
    unlock(c);
    w->ctl = c;
    w->magic = WEAK_LIVE;
    event(FMT_RC_WEAK_NEW, obj, ident_of(h), handles);
    return w;
}

INLINE struct control *weak_control(const hs_weak *w, const char *what)
{
    if (!w)
        return NULL;
    if (w->magic != WEAK_LIVE) {
        misuse(FMT_RC_MISUSE_WEAK, w, what, NULL);
        return NULL;
    }
    return w->ctl;
}

void *hs_weak_get(const hs_weak *w)
{
    struct control *c = weak_control(w, "hs_weak_get of a freed weak reference");
    if (!c)
        return NULL;
    lock(c);
    void *obj = REVEAL(c->obj);
    unlock(c);
    return obj;
}

void *hs_weak_retain(const hs_weak *w)
{
    struct control *c = weak_control(w, "hs_weak_retain of a freed weak reference");
    if (!c)
        return NULL;
    lock(c);
    void *obj = REVEAL(c->obj);
    long count = 0;
    if (obj) { /* the last release takes this lock before freeing: obj is valid here */
        struct header *h = header_of(obj);
        count = atomic_load_explicit(&h->count, memory_order_relaxed);
        while (count > 0 && !atomic_compare_exchange_weak(&h->count, &count, count + 1))
            ;
        if (count > 0)
            event(FMT_RC_RETAIN, obj, ident_of(h), count + 1);
        else
            obj = NULL; /* it is dying */
    }
    unlock(c);
    return obj;
}

void hs_weak_free(hs_weak *w)
{
    struct control *c = weak_control(w, "hs_weak_free of a freed weak reference");
    if (!c)
        return;
    lock(c);
    c->handles--;
    long refs = --c->refs;
    unlock(c);
    w->magic = WEAK_DEAD;
    free(w);
    if (refs == 0)
        free(c);
}

/*
 * CPython's objects as such: when the traced program is CPython (its
 * executable exports PyType_Type and Py_Version), a snapshot gives each
 * block that is a Python object its type's name, and the blocks an object
 * owns (a list's item array, a dict's keys and values) names of their own,
 * so that chains read "dict -> dict keys -> Gizmo". With PYTHONMALLOC=malloc
 * (which `heapscope run` sets for CPython) every object is a malloc block:
 * a GC object's block starts with PyGC_Head (16 bytes), the others' with
 * the object.
 *
 * What of the interpreter's layout is assumed, for 3.11 to 3.13 (Py_Version,
 * which 3.11 brought, is checked at start; another version, or none, gets
 * one line, and its blocks stay untyped: the C view is whole; only 3.11,
 * Debian's, is tested):
 *   an object: ob_refcnt at 0, ob_type at 8;
 *   a type: tp_name at 24, tp_basicsize at 32, tp_itemsize at 40, tp_flags at 168
 *     (Py_TPFLAGS_HAVE_GC 1 << 14, Py_TPFLAGS_TYPE_SUBCLASS 1 << 31),
 *     tp_weaklistoffset at 208 (where an instance's weak references
 *     list starts), tp_base at 256;
 *   a list: ob_size at 16, ob_item at 24; a tuple: ob_size at 16, its items
 *     from 24; a dict: ma_keys at 32, ma_values at 40;
 *   a weak reference (weakref.ref, its proxies and subclasses): wr_object
 *     at 16, wr_prev at 40, wr_next at 48, none of them a reference;
 *   PyGC_Head: 16 bytes before a GC object; and before that, for a type
 *   with Py_TPFLAGS_MANAGED_DICT (1 << 4, 3.11 and later: instances of
 *   classes), its values pointer and its dict pointer, so that the object
 *   is 32 bytes into its block; the values' own block starts the byte
 *   before them says how many bytes earlier.
 *   3.11's thread state and data stack chunks: python_dead_stacks.
 * At the snapshot each object's ob_refcnt is recorded (the OBJECTS record),
 * with a hash of a list's or tuple's items, and the scan is told which
 * words are no reference (FMT_EDGE_NOT_REF: a weak reference's, a list's
 * items past its size, a dead tuple's on its free list), so that the
 * analyzer can count an object's references against its refcount; and on
 * 3.11 the interpreter's data stacks above their top are no roots.
 * Nothing is trusted: a word is a type only if it points at readable memory
 * whose own type is `type` (PyType_Type, or a metatype whose type is), whose
 * GC and managed dict flags agree with where the object starts, whose sizes
 * give the block's size as CPython allocates it (object_type), and whose
 * name is a short printable string; a str is a compact one (48 bytes of
 * header, then its characters); the count before it is no address. Every
 * read is checked against the process's readable mappings first.
 */
#include "internal.h"

#include <string.h>

enum {
    OB_REFCNT = 0, OB_TYPE = 8, OB_SIZE = 16, TP_NAME = 24, TP_BASICSIZE = 32, TP_ITEMSIZE = 40, TP_FLAGS = 168,
    TP_WEAKLISTOFFSET = 208, TP_BASE = 256, TYPE_SIZE = 264, LIST_OB_ITEM = 24, TUPLE_ITEMS = 24,
    GC_HEAD = 16, DICT_MA_KEYS = 32, DICT_MA_VALUES = 40, WR_OBJECT = 16, WR_PREV = 40, WR_NEXT = 48, WEAKREF_SIZE = 56,
    STR_COMPACT = 48,
};
#define HAVE_GC (1ul << 14)
#define MANAGED_DICT (1ul << 4)
#define TYPE_SUBCLASS (1ul << 31)
#define NAME_MAX_LEN 96

/* PyType_Type, PyList_Type, PyDict_Type, PyTuple_Type, PyUnicode_Type, _PyWeakref_RefType
 * and its two proxies; type_type 0: not CPython */
static uintptr_t type_type, list_type, dict_type, tuple_type, str_type, weak_types[3];
static unsigned python_minor;
/* PyInterpreterState_Head, PyInterpreterState_Next, PyInterpreterState_ThreadHead,
 * PyThreadState_Next: plain reads of the interpreter's lists */
static void *(*interp_head)(void), *(*interp_next)(void *), *(*thread_head)(void *), *(*thread_next)(void *);

static void *symbol(const char *name)
{
    rec_self.guard++; /* dlsym's error strings are ours, not the program's */
    void *p = plat_symbol(name);
    rec_self.guard--;
    return p;
}

void python_init(void)
{
    void *t = symbol("PyType_Type"), *v = symbol("Py_Version");
    if (!t)
        return;
    unsigned long version = v ? *(const unsigned long *)v : 0;
    unsigned major = (unsigned)(version >> 24), minor = (unsigned)(version >> 16 & 0xff);
    if (major != 3 || minor < 11 || minor > 13) {
        if (version)
            plat_warn_once("CPython %u.%u: its layout is not one heapscope knows; its objects are not typed "
                           "(the C view is whole)", major, minor);
        else
            plat_warn_once("CPython before 3.11 (no Py_Version): its objects are not typed (the C view is whole)");
        return;
    }
    list_type = (uintptr_t)symbol("PyList_Type");
    dict_type = (uintptr_t)symbol("PyDict_Type");
    tuple_type = (uintptr_t)symbol("PyTuple_Type");
    str_type = (uintptr_t)symbol("PyUnicode_Type");
    weak_types[0] = (uintptr_t)symbol("_PyWeakref_RefType");
    weak_types[1] = (uintptr_t)symbol("_PyWeakref_ProxyType");
    weak_types[2] = (uintptr_t)symbol("_PyWeakref_CallableProxyType");
    python_minor = minor;
    *(void **)&interp_head = symbol("PyInterpreterState_Head");
    *(void **)&interp_next = symbol("PyInterpreterState_Next");
    *(void **)&thread_head = symbol("PyInterpreterState_ThreadHead");
    *(void **)&thread_next = symbol("PyThreadState_Next");
    type_type = (uintptr_t)t;
}

/* ---- readable memory, for the snapshot at hand ---- */

static struct plat_range *readable;
static size_t n_readable, cap_readable;

static void readable_cb(const struct plat_mapping *m, void *arg)
{
    (void)arg;
    if (!(m->prot & PLAT_PROT_READ) || strncmp(m->path, "[vvar", 5) == 0 || strncmp(m->path, "/dev/", 5) == 0)
        return;
    if (n_readable < cap_readable)
        readable[n_readable] = (struct plat_range){ m->start, m->end };
    n_readable++;
}

/* The type objects found at this snapshot (nearly every block asks about
 * one of a few): direct-mapped, emptied when the mappings are read. */
#define TYPES_SEEN 256
static uintptr_t types_seen[TYPES_SEEN];

static int readable_read(void)
{
    memset(types_seen, 0, sizeof types_seen);
    for (;;) {
        n_readable = 0;
        plat_maps_foreach(readable_cb, NULL);
        if (n_readable <= cap_readable)
            return 0;
        plat_unmap(readable, cap_readable * sizeof *readable);
        cap_readable = n_readable + 64;
        if (!(readable = plat_map(cap_readable * sizeof *readable))) {
            cap_readable = 0;
            return -1;
        }
    }
}

/* Whether [a, a + n) is readable (the mappings are sorted). A refcount is
 * asked about too (it must not look like an address): below the first
 * mapping, it is answered without a search. */
static int can_read(uintptr_t a, size_t n)
{
    if (a + n < a || !n_readable || a < readable[0].start || a + n > readable[n_readable - 1].end)
        return 0;
    size_t lo = 0, hi = n_readable;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (readable[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* adjacent mappings may both be needed: follow them */
    for (size_t i = lo; i < n_readable && readable[i].start <= a; i++) {
        if (a + n <= readable[i].end)
            return 1;
        a = readable[i].end;
        n = 0;
    }
    return 0;
}

/* can_read for blocks visited in address order: *at follows them through
 * the mappings, so a block within one costs no search. */
static int can_read_next(size_t *at, uintptr_t a, size_t n)
{
    while (*at < n_readable && readable[*at].end <= a)
        ++*at;
    if (*at < n_readable && readable[*at].start <= a && a + n >= a && a + n <= readable[*at].end)
        return 1;
    return can_read(a, n);
}

static inline uintptr_t word(uintptr_t a) { return *(const uintptr_t *)a; }

/* Whether t is a type object: its own type is `type`, or a metatype of it. */
static int is_type(uintptr_t t)
{
    uintptr_t *seen = &types_seen[(t >> 4) % TYPES_SEEN];
    if (t && *seen == t)
        return 1;
    if (!t || t & 7 || !can_read(t, TYPE_SIZE))
        return 0;
    uintptr_t meta = word(t + OB_TYPE);
    if (meta != type_type && !(meta && !(meta & 7) && can_read(meta, TYPE_SIZE) && word(meta + OB_TYPE) == type_type &&
                               (word(meta + TP_FLAGS) & TYPE_SUBCLASS)))
        return 0;
    *seen = t;
    return 1;
}

/* The object's type if a Python object of a type with head 16-byte units
 * before it starts at o, in a block that ends at end; else 0. An object
 * with refcount 0 is dead, kept on a free list for reuse: *dead is set.
 * The block's
 * size must be what CPython allocates for the type: exactly its basic size
 * (with the head) for a fixed-size type, at least that for a variable-size
 * one (not every one has ob_size: a frame's items are its own), and a str's
 * a compact one's at least. */
static uintptr_t object_type(uintptr_t o, uintptr_t end, unsigned head, int *dead)
{
    if (o + 16 > end)
        return 0;
    uintptr_t refcnt = word(o + OB_REFCNT), t = word(o + OB_TYPE);
    /* a count, not an address: a struct of pointers (a module's state) may
     * hold a type at its second word */
    if (refcnt > (1ul << 40) || can_read(refcnt, 8) || !is_type(t))
        return 0;
    uint64_t flags = word(t + TP_FLAGS);
    if (!(flags & HAVE_GC) != !head || (head == 2) != !!(flags & MANAGED_DICT))
        return 0;
    uint64_t basic = word(t + TP_BASICSIZE), item = word(t + TP_ITEMSIZE), size = end - o;
    if (basic < 16 || basic > size)
        t = t == str_type && size >= STR_COMPACT ? t : 0;
    else if (basic != size && !item && t != str_type)
        t = 0;
    *dead = t && !refcnt;
    return t;
}

/* ---- type names -> type ids, cached by type object ---- */

#define CACHE 512
static struct {
    uintptr_t type;
    uint32_t id;
} cache[CACHE];

static uint32_t intern(const char *name)
{
    int is_new;
    uint32_t id = type_table_intern(name, &is_new);
    if (id && is_new) {
        struct out_buf *ob = out_global_acquire(FMT_TYPE_ROOM(strlen(name)));
        if (ob) {
            fmt_put_type(out_fmt(ob), id, name);
            out_release(ob);
        }
    }
    return id;
}

static uint32_t type_id(uintptr_t t)
{
    size_t slot = (t >> 4) % CACHE;
    if (cache[slot].type == t)
        return cache[slot].id;
    uintptr_t name = word(t + TP_NAME);
    char buf[NAME_MAX_LEN + 1];
    size_t n = 0;
    while (n < NAME_MAX_LEN && can_read(name + n, 1)) {
        char c = *(const char *)(name + n);
        if (c == 0)
            break;
        if (c < 0x20 || c > 0x7e)
            return 0;
        buf[n++] = c;
    }
    if (n == 0 || n == NAME_MAX_LEN)
        return 0;
    buf[n] = 0;
    uint32_t id = intern(buf);
    cache[slot].type = t;
    cache[slot].id = id;
    return id;
}

/* ---- the snapshot at hand: what each block is, the objects' counts ---- */

/* Per block: WHAT_*, and which words are no reference: weak_at (a word's
 * offset in the block, 0 for none), all past live_end (if BOUNDED), a dead
 * object's (if DEAD; but its free list's link, python_edge_rules), a weak
 * reference's (if WEAKREF). */
enum { WHAT_NONE, WHAT_OWNED, WHAT_OBJECT };
enum { WEAKREF = 1, BOUNDED = 2, DEAD = 4, DEAD_TUPLE = 8 };
struct py_block {
    uint32_t live_end;
    uint16_t weak_at;
    uint8_t what, flags;
    uint8_t values_at; /* an instance's managed values: where its pointer points (past a prefix), or 0 */
};
/* Per object, in block order: its ob_refcnt and its value's hash. */
struct py_count {
    uint64_t refcount, value;
};
static struct {
    const struct live_block *blocks;
    size_t n, n_objects;
    struct py_block *per_block;
    struct py_count *counts;
} snap;

static void snap_free(void)
{
    if (snap.per_block)
        plat_unmap(snap.per_block, snap.n * sizeof *snap.per_block);
    if (snap.counts)
        plat_unmap(snap.counts, snap.n * sizeof *snap.counts);
    memset(&snap, 0, sizeof snap);
}

static int snap_alloc(const struct live_block *blocks, size_t n, int counts)
{
    snap_free();
    snap.per_block = plat_map_filled(n * sizeof *snap.per_block);
    snap.counts = counts ? plat_map_filled(n * sizeof *snap.counts) : NULL;
    snap.blocks = blocks;
    snap.n = n;
    if (snap.per_block && (snap.counts || !counts))
        return 0;
    snap_free();
    return -1;
}

/* The block that starts at a, or NULL; searched outward from block i, the
 * owner's: what an object owns was mostly allocated just before or after
 * it, and a search of the whole array (a peak snapshot names 100,000
 * lists' and dicts' storage) was half of naming the blocks. */
static struct live_block *block_near(struct live_block *blocks, size_t n, size_t i, uintptr_t a)
{
    size_t lo, hi, step = 1, j = i; /* the first block at or past a is in [lo, hi] */
    if (blocks[i].addr < a) {
        while (j + step < n && blocks[j + step].addr < a) {
            j += step;
            step *= 2;
        }
        lo = j + 1;
        hi = j + step < n ? j + step : n;
    } else {
        while (j >= step && blocks[j - step].addr >= a) {
            j -= step;
            step *= 2;
        }
        lo = j >= step ? j - step + 1 : 0;
        hi = j;
    }
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (blocks[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && blocks[lo].addr == a ? &blocks[lo] : NULL;
}

/* Names the block at a, if any, as storage the object in block i owns; its
 * words from live bytes on (if not UINT64_MAX) are no reference. */
static void name_owned(struct live_block *blocks, size_t n, size_t i, uintptr_t a, uint32_t *id, const char *name,
                       uint64_t live)
{
    struct live_block *b = a ? block_near(blocks, n, i, a) : NULL;
    if (!b || b->type_id)
        return;
    if (!*id)
        *id = intern(name);
    b->type_id = *id & ((1u << 22) - 1);
    struct py_block *p = &snap.per_block[b - blocks];
    p->what = WHAT_OWNED;
    if (live < b->size) {
        p->flags |= BOUNDED;
        p->live_end = (uint32_t)live;
    }
}

/* Whether type t is a weak reference's, or derives from one. */
static int is_weakref_type(uintptr_t t)
{
    for (int depth = 0; depth < 8 && t; depth++) {
        for (int k = 0; k < 3; k++)
            if (weak_types[k] && t == weak_types[k])
                return 1;
        t = word(t + TP_BASE);
        if (!is_type(t))
            return 0;
    }
    return 0;
}

/* A hash of the n words at a, mixed into h. */
static uint64_t hash_words(uint64_t h, uintptr_t a, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        h = (h ^ word(a + 8 * i)) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

/* A list's or tuple's value: a hash of its type and items (identical items
 * give equal values: [1, 2] == [1, 2]); 0 for other objects. */
static uint64_t value_of(uintptr_t o, uintptr_t t, uintptr_t end)
{
    uint64_t size = word(o + OB_SIZE), h = t * 0x9e3779b97f4a7c15ull ^ size;
    if (t == tuple_type)
        return size <= (end - o - TUPLE_ITEMS) / 8 ? hash_words(h, o + TUPLE_ITEMS, size) | 1 : 0;
    uintptr_t items = word(o + LIST_OB_ITEM);
    if (t != list_type || size > (1ul << 32) || (size && !can_read(items, size * 8)))
        return 0;
    return hash_words(h, items, size) | 1;
}

/* The facts of the object of type t that starts o bytes into block i. */
static void note_object(size_t i, uintptr_t o, uintptr_t t)
{
    const struct live_block *b = &snap.blocks[i];
    struct py_block *p = &snap.per_block[i];
    p->what = WHAT_OBJECT;
    uint64_t weaklist = word(t + TP_WEAKLISTOFFSET);
    if (weaklist && weaklist + 8 <= b->addr + b->size - o && o - b->addr + weaklist < 0x10000)
        p->weak_at = (uint16_t)(o - b->addr + weaklist);
    if (o + WEAKREF_SIZE <= b->addr + b->size && is_weakref_type(t))
        p->flags |= WEAKREF;
    if (snap.counts)
        snap.counts[snap.n_objects++] = (struct py_count){ word(o + OB_REFCNT), value_of(o, t, b->addr + b->size) };
}

void python_type_blocks(struct live_block *blocks, size_t n, int scanned)
{
    snap_free();
    if (!type_type || !n || readable_read() != 0 || snap_alloc(blocks, n, scanned) != 0)
        return;
    memset(cache, 0, sizeof cache);
    uint32_t items = 0, keys = 0, values = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        struct live_block *b = &blocks[i];
        uintptr_t end = b->addr + b->size;
        if (i + 8 < n) /* its type is read below: ask for it early (a prefetch never faults) */
            __builtin_prefetch((const void *)(blocks[i + 8].addr + 8));
        if (b->size < 16 || !can_read_next(&at, b->addr, b->size))
            continue;
        if (snap.per_block[i].what == WHAT_OWNED) /* an object's storage, named before */
            continue;
        unsigned head = 0; /* where the object starts, in units of 16 bytes */
        uintptr_t t = 0;
        int dead = 0;
        while (!t && head < 3 && !(t = object_type(b->addr + 16u * head, end, head, &dead)))
            head++;
        if (!t)
            continue;
        b->py_head = head; /* the free lists point past a dead one's PyGC_Head too */
        if (dead) { /* its words are stale but its free list's link (see python_edge_rules) */
            snap.per_block[i].flags |= DEAD | (t == tuple_type && head == 1 ? DEAD_TUPLE : 0);
            continue;
        }
        uintptr_t o = b->addr + 16u * head;
        note_object(i, o, t);
        uint32_t id = b->type_id ? 0 : type_id(t);
        if (id)
            b->type_id = id & ((1u << 22) - 1);
        if (head == 2) { /* the managed dict's values, before the GC header */
            uintptr_t v = word(b->addr); /* past a prefix whose size is its last byte */
            if (v && can_read(v - 1, 1)) {
                uint8_t prefix = *(const uint8_t *)(v - 1);
                struct live_block *vb = block_near(blocks, n, i, v - prefix);
                name_owned(blocks, n, i, v - prefix, &values, "dict values", UINT64_MAX);
                if (vb && snap.per_block[vb - blocks].what == WHAT_OWNED)
                    snap.per_block[vb - blocks].values_at = prefix;
            }
        }
        if (t == list_type) {
            uint64_t size = word(o + OB_SIZE);
            name_owned(blocks, n, i, word(o + LIST_OB_ITEM), &items, "list items", size < (1ul << 40) ? 8 * size : 0);
        } else if (t == dict_type) {
            name_owned(blocks, n, i, word(o + DICT_MA_KEYS), &keys, "dict keys", UINT64_MAX);
            name_owned(blocks, n, i, word(o + DICT_MA_VALUES), &values, "dict values", UINT64_MAX);
        }
    }
}

/* ---- the interpreter's data stacks ---- */

/* 3.11's PyThreadState: datastack_chunk at 296, datastack_top at 304,
 * datastack_limit at 312; a _PyStackChunk: previous at 0, size at 8, top
 * (in words, saved when a newer chunk is pushed) at 16, data from 24. */
enum { TS_CHUNK = 296, TS_TOP = 304, TS_LIMIT = 312, TS_SIZE = 320, CHUNK_DATA = 24 };

/* Leaves out, by skip, the part of a chunk above its top: frames popped
 * there leave the objects they held behind, no longer references. */
static void dead_chunk(uintptr_t chunk, uintptr_t top, void (*skip)(uintptr_t, uintptr_t, void *), void *arg)
{
    uint64_t size = word(chunk + 8);
    if (top >= chunk + CHUNK_DATA && top <= chunk + size && (top & 7) == 0)
        skip(top, chunk + size, arg);
}

void python_dead_stacks(void (*skip)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
    if (!type_type || python_minor != 11 || !interp_head || !interp_next || !thread_head || !thread_next)
        return;
    int interps = 0;
    for (void *in = interp_head(); in && interps++ < 64; in = interp_next(in)) {
        int threads = 0;
        for (void *ts = thread_head(in); ts && threads++ < 4096; ts = thread_next(ts)) {
            uintptr_t t = (uintptr_t)ts;
            if (!can_read(t, TS_SIZE))
                break;
            uintptr_t chunk = word(t + TS_CHUNK), top = word(t + TS_TOP);
            /* checked: the limit is where the chunk ends */
            int chunks = 0;
            while (chunk && can_read(chunk, CHUNK_DATA) && chunks++ < 1024 &&
                   (chunks > 1 || word(t + TS_LIMIT) == chunk + word(chunk + 8))) {
                dead_chunk(chunk, top, skip, arg);
                uintptr_t prev = word(chunk);
                if (!prev || !can_read(prev, CHUNK_DATA))
                    break;
                top = prev + CHUNK_DATA + 8 * word(prev + 16);
                chunk = prev;
            }
        }
    }
}

unsigned python_interior_rules(size_t dst, uint64_t off)
{
    return snap.per_block && dst < snap.n && snap.per_block[dst].values_at &&
                   off == snap.per_block[dst].values_at
               ? FMT_HEUR_PYGC
               : 0;
}

/* A dead object (refcount 0, on a free list) holds what it held when it
 * died: a list its item array, freed since and maybe another object now
 * (malloc gives the same size back), a dict its keys. None of that is a
 * reference. Only a free list's link is, and it points at another dead
 * object: a tuple's first item, a context's ctx_prev, a MemoryError's
 * dict; other free lists are arrays in the interpreter. */
unsigned python_edge_rules(size_t src, uint64_t off, size_t dst)
{
    if (!snap.per_block || src >= snap.n)
        return 0;
    const struct py_block *p = &snap.per_block[src];
    uint64_t o = 16u * snap.blocks[src].py_head;
    if ((p->weak_at && off == p->weak_at) || ((p->flags & BOUNDED) && off >= p->live_end))
        return FMT_EDGE_NOT_REF;
    if ((p->flags & DEAD) && (dst >= snap.n || !(snap.per_block[dst].flags & DEAD) ||
                              ((p->flags & DEAD_TUPLE) && off != GC_HEAD + TUPLE_ITEMS)))
        return FMT_EDGE_NOT_REF;
    if ((p->flags & WEAKREF) && (off == o + WR_OBJECT || off == o + WR_PREV || off == o + WR_NEXT))
        return FMT_EDGE_NOT_REF;
    return 0;
}

void python_put_objects(void)
{
    if (!snap.counts) { /* a snapshot not scanned: its objects' counts are read by nothing */
        snap_free();
        return;
    }
    size_t have = 0, next = 0;
    for (size_t i = 0; i < snap.n; i++)
        have += snap.per_block[i].what != WHAT_NONE;
    const size_t batch = 8192;
    for (size_t i = 0; i < snap.n && have;) {
        size_t k = have < batch ? have : batch;
        struct out_buf *ob = out_global_acquire(FMT_OBJECTS_ROOM(k));
        if (!ob)
            break;
        struct fmt_buf *b = out_fmt(ob);
        fmt_put_objects(b, k);
        for (size_t put = 0; put < k; i++) {
            const struct py_block *p = &snap.per_block[i];
            if (p->what == WHAT_NONE)
                continue;
            if (p->what == WHAT_OWNED) {
                fmt_put_object(b, snap.blocks[i].addr, 0, 0, 0);
            } else {
                const struct py_count *c = &snap.counts[next++];
                fmt_put_object(b, snap.blocks[i].addr, 1 + 2u * snap.blocks[i].py_head, c->refcount, c->value);
            }
            put++;
        }
        out_release(ob);
        have -= k;
    }
    snap_free();
}

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
 * What of the interpreter's layout is assumed, for 3.8 to 3.13 (Py_Version
 * is checked at start; another version gets one line, and its blocks stay
 * untyped: the C view is whole):
 *   an object: ob_refcnt at 0, ob_type at 8;
 *   a type: tp_name at 24, tp_basicsize at 32, tp_flags at 168
 *     (Py_TPFLAGS_HAVE_GC 1 << 14, Py_TPFLAGS_TYPE_SUBCLASS 1 << 31);
 *   a list: ob_item at 24; a dict: ma_keys at 32, ma_values at 40;
 *   PyGC_Head: 16 bytes before a GC object; and before that, for a type
 *   with Py_TPFLAGS_MANAGED_DICT (1 << 4, 3.11 and later: instances of
 *   classes), its values pointer and its dict pointer, so that the object
 *   is 32 bytes into its block; the values' own block starts the byte
 *   before them says how many bytes earlier.
 * Nothing is trusted: a word is a type only if it points at readable memory
 * whose own type is `type` (PyType_Type, or a metatype whose type is), whose
 * GC flag agrees with where the object starts, whose fixed size fits in the
 * block, and whose name is a short printable string. Every read is checked
 * against the process's readable mappings first.
 */
#include "internal.h"

#include <string.h>

enum {
    OB_REFCNT = 0, OB_TYPE = 8, TP_NAME = 24, TP_BASICSIZE = 32, TP_FLAGS = 168, TYPE_SIZE = 176,
    GC_HEAD = 16, LIST_OB_ITEM = 24, DICT_MA_KEYS = 32, DICT_MA_VALUES = 40,
};
#define HAVE_GC (1ul << 14)
#define MANAGED_DICT (1ul << 4)
#define TYPE_SUBCLASS (1ul << 31)
#define NAME_MAX_LEN 96

static uintptr_t type_type, list_type, dict_type; /* PyType_Type, PyList_Type, PyDict_Type; 0: not CPython */

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
    if (major != 3 || minor < 8 || minor > 13) {
        if (version)
            plat_warn_once("CPython %u.%u: its layout is not one heapscope knows; its objects are not typed "
                           "(the C view is whole)", major, minor);
        else
            plat_warn_once("CPython before 3.11 (no Py_Version): its objects are not typed (the C view is whole)");
        return;
    }
    list_type = (uintptr_t)symbol("PyList_Type");
    dict_type = (uintptr_t)symbol("PyDict_Type");
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

static int readable_read(void)
{
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

/* Whether [a, a + n) is readable (the mappings are sorted). */
static int can_read(uintptr_t a, size_t n)
{
    if (a + n < a)
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

static inline uintptr_t word(uintptr_t a) { return *(const uintptr_t *)a; }

/* Whether t is a type object: its own type is `type`, or a metatype of it. */
static int is_type(uintptr_t t)
{
    if (!t || t & 7 || !can_read(t, TYPE_SIZE))
        return 0;
    uintptr_t meta = word(t + OB_TYPE);
    if (meta == type_type)
        return 1;
    return meta && !(meta & 7) && can_read(meta, TYPE_SIZE) && word(meta + OB_TYPE) == type_type &&
           (word(meta + TP_FLAGS) & TYPE_SUBCLASS);
}

/* The object's type if a Python object (GC or not, as gc says) starts at o
 * within [o, end); else 0. */
static uintptr_t object_type(uintptr_t o, uintptr_t end, int gc)
{
    if (o + 16 > end)
        return 0;
    uintptr_t refcnt = word(o + OB_REFCNT), t = word(o + OB_TYPE);
    if (refcnt == 0 || refcnt > (1ul << 40) || !is_type(t))
        return 0;
    if (!(word(t + TP_FLAGS) & HAVE_GC) != !gc)
        return 0;
    uintptr_t basic = word(t + TP_BASICSIZE);
    return basic >= 16 && basic <= end - o ? t : 0;
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

/* The block that starts at a, or NULL. */
static struct live_block *block_at(struct live_block *blocks, size_t n, uintptr_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (blocks[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && blocks[lo].addr == a ? &blocks[lo] : NULL;
}

static void name_owned(struct live_block *blocks, size_t n, uintptr_t a, uint32_t *id, const char *name)
{
    struct live_block *b = a ? block_at(blocks, n, a) : NULL;
    if (!b || b->type_id)
        return;
    if (!*id)
        *id = intern(name);
    b->type_id = *id & ((1u << 22) - 1);
}

void python_type_blocks(struct live_block *blocks, size_t n)
{
    if (!type_type || !n || readable_read() != 0)
        return;
    memset(cache, 0, sizeof cache);
    uint32_t items = 0, keys = 0, values = 0;
    for (size_t i = 0; i < n; i++) {
        struct live_block *b = &blocks[i];
        uintptr_t end = b->addr + b->size;
        if (b->size < 16 || !can_read(b->addr, b->size))
            continue;
        unsigned head = 0; /* where the object starts, in units of 16 bytes */
        uintptr_t t = object_type(b->addr, end, 0);
        if (!t)
            t = object_type(b->addr + GC_HEAD, end, 1), head = 1;
        if (!t) {
            t = object_type(b->addr + 2 * GC_HEAD, end, 1), head = 2;
            if (t && !(word(t + TP_FLAGS) & MANAGED_DICT))
                t = 0;
        }
        if (!t)
            continue;
        uintptr_t o = b->addr + 16u * head;
        b->py_head = head;
        uint32_t id = b->type_id ? 0 : type_id(t);
        if (id)
            b->type_id = id & ((1u << 22) - 1);
        if (head == 2) { /* the managed dict's values, before the GC header */
            uintptr_t v = word(b->addr); /* past a prefix whose size is its last byte */
            if (v && can_read(v - 1, 1))
                name_owned(blocks, n, v - *(const uint8_t *)(v - 1), &values, "dict values");
        }
        if (t == list_type)
            name_owned(blocks, n, word(o + LIST_OB_ITEM), &items, "list items");
        else if (t == dict_type) {
            name_owned(blocks, n, word(o + DICT_MA_KEYS), &keys, "dict keys");
            name_owned(blocks, n, word(o + DICT_MA_VALUES), &values, "dict values");
        }
    }
}

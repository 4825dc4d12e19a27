/*
 * The heap graph of a snapshot: roots, a conservative pointer scan, and the
 * edges found. Every aligned word of every root region and live block that
 * points at the start or into the middle of a live block is an edge.
 *
 * Roots: the writable PT_LOAD segments of every module but ours, each
 * program thread's stack from its stack pointer up, its registers, its static
 * TLS (and TCB), and blocks marked hs_ignore (those are scanned like any block;
 * the analyzer counts them as roots).
 *
 * Other threads are paused while the scan runs: each gets a real-time signal
 * whose handler saves its registers and waits. A thread inside the tracer
 * (guard held) does not pause in the handler but when it leaves the tracer,
 * so a paused thread never holds a tracer lock. A thread that does not pause
 * in time (it blocks the signal) has its stack scanned from the stack pointer
 * /proc reports for it, without registers.
 *
 * Nothing is read that /proc/self/maps does not show readable, so unmapped,
 * guard-page and PROT_NONE memory is skipped, not faulted on.
 *
 * Never allocates through the hooks; all memory comes from plat_map.
 */
#include "internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#define THREADS_MAX SCAN_THREADS_MAX
#define PAUSE_TIMEOUT_NS 500000000ull
#define TCB_SIZE 4096 /* room above the thread pointer for glibc's struct pthread */
#define MODULE_RANGES_MAX 4096
#define DEAD_TCB_SEARCH (64u << 10) /* the TCB sits this close to a thread stack's top, past static TLS */

/* ---------------------------------------------------------------- maps */

struct range {
    uintptr_t start, end;
};

enum {
    MAP_W = 1,       /* writable */
    MAP_X = 2,       /* executable */
    MAP_FILE = 4,    /* backed by a file (a vtable's and code's home) */
    MAP_BRK = 8,     /* [heap]: malloc's main arena */
    MAP_NOSCAN = 16, /* never a root: a device, or a file we cannot size */
};

struct map_entry {
    uintptr_t start, end;
    uintptr_t scan_end; /* below end where a file mapping passes the file's end (SIGBUS) */
    unsigned flags;
};

struct maps {
    struct map_entry *r; /* readable mappings, sorted, one per line of /proc/self/maps */
    size_t n, cap;
};

static void maps_free(struct maps *m) { plat_unmap(m->r, m->cap * sizeof *m->r); }

/* The last file sized: a file is mapped in several pieces, one after another. */
static char last_path[256];
static int64_t last_size = -1;

/* Where a file mapping stops being backed by its file: reading a
 * page past the file's end faults. A file that cannot be sized (deleted,
 * memfd) is not read at all. Shared anonymous memory and System V shared
 * memory show as files but cannot be cut short. */
static uintptr_t file_scan_end(uintptr_t start, uintptr_t end, unsigned long off, const char *path)
{
    if (strncmp(path, "/dev/zero", 9) == 0 || strncmp(path, "/SYSV", 5) == 0)
        return end;
    if (strncmp(path, "/dev/", 5) == 0)
        return start; /* device memory: reading it may hang or have effects */
    if (strncmp(path, last_path, sizeof last_path) != 0) {
        last_size = strstr(path, " (deleted)") ? -1 : plat_file_size(path);
        snprintf(last_path, sizeof last_path, "%s", path);
    }
    if (last_size < 0 || (uint64_t)last_size <= off)
        return start;
    uint64_t have = ((uint64_t)last_size - off + 4095) & ~(uint64_t)4095;
    return have < end - start ? start + have : end;
}

static void maps_add(const struct plat_mapping *pm, void *arg)
{
    struct maps *m = arg;
    const char *path = pm->path;
    if (!(pm->prot & PLAT_PROT_READ) || strncmp(path, "[vvar", 5) == 0 || strcmp(path, "[vsyscall]") == 0)
        return;
    if (m->n == m->cap) { /* grow */
        struct map_entry *r = plat_map(2 * m->cap * sizeof *r);
        if (!r)
            return;
        memcpy(r, m->r, m->n * sizeof *r);
        plat_unmap(m->r, m->cap * sizeof *m->r);
        m->r = r;
        m->cap *= 2;
    }
    struct map_entry *me = &m->r[m->n++];
    *me = (struct map_entry){ .start = pm->start, .end = pm->end, .scan_end = pm->end };
    me->flags |= pm->prot & PLAT_PROT_WRITE ? MAP_W : 0;
    me->flags |= pm->prot & PLAT_PROT_EXEC ? MAP_X : 0;
    if (path[0] == '/') {
        me->flags |= MAP_FILE;
        me->scan_end = file_scan_end(pm->start, pm->end, pm->offset, path);
        if (me->scan_end == pm->start)
            me->flags |= MAP_NOSCAN;
    } else if (strcmp(path, "[heap]") == 0) {
        me->flags |= MAP_BRK;
    }
}

static int maps_read(struct maps *m)
{
    m->cap = 4096;
    m->n = 0;
    last_path[0] = 0;
    if (!(m->r = plat_map(m->cap * sizeof *m->r)))
        return -ENOMEM;
    int err = plat_maps_foreach(maps_add, m);
    if (err)
        maps_free(m);
    return err;
}

/* The index of the first readable mapping that starts above addr. */
static size_t maps_after(const struct maps *m, uintptr_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->r[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The index of the readable mapping holding addr, or -1. */
static ssize_t maps_index(const struct maps *m, uintptr_t addr)
{
    size_t i = maps_after(m, addr);
    return i && addr < m->r[i - 1].end ? (ssize_t)(i - 1) : -1;
}

static const struct map_entry *maps_find(const struct maps *m, uintptr_t addr)
{
    ssize_t i = maps_index(m, addr);
    return i < 0 ? NULL : &m->r[i];
}

/* The start of the first readable mapping above addr (or the end of memory). */
static uintptr_t maps_next(const struct maps *m, uintptr_t addr)
{
    size_t i = maps_after(m, addr);
    return i < m->n ? m->r[i].start : UINTPTR_MAX;
}

/* Clips [*s, *e) to the readable memory that starts at *s (one mapping or
 * several back to back). 0 if nothing is. */
static int maps_clip(const struct maps *m, uintptr_t *s, uintptr_t *e)
{
    ssize_t i = maps_index(m, *s);
    if (i < 0)
        return 0;
    uintptr_t end = m->r[i].end;
    while (end < *e && (size_t)i + 1 < m->n && m->r[i + 1].start == end)
        end = m->r[++i].end;
    if (*e > end)
        *e = end;
    return *e > *s;
}

/* --------------------------------------------------------- range lists */

/* A growable list of address ranges (plat_map'd). */
struct ranges {
    struct range *r;
    size_t n, cap;
};

static void ranges_add(struct ranges *l, uintptr_t start, uintptr_t end)
{
    if (start >= end)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct range *r = plat_map(cap * sizeof *r);
        if (!r)
            return;
        if (l->r)
            memcpy(r, l->r, l->n * sizeof *r);
        plat_unmap(l->r, l->cap * sizeof *l->r);
        l->r = r;
        l->cap = cap;
    }
    l->r[l->n++] = (struct range){ start, end };
}

static void ranges_free(struct ranges *l) { plat_unmap(l->r, l->cap * sizeof *l->r); }

/* Sorts by start and merges overlaps. A shell sort: no libc sort, which may
 * call malloc while a paused thread holds malloc's lock. */
static void ranges_normalize(struct ranges *l)
{
    static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
    for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++)
        for (size_t i = gaps[g]; i < l->n; i++) {
            struct range v = l->r[i];
            size_t j = i;
            for (; j >= gaps[g] && l->r[j - gaps[g]].start > v.start; j -= gaps[g])
                l->r[j] = l->r[j - gaps[g]];
            l->r[j] = v;
        }
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (k && l->r[i].start <= l->r[k - 1].end) {
            if (l->r[i].end > l->r[k - 1].end)
                l->r[k - 1].end = l->r[i].end;
        } else {
            l->r[k++] = l->r[i];
        }
    }
    l->n = k;
}

/* ------------------------------------------------------ pausing threads */

struct paused {
    pid_t tid;
    int has_regs;
    uintptr_t sp, tp;
    uint64_t regs[PLAT_REGS];
};

static int pause_sig;
static struct paused slots[THREADS_MAX];
static atomic_uint n_slots, arrived;
static atomic_uint release_gen;
static atomic_int pausing; /* a scan wants threads paused */
static size_t tls_static_size;

static void pause_here(const void *context)
{
    /* the generation first: if the scan ends after this, we see it below */
    unsigned gen = atomic_load(&release_gen);
    if (!atomic_load(&pausing))
        return;
    unsigned i = atomic_fetch_add(&n_slots, 1);
    if (i < THREADS_MAX) {
        struct paused *p = &slots[i];
        p->tid = plat_gettid();
        p->tp = plat_thread_pointer();
        if (context) {
            p->has_regs = 1;
            plat_signal_context(context, &p->sp, p->regs);
        } else {
            /* leaving the tracer: our callee-saved registers are spilled
             * into this frame, which the stack scan covers */
            __builtin_unwind_init();
            p->has_regs = 0;
            p->sp = (uintptr_t)__builtin_frame_address(0);
        }
    }
    atomic_fetch_add(&arrived, 1);
    plat_futex_wake(&arrived, 1);
    while (atomic_load(&release_gen) == gen)
        plat_futex_wait(&release_gen, gen, 0);
}

static void on_pause_signal(int sig, siginfo_t *si, void *context)
{
    (void)sig;
    (void)si;
    if (!atomic_load(&pausing))
        return;
    int saved = errno;
    if (rec_self.guard)
        rec_self.pause_pending = 1; /* pause on the way out of the tracer */
    else
        pause_here(context);
    errno = saved;
}

void scan_pause_deferred(void)
{
    rec_self.pause_pending = 0;
    if (atomic_load(&pausing))
        pause_here(NULL);
}

/* The writer thread, by the name it is given when created (its tid may not
 * be known yet if it has not run). */
static int is_tracer_thread(pid_t tid)
{
    char comm[32];
    return plat_thread_name(tid, comm, sizeof comm) > 0 && strcmp(comm, OUT_WRITER_NAME) == 0;
}

/* The stack pointer of a thread blocked in a system call, or 0. */
static uintptr_t blocked_sp(pid_t tid)
{
    uintptr_t sp;
    return plat_thread_blocked_sp(tid, &sp) == 0 ? sp : 0;
}

/* The threads a scan sends the pause signal to. */
struct signalled {
    pid_t self, writer;
    unsigned n;
    pid_t tid[THREADS_MAX];
};

static int signal_one(pid_t tid, void *arg)
{
    struct signalled *s = arg;
    if (tid != s->self && tid != s->writer && !is_tracer_thread(tid) && plat_tgkill(tid, pause_sig) == 0)
        s->tid[s->n++] = tid;
    return s->n == THREADS_MAX;
}

/* Pauses every thread but ours and the tracer's own. Threads that do not
 * arrive in time are listed in *late. */
static void pause_others(__typeof__(((struct scan_result *)0)->late) *late)
{
    late->n = 0;
    atomic_store(&n_slots, 0);
    atomic_store(&arrived, 0);
    if (!pause_sig && (pause_sig = plat_signal_claim_unused(on_pause_signal, 1)) < 0) {
        pause_sig = 0;
        return;
    }
    atomic_store(&pausing, 1);
    struct signalled sent = { .self = plat_gettid(), .writer = out_writer_tid() };
    plat_threads_foreach(signal_one, &sent); /* (none if it cannot be read) */
    uint64_t deadline = plat_now_ns() + PAUSE_TIMEOUT_NS;
    unsigned got;
    while ((got = atomic_load(&arrived)) < sent.n && plat_now_ns() < deadline)
        plat_futex_wait(&arrived, got, 1000000);
    unsigned n = atomic_load(&n_slots);
    for (unsigned i = 0; i < sent.n; i++) {
        int found = 0;
        for (unsigned k = 0; k < n && k < THREADS_MAX && !found; k++)
            found = slots[k].tid == sent.tid[i];
        if (!found)
            late->tid[late->n++] = sent.tid[i];
    }
}

static void resume_others(void)
{
    atomic_store(&pausing, 0);
    atomic_fetch_add(&release_gen, 1);
    plat_futex_wake(&release_gen, INT32_MAX);
}

/* ----------------------------------------------------------- scanning */

struct scan {
    const struct live_block *blocks;
    size_t n;
    uintptr_t lo, hi; /* the span of the heap: a quick first test */
    struct scan_result *out;
    const struct maps *maps;
    struct range mods[MODULE_RANGES_MAX];
    size_t n_mods;
    /* memory scanned already (module data, stacks, TLS) or never to be
     * (malloc's heap, the tracer's own, stack below its pointer): the
     * rest of the writable mappings are roots of kind FMT_ROOT_MAPPING */
    struct ranges skip;
    struct ranges own; /* the tracer's own mappings, sorted: never a root, not even in TLS or a stack */
    uint8_t *readable; /* per block: all of it can be read */
};

static int grow_edges(struct scan_result *r)
{
    /* The first array's pages come as edges do (a small heap needs few of
     * its 2 MiB); a larger one is about to be half filled by the copy, and
     * faulted in page by page was 40% of a scan of 4M blocks. */
    size_t cap = r->edges_cap ? r->edges_cap * 2 : 65536;
    struct scan_edge *e = r->edges ? plat_map_filled(cap * sizeof *e) : plat_map(cap * sizeof *e);
    if (!e)
        return -1;
    if (r->edges) {
        memcpy(e, r->edges, r->n_edges * sizeof *e);
        plat_unmap(r->edges, r->edges_cap * sizeof *r->edges);
    }
    r->edges = e;
    r->edges_cap = cap;
    return 0;
}

/* glibc keeps the header of the chunk after a block in that block's last
 * usable 8 bytes, and its bins (in libc's data, a root) point at free
 * chunks' headers. Such a pointer is the allocator's, not the program's:
 * counting it would make the block before a free chunk "possibly lost". */
static inline int allocator_header(const struct live_block *b, uintptr_t w)
{
    uintptr_t off = w - b->addr;
    if (off == 0 || off + 8 < b->size || (w & 15) != 0)
        return 0;
    return off + 8 == malloc_usable_size((void *)b->addr);
}

/* The block holding addr, or -1. */
static inline ssize_t block_at(const struct scan *s, uintptr_t addr)
{
    if (addr < s->lo || addr >= s->hi)
        return -1;
    size_t lo = 0, hi = s->n;
    while (lo < hi) { /* the last block starting at or before addr */
        size_t mid = (lo + hi) / 2;
        if (s->blocks[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct live_block *b = &s->blocks[lo - 1];
    if (addr < b->addr + b->size || addr == b->addr)
        return (ssize_t)(lo - 1);
    return -1;
}

/* ---------------------------------------------- interior-pointer rules */

/* valgrind's test for a C++ vtable (mc_leakcheck.c): in a readable file
 * mapping, with two non-null words among its first twenty before any word
 * that is neither null nor a pointer into executable file-backed code.
 * Answers are cached for the scan. */
#define VTABLE_CACHE 4096
static struct {
    uintptr_t addr;
    uint8_t is;
} vtable_cache[VTABLE_CACHE];

static int is_vtable(const struct scan *s, uintptr_t addr)
{
    size_t slot = (addr >> 3) * 0x9e3779b97f4a7c15ull >> 52;
    if (vtable_cache[slot].addr == addr)
        return vtable_cache[slot].is;
    int is = 0, fns = 0;
    const struct map_entry *me = maps_find(s->maps, addr);
    if (me && (me->flags & MAP_FILE) && addr + 8 <= me->scan_end) {
        uintptr_t last = addr + 20 * 8;
        if (last + 8 > me->scan_end) /* not past the file's end */
            last = me->scan_end - 8;
        for (uintptr_t p = addr; p <= last && !is; p += 8) {
            uintptr_t fn = *(const uintptr_t *)p;
            if (!fn)
                continue;
            const struct map_entry *fe = maps_find(s->maps, fn);
            if (!fe || (fe->flags & (MAP_FILE | MAP_X)) != (MAP_FILE | MAP_X))
                break;
            is = ++fns == 2;
        }
    }
    vtable_cache[slot].addr = addr;
    vtable_cache[slot].is = (uint8_t)is;
    return is;
}

static int vtable_word(const struct scan *s, uintptr_t w)
{
    return (w & 7) == 0 && w >= 4096 && is_vtable(s, w);
}

/* Which of the interior-pointer rules explain a pointer at src (in the
 * region [lo, hi), or NULL for a register) to off bytes into block b:
 * valgrind's four heuristics, as mc_leakcheck.c defines them, and glibc's
 * thread control block pointing at its DTV (allocated with a length word
 * before the array it points at). The analyzer applies those the user
 * chose; all are computed here, where the memory can be read. */
static unsigned interior_rules(const struct scan *s, const uintptr_t *src, uintptr_t lo, uintptr_t hi,
                               const struct live_block *b, uint64_t off)
{
    unsigned rules = 0;
    if (!s->readable[b - s->blocks])
        return 0;
    const uint64_t *w = (const uint64_t *)b->addr;
    if (off == 3 * 8 && b->size >= 2 * 8 && 3 * 8 + w[1] + 1 == b->size && w[0] <= w[1])
        rules |= FMT_HEUR_STDSTRING; /* length, capacity, refcount, then the characters */
    if (off == 8 && w[0] > 0) {
        if (b->size - 8 == w[0])
            rules |= FMT_HEUR_LENGTH64; /* the length of what follows */
        if ((b->size - 8) % w[0] == 0)
            rules |= FMT_HEUR_NEWARRAY; /* new[]'s element count, then the elements */
    }
    if ((off & 7) == 0 && off + 8 <= b->size && vtable_word(s, w[off / 8]) && vtable_word(s, w[0]))
        rules |= FMT_HEUR_MULTIPLE_INHERITANCE; /* a secondary base's vtable pointer */
    if (off == 16 && src && (uintptr_t)src >= lo + 8 && (uintptr_t)(src + 2) <= hi &&
        src[-1] == (uintptr_t)(src - 1) && src[1] == (uintptr_t)(src - 1))
        rules |= FMT_HEUR_DTV; /* tcbhead_t: tcb (itself), dtv, self (the tcb) */
    if (b->py_head && off == 16u * b->py_head)
        rules |= FMT_HEUR_PYGC; /* a CPython GC object, past its PyGC_Head (and managed dict) */
    rules |= python_interior_rules((size_t)(b - s->blocks), off); /* an instance's values, past their prefix */
    return rules;
}

/* A pointer to a CPython GC object's PyGC_Head: the collector's lists link
 * every GC object through it, and the roots (its generations, in the
 * interpreter's globals) reach them all so; references point past it. */
static inline unsigned gc_list(const struct live_block *b, uint64_t off)
{
    return b->py_head && off == 16u * (b->py_head - 1) ? FMT_EDGE_GC_LIST : 0;
}

static int add_edge(struct scan *s, uint32_t src, int src_is_root, uint64_t src_off, size_t dst, uint64_t dst_off,
                    unsigned rules)
{
    struct scan_result *r = s->out;
    if (r->n_edges == r->edges_cap && grow_edges(r) != 0)
        return -1;
    r->edges[r->n_edges++] = (struct scan_edge){ .src = src, .src_is_root = (uint8_t)src_is_root,
                                                 .rules = (uint8_t)rules, .src_off = src_off,
                                                 .dst = (uint32_t)dst, .dst_off = dst_off };
    return 0;
}

/* Scans [start, end) as words; returns its content hash. */
static uint64_t scan_words(struct scan *s, uintptr_t start, uintptr_t end, uint32_t src, int is_root)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    uintptr_t a = (start + 7) & ~(uintptr_t)7;
    for (uintptr_t p = start; p < a && p < end; p++) /* unaligned head: hashed only */
        h = (h ^ *(const uint8_t *)p) * 0x100000001b3ull;
    for (; a + 8 <= end; a += 8) {
        uintptr_t w = *(const uintptr_t *)a;
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
        ssize_t b = block_at(s, w);
        if (b < 0 || allocator_header(&s->blocks[b], w))
            continue;
        uint64_t off = w - s->blocks[b].addr;
        unsigned rules = off ? interior_rules(s, (const uintptr_t *)a, start, end, &s->blocks[b], off) : 0;
        rules |= gc_list(&s->blocks[b], off);
        if (!is_root)
            rules |= python_edge_rules(src, a - start, (size_t)b);
        add_edge(s, src, is_root, a - start, (size_t)b, off, rules);
    }
    for (; a < end; a++)
        h = (h ^ *(const uint8_t *)a) * 0x100000001b3ull;
    return h;
}

static uint32_t add_root(struct scan_result *r, unsigned kind, uintptr_t start, uintptr_t end, pid_t tid)
{
    if (r->n_roots == r->roots_cap) {
        size_t cap = r->roots_cap ? r->roots_cap * 2 : 1024;
        struct scan_root *n = plat_map(cap * sizeof *n);
        if (!n)
            return UINT32_MAX;
        if (r->roots)
            memcpy(n, r->roots, r->n_roots * sizeof *n);
        plat_unmap(r->roots, r->roots_cap * sizeof *r->roots);
        r->roots = n;
        r->roots_cap = cap;
    }
    r->roots[r->n_roots] = (struct scan_root){ .kind = kind, .start = start, .end = end, .tid = tid };
    return (uint32_t)r->n_roots++;
}

/* Scans the readable parts of [start, end) as roots of one kind. */
static void scan_root_region(struct scan *s, unsigned kind, uintptr_t start, uintptr_t end, pid_t tid)
{
    start &= ~(uintptr_t)7;
    for (uintptr_t p = start; p < end;) {
        uintptr_t e = end;
        if (!maps_clip(s->maps, &p, &e)) {
            p = maps_next(s->maps, p);
            continue;
        }
        /* the tracer's own memory may lie inside the range asked (zstd's
         * workspace mapped next to a thread's TLS): its words are ours */
        int inside = 0;
        for (size_t i = 0; i < s->own.n && s->own.r[i].start < e; i++) {
            if (s->own.r[i].end <= p)
                continue;
            if (s->own.r[i].start <= p) {
                p = s->own.r[i].end;
                inside = 1;
                break;
            }
            e = s->own.r[i].start;
            break;
        }
        if (inside || p >= e)
            continue;
        ranges_add(&s->skip, p, e);
        uint32_t id = add_root(s->out, kind, p, e, tid);
        if (id != UINT32_MAX)
            scan_words(s, p, e, id, 1);
        p = e;
    }
}

/* Writable segments of every module but ours are roots; every module's
 * loaded range is remembered, to keep only block first words that point
 * into a module (a C++ vtable pointer, possibly). */
static void segment_roots(const struct plat_segment *seg, void *arg)
{
    struct scan *s = arg;
    if (s->n_mods < MODULE_RANGES_MAX)
        s->mods[s->n_mods++] = (struct range){ seg->start, seg->end };
    if (!seg->writable)
        return;
    if (seg->ours) /* the tracer's own data: never a root */
        ranges_add(&s->skip, seg->start & ~(uintptr_t)4095, (seg->end + 4095) & ~(uintptr_t)4095);
    else
        scan_root_region(s, FMT_ROOT_GLOBAL, seg->start, seg->end, 0);
}

static int in_module(const struct scan *s, uintptr_t w)
{
    for (size_t i = 0; i < s->n_mods; i++)
        if (w >= s->mods[i].start && w < s->mods[i].end)
            return 1;
    return 0;
}

static void thread_roots(struct scan *s, pid_t tid, uintptr_t sp, uintptr_t tp, const uint64_t *regs)
{
    /* the stack, from the stack pointer to the end of its mapping; what is
     * below the pointer is dead frames, never a root */
    const struct map_entry *st = sp ? maps_find(s->maps, sp) : NULL;
    if (st) {
        ranges_add(&s->skip, st->start, sp & ~(uintptr_t)7);
        scan_root_region(s, FMT_ROOT_STACK, sp, st->end, tid);
    }
    /* static TLS and the TCB around the thread pointer, unless the stack
     * scan already covered them (threads other than the first keep them at
     * the top of their stack mapping) */
    if (tp && !(st && tp >= sp && tp < st->end)) {
        uintptr_t below = tls_static_size ? tls_static_size : 4096;
        scan_root_region(s, FMT_ROOT_TLS, tp - below, tp + TCB_SIZE, tid);
    }
    if (regs) {
        uint32_t id = add_root(s->out, FMT_ROOT_REGISTERS, 0, PLAT_REGS * 8, tid);
        for (int i = 0; id != UINT32_MAX && i < PLAT_REGS; i++) {
            ssize_t b = block_at(s, (uintptr_t)regs[i]);
            if (b < 0)
                continue;
            uint64_t off = regs[i] - s->blocks[b].addr;
            add_edge(s, id, 1, (uint64_t)i * 8, (size_t)b, off,
                     (off ? interior_rules(s, NULL, 0, 0, &s->blocks[b], off) : 0) | gc_list(&s->blocks[b], off));
        }
    }
}

/* Which blocks can be read whole: both lists are in address order, so one
 * walk over them (a lookup per block was a tenth of a big heap's scan). */
static void blocks_readable(struct scan *s)
{
    const struct maps *m = s->maps;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        uintptr_t start = s->blocks[i].addr, end = start + s->blocks[i].size;
        while (k < m->n && m->r[k].end <= start)
            k++;
        if (k == m->n || m->r[k].start > start)
            s->readable[i] = 0;
        else if (end <= m->r[k].end)
            s->readable[i] = 1;
        else /* across mappings */
            s->readable[i] = maps_clip(m, &start, &end) && end == s->blocks[i].addr + s->blocks[i].size;
    }
}

/* The stacks of exited threads that glibc keeps for reuse hold only dead
 * frames: not roots, as the part of a live stack below its pointer is not.
 * Such a mapping is known by the thread control block at its top (tcbhead_t:
 * its first and third words point at itself) and by holding no live
 * thread's stack pointer or thread pointer. Its TCB's first words stay a
 * root: glibc keeps the thread's DTV, reached from there, for the next
 * thread. If a thread's stack pointer is unknown, no stack is taken for
 * dead. */
static void skip_dead_stacks(struct scan *s, const uintptr_t *live, size_t n_live)
{
    const struct maps *m = s->maps;
    for (size_t k = 0; k < m->n; k++) {
        const struct map_entry *me = &m->r[k];
        if ((me->flags & (MAP_W | MAP_FILE | MAP_BRK | MAP_NOSCAN)) != MAP_W || me->end - me->start < 3 * 8)
            continue;
        int alive = 0;
        for (size_t i = 0; i < n_live && !alive; i++)
            alive = live[i] >= me->start && live[i] < me->end;
        if (alive)
            continue;
        uintptr_t lo = me->end - me->start > DEAD_TCB_SEARCH ? me->end - DEAD_TCB_SEARCH : me->start;
        for (uintptr_t tp = (me->end - 3 * 8) & ~(uintptr_t)7; tp >= lo; tp -= 8) {
            const uintptr_t *w = (const uintptr_t *)tp;
            if (w[0] == tp && w[2] == tp) {
                ranges_add(&s->skip, me->start, me->end);
                scan_root_region(s, FMT_ROOT_TLS, tp, tp + 3 * 8, 0);
                break;
            }
        }
    }
}

/* ------------------------------------------------------- malloc's heap */

/* Whether the program's malloc is glibc's, whose chunk and heap layout
 * tells where its memory is (set by scan_init). */
static int glibc_malloc;

#define CHUNK_MMAPPED 2ull       /* glibc chunk header bits */
#define CHUNK_NON_MAIN_ARENA 4ull
#define HEAP_MAX (64ull << 20)   /* glibc's HEAP_MAX_SIZE on 64-bit */

/* A glibc thread arena's heap at h (HEAP_MAX-aligned) starts with its
 * heap_info: the arena (just after it, in the arena's first heap; else in
 * that first heap), the previous heap (null or HEAP_MAX-aligned), and the
 * used and read-write sizes. Its read-write size (past the used size, what
 * a shrunk heap gave back: free memory, stale pointers), or 0 if h holds no
 * heap. */
static uint64_t arena_heap_size(const struct maps *m, uintptr_t h)
{
    const struct map_entry *me = maps_find(m, h);
    if (!me || (me->flags & (MAP_W | MAP_FILE)) != MAP_W || h + 32 > me->end)
        return 0;
    const uint64_t *hi = (const uint64_t *)h;
    uint64_t arena = hi[0], prev = hi[1], size = hi[2], rw = hi[3];
    int arena_ok = (arena - h >= 32 && arena - h < 256) || (arena % HEAP_MAX < 256 && arena / HEAP_MAX != h / HEAP_MAX);
    if (!arena_ok || prev % HEAP_MAX || size < 4096 || rw > HEAP_MAX || rw < size || h + size > me->end)
        return 0;
    return h + rw <= me->end ? rw : me->end - h;
}

/* Leaves malloc's own memory out of the roots: its arenas (free chunks
 * there hold stale pointers) and the mapping of each mmapped block (the
 * block is scanned as a block). With glibc, the chunk header before each
 * block says which it is in, as glibc's own free() reads it; arenas with no
 * live block are found by their heap_info. With another malloc, every
 * mapping that holds a live block is its. */
static void skip_malloc_memory(struct scan *s)
{
    const struct maps *m = s->maps;
    uintptr_t cur_lo = 0, cur_hi = 0; /* the last range left out: most blocks fall in it */
    for (size_t i = 0; i < s->n; i++) {
        uintptr_t a = s->blocks[i].addr;
        if (a >= cur_lo && a < cur_hi)
            continue;
        ssize_t k = maps_index(m, a);
        if (k < 0)
            continue;
        cur_lo = m->r[k].start;
        cur_hi = m->r[k].end;
        if (glibc_malloc && a - 16 >= m->r[k].start) {
            uint64_t prev = ((const uint64_t *)a)[-2], head = ((const uint64_t *)a)[-1];
            uintptr_t chunk = a - 16;
            if (head & CHUNK_MMAPPED) {
                uintptr_t lo = chunk - prev, hi = chunk + (head & ~7ull);
                if (lo % 4096 == 0 && hi % 4096 == 0 && lo >= m->r[k].start && hi <= m->r[k].end &&
                    hi >= a + s->blocks[i].size) {
                    cur_lo = lo;
                    cur_hi = hi;
                }
            } else if (head & CHUNK_NON_MAIN_ARENA) {
                uintptr_t h = a & ~(HEAP_MAX - 1);
                uint64_t size = arena_heap_size(m, h);
                if (size && a < h + size) {
                    cur_lo = h;
                    cur_hi = h + size;
                }
            }
        }
        ranges_add(&s->skip, cur_lo, cur_hi);
    }
    if (!glibc_malloc)
        return;
    for (size_t k = 0; k < m->n; k++) {
        const struct map_entry *me = &m->r[k];
        if (me->flags & MAP_BRK)
            ranges_add(&s->skip, me->start, me->end); /* the main arena */
        if ((me->flags & (MAP_W | MAP_FILE)) != MAP_W)
            continue;
        for (uintptr_t h = (me->start + HEAP_MAX - 1) & ~(HEAP_MAX - 1); h < me->end; h += HEAP_MAX) {
            uint64_t size = arena_heap_size(m, h);
            if (size)
                ranges_add(&s->skip, h, h + size);
        }
    }
}

/* The tracer's own mappings: never the program's roots. Read before any
 * root is scanned (scan_root_region leaves them out). */
static void read_own_memory(struct scan *s)
{
    struct plat_range one;
    size_t n = plat_own_mappings(&one, 1);
    struct plat_range *own = plat_map((n + 64) * sizeof *own);
    if (!own)
        return;
    n = plat_own_mappings(own, n + 64); /* lists own itself */
    for (size_t i = 0; i < n; i++)
        ranges_add(&s->own, own[i].start, own[i].end);
    plat_unmap(own, (n + 64) * sizeof *own);
    ranges_normalize(&s->own);
}

static void skip_range(uintptr_t lo, uintptr_t hi, void *arg)
{
    ranges_add(&((struct scan *)arg)->skip, lo, hi);
}

static void skip_own_memory(struct scan *s)
{
    for (size_t i = 0; i < s->own.n; i++)
        ranges_add(&s->skip, s->own.r[i].start, s->own.r[i].end);
}

/* The memory the program took from the break itself (sbrk, brk): it lies
 * in the [heap] mapping among malloc's main arena, which is left out of
 * the roots, but it is the program's (a pool it carves, valgrind's
 * "client" memory): a root. Written by the thread that moves the break
 * (sbrk is no more thread-safe than that), read by a scan; a range the
 * break has since left is in no mapping, so never read. */
#define PROGRAM_BRK_MAX 64
static struct range program_brk[PROGRAM_BRK_MAX];
static atomic_size_t n_program_brk;

void scan_program_brk(uintptr_t old_end, uintptr_t new_end)
{
    size_t n = atomic_load_explicit(&n_program_brk, memory_order_relaxed);
    if (new_end > old_end) {
        if (n && program_brk[n - 1].end == old_end)
            program_brk[n - 1].end = new_end;
        else if (n < PROGRAM_BRK_MAX) {
            program_brk[n] = (struct range){ old_end, new_end };
            atomic_store_explicit(&n_program_brk, n + 1, memory_order_release);
        }
        return;
    }
    while (n && program_brk[n - 1].start >= new_end) /* the break moved down past them */
        n--;
    if (n && program_brk[n - 1].end > new_end)
        program_brk[n - 1].end = new_end;
    atomic_store_explicit(&n_program_brk, n, memory_order_release);
}

/* Takes [lo, hi) out of a normalized list. */
static void ranges_remove(struct ranges *l, uintptr_t lo, uintptr_t hi)
{
    size_t n = l->n;
    for (size_t i = 0; i < n; i++) {
        struct range *r = &l->r[i];
        if (r->end <= lo || r->start >= hi)
            continue;
        uintptr_t end = r->end;
        r->end = r->start < lo ? lo : r->start; /* what is below lo, or nothing */
        if (end > hi)
            ranges_add(l, hi, end);
    }
    ranges_normalize(l);
}

/* Every writable mapping not yet scanned nor left out is a root: memory the
 * program mapped itself (pool allocators' arenas, CPython's among them),
 * exited threads' stacks that glibc keeps for reuse, the loader's data, and
 * what it took from the break itself. */
static void mapping_roots(struct scan *s)
{
    ranges_normalize(&s->skip);
    size_t n_brk = atomic_load_explicit(&n_program_brk, memory_order_acquire);
    for (size_t i = 0; i < n_brk; i++)
        ranges_remove(&s->skip, program_brk[i].start, program_brk[i].end);
    const struct maps *m = s->maps;
    size_t k = 0; /* the first skipped range that may overlap */
    for (size_t i = 0; i < m->n; i++) {
        const struct map_entry *me = &m->r[i];
        if (!(me->flags & MAP_W) || (me->flags & MAP_NOSCAN))
            continue;
        uintptr_t p = me->start, end = me->scan_end;
        while (k < s->skip.n && s->skip.r[k].end <= p)
            k++;
        for (size_t j = k; p < end; j++) {
            uintptr_t stop = j < s->skip.n && s->skip.r[j].start < end ? s->skip.r[j].start : end;
            if (stop > p) {
                uint32_t id = add_root(s->out, FMT_ROOT_MAPPING, p, stop, 0);
                if (id != UINT32_MAX)
                    scan_words(s, p, stop, id, 1);
            }
            if (j >= s->skip.n || s->skip.r[j].start >= end)
                break;
            if (s->skip.r[j].end > p)
                p = s->skip.r[j].end;
        }
    }
}

int scan_heap(const struct live_block *blocks, size_t n, uintptr_t caller_sp, struct scan_result *out)
{
    struct maps maps = { 0 };
    int err = maps_read(&maps);
    if (err)
        return err;
    static struct scan s; /* big (module ranges); snapshots are serialised */
    s = (struct scan){ .blocks = blocks, .n = n, .out = out, .maps = &maps };
    memset(vtable_cache, 0, sizeof vtable_cache);
    if (n) {
        s.lo = blocks[0].addr;
        s.hi = blocks[n - 1].addr + blocks[n - 1].size + 1;
    }
    out->hashes = plat_map_filled((n ? n : 1) * sizeof *out->hashes);
    out->word0 = plat_map_filled((n ? n : 1) * sizeof *out->word0);
    s.readable = plat_map_filled(n ? n : 1);
    if (!out->hashes || !out->word0 || !s.readable) {
        plat_unmap(s.readable, n ? n : 1);
        maps_free(&maps);
        return -ENOMEM;
    }
    blocks_readable(&s);
    read_own_memory(&s);
    /* roots: module data, threads, then every other writable mapping */
    plat_segments_foreach(segment_roots, &s);
    if (caller_sp)
        thread_roots(&s, plat_gettid(), caller_sp, plat_thread_pointer(), NULL);
    unsigned np = atomic_load(&n_slots);
    for (unsigned i = 0; i < np && i < THREADS_MAX; i++)
        thread_roots(&s, slots[i].tid, slots[i].sp, slots[i].tp, slots[i].has_regs ? slots[i].regs : NULL);
    /* where live threads are: every other thread stack is dead */
    uintptr_t *live = plat_map_filled((2 * (np + out->late.n) + 2) * sizeof *live);
    size_t n_live = 0;
    int all_known = live != NULL;
    if (live && caller_sp) {
        live[n_live++] = caller_sp;
        live[n_live++] = plat_thread_pointer();
    }
    for (unsigned i = 0; live && i < np && i < THREADS_MAX; i++) {
        live[n_live++] = slots[i].sp;
        live[n_live++] = slots[i].tp;
    }
    for (unsigned i = 0; i < out->late.n; i++) {
        uintptr_t sp = blocked_sp(out->late.tid[i]);
        all_known &= sp != 0;
        if (live)
            live[n_live++] = sp;
        thread_roots(&s, out->late.tid[i], sp, 0, NULL);
    }
    if (all_known)
        skip_dead_stacks(&s, live, n_live);
    plat_unmap(live, (2 * (np + out->late.n) + 2) * sizeof *live);
    skip_malloc_memory(&s);
    skip_own_memory(&s);
    python_dead_stacks(skip_range, &s);
    mapping_roots(&s);
    /* blocks, in address order */
    for (size_t i = 0; i < n; i++) {
        uintptr_t start = blocks[i].addr, end = start + blocks[i].size;
        out->word0[i] = 0;
        if (!s.readable[i]) {
            out->hashes[i] = 0; /* not (all) readable: nothing to scan */
            continue;
        }
        out->hashes[i] = scan_words(&s, start, end, (uint32_t)i, 0);
        if (blocks[i].size >= 8) {
            uintptr_t w = *(const uintptr_t *)start;
            if (in_module(&s, w))
                out->word0[i] = w; /* may be a vtable: the analyzer decides */
        }
    }
    ranges_free(&s.skip);
    ranges_free(&s.own);
    plat_unmap(s.readable, n ? n : 1);
    maps_free(&maps);
    return 0;
}

void scan_pause(struct scan_result *out) { pause_others(&out->late); }

void scan_init(void)
{
    tls_static_size = plat_static_tls_size();
    glibc_malloc = plat_malloc_is_glibc();
}

void scan_resume(void) { resume_others(); }

void scan_result_free(struct scan_result *r, size_t n_blocks)
{
    plat_unmap(r->edges, r->edges_cap * sizeof *r->edges);
    plat_unmap(r->roots, r->roots_cap * sizeof *r->roots);
    plat_unmap(r->hashes, (n_blocks ? n_blocks : 1) * sizeof *r->hashes);
    plat_unmap(r->word0, (n_blocks ? n_blocks : 1) * sizeof *r->word0);
    r->edges = NULL;
    r->roots = NULL;
    r->hashes = NULL;
    r->word0 = NULL;
}

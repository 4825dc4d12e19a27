/*
 * Loading a trace into the model (model.h) in one pass over its records.
 * Damage ends the pass: what came before it is kept, and m->damage says why.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_ID (1u << 26) /* a larger stack or type id can only be damage */
/* An event may name a stack whose record another thread's chunk brings
 * later; but not one this far past every id seen: that is damage, counted
 * as no stack (so a damaged id cannot make the table huge). */
#define EVENT_ID_AHEAD 65536u

/* Grows an array indexed by id (zero-filling) so that id fits. */
static void *grow_for_id(void *arr, size_t *n, size_t elem, uint64_t id)
{
    if (id < *n)
        return arr;
    size_t cap = *n ? *n : 64;
    while (cap <= id)
        cap *= 2;
    arr = xrealloc(arr, cap * elem);
    memset((char *)arr + *n * elem, 0, (cap - *n) * elem);
    *n = cap;
    return arr;
}

static void set_stack(struct model *m, uint64_t id, uint64_t n, const uint64_t *frames)
{
    if (id == 0 || id >= MAX_ID)
        return;
    m->stacks = grow_for_id(m->stacks, &m->n_stacks, sizeof *m->stacks, id);
    struct model_stack *s = &m->stacks[id];
    if (s->frames) /* written again (a forked child's preamble): the first stays */
        return;
    s->n = (uint32_t)n;
    s->frames = xmalloc((n ? n : 1) * sizeof *frames);
    memcpy(s->frames, frames, n * sizeof *frames);
}

static void set_type(struct model *m, uint64_t id, const char *name)
{
    if (id == 0 || id >= MAX_ID)
        return;
    m->types = grow_for_id(m->types, &m->n_types, sizeof *m->types, id);
    free(m->types[id]);
    m->types[id] = xstrdup(name);
}

static void add_module(struct model *m, const struct fmt_record *r, uint64_t seq)
{
    for (size_t i = 0; i < m->n_modules; i++)
        if (m->modules[i].id == r->u.module.id)
            return; /* the same module recorded twice (preamble and rescan) */
    m->modules = xrealloc(m->modules, (m->n_modules + 1) * sizeof *m->modules);
    struct model_module *mod = &m->modules[m->n_modules++];
    memset(mod, 0, sizeof *mod);
    mod->id = r->u.module.id;
    mod->bias = r->u.module.bias;
    mod->start = r->u.module.start;
    mod->end = r->u.module.end;
    mod->path = xstrdup(r->u.module.path);
    mod->build_id_len = r->u.module.build_id_len < sizeof mod->build_id ? r->u.module.build_id_len : 0;
    memcpy(mod->build_id, r->u.module.build_id, mod->build_id_len);
    mod->seq = seq;
}

/* Distinct thread ids, in a small open-addressing set. */
struct tid_set {
    uint32_t *slots;
    size_t cap, n;
};

static void tid_add(struct tid_set *s, uint32_t tid)
{
    if (!tid)
        return;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint32_t *slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                for (size_t j = s->slots[i] * 2654435761u % cap;; j = (j + 1) % cap)
                    if (!slots[j]) {
                        slots[j] = s->slots[i];
                        break;
                    }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    for (size_t j = tid * 2654435761u % s->cap;; j = (j + 1) % s->cap) {
        if (s->slots[j] == tid)
            return;
        if (!s->slots[j]) {
            s->slots[j] = tid;
            s->n++;
            return;
        }
    }
}

/* Does snapshot (index, name) answer the request? */
static int wanted(const char *want, uint64_t index, const char *name)
{
    if (!want)
        return 1; /* every snapshot is a candidate; "exit" is preferred below */
    uint64_t v;
    if (parse_u64(want, 10, &v) == 0)
        return v == index;
    return strcmp(want, name) == 0;
}

/* A growing array of one snapshot's blocks, roots and edges. */
struct snap_vec {
    struct model_block *blocks;
    size_t n_blocks, cap_blocks;
    struct model_root *roots;
    size_t n_roots, cap_roots;
    struct model_edge *edges;
    size_t n_edges, cap_edges;
    struct fmt_object *objects;
    size_t n_objects, cap_objects;
};

#define VEC_PUSH(arr, n, cap, item)                                \
    do {                                                           \
        if ((n) == (cap)) {                                        \
            (cap) = (cap) ? (cap) * 2 : 1024;                      \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));        \
        }                                                          \
        (arr)[(n)++] = (item);                                     \
    } while (0)

static void snap_vec_free(struct snap_vec *v)
{
    free(v->blocks);
    free(v->roots);
    free(v->edges);
    free(v->objects);
}


static int by_seq(const void *a, const void *b)
{
    const struct model_rc *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The graph must index what exists: blocks in address order, edges within
 * bounds. A damaged graph is dropped, with a warning, not trusted. */
static void check_graph(struct model *m)
{
    int ok = 1;
    for (size_t i = 1; i < m->n_blocks && ok; i++)
        ok = m->blocks[i - 1].addr < m->blocks[i].addr;
    for (size_t i = 0; i < m->n_edges && ok; i++) {
        const struct model_edge *e = &m->edges[i];
        ok = e->dst < m->n_blocks && (e->src_is_root ? e->src < m->n_roots : e->src < m->n_blocks);
    }
    if (!ok) {
        char warning[600];
        snprintf(warning, sizeof warning, "%s: snapshot %s has an inconsistent heap graph; ignoring it", m->path,
                 m->snapshot->name);
        m->warning = xstrdup(warning);
        free(m->edges);
        m->edges = NULL;
        m->n_edges = 0;
        m->snapshots[m->snapshot - m->snapshots].scanned = 0;
    }
}

/* The chosen snapshot's CPython objects (OBJECTS records, in address order)
 * as m->py beside its blocks; none without one that matches a block. */
static void set_objects(struct model *m, const struct fmt_object *o, size_t n)
{
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        while (b < m->n_blocks && m->blocks[b].addr < o[i].addr)
            b++;
        if (b == m->n_blocks || m->blocks[b].addr != o[i].addr || o[i].what > 1 + 255 / 8)
            continue;
        if (!m->py)
            m->py = xcalloc(m->n_blocks, sizeof *m->py);
        struct model_py *p = &m->py[b];
        p->what = o[i].what ? MODEL_PY_OBJECT : MODEL_PY_OWNED;
        p->off = o[i].what ? (uint8_t)(8 * (o[i].what - 1)) : 0;
        p->refcount = o[i].refcount;
        p->value = o[i].value;
    }
    m->n_py_objects = 0;
    for (size_t i = 0; m->py && i < m->n_blocks; i++)
        m->n_py_objects += m->py[i].what == MODEL_PY_OBJECT;
}

/* One pass over a trace: the model being filled, and the snapshots read. */
struct loader {
    struct model *m;
    int64_t live_bytes, live_blocks; /* the stream replayed */
    uint64_t peak_epoch;
    size_t series_cap;
    const struct model_load_options *o;
    struct tid_set tids;
    struct snap_vec cur, chosen; /* the snapshot being read (if kept), the one kept */
    ssize_t cur_snap, chosen_snap; /* indices; -1 - index: not kept */
    int chosen_is_exit;
    uint64_t seq;
    size_t rc_cap, heap_cap;
};

static void on_process(struct model *m, const struct fmt_record *rec)
{
    if (m->has_process)
        return;
    m->has_process = 1;
    m->pid = rec->u.process.pid;
    m->ppid = rec->u.process.ppid;
    m->start_unix_ns = rec->u.process.start_unix_ns;
    m->max_frames = rec->u.process.max_frames;
    m->program = xstrdup(rec->u.process.program);
    m->exe = xstrdup(rec->u.process.exe);
    m->cmdline = xstrdup(rec->u.process.cmdline);
}

/* A stack's figures at the peak are its live ones then. */
static void keep_at_peak(struct model_stack *s)
{
    s->peak_bytes = s->live_bytes > 0 ? (uint64_t)s->live_bytes : 0;
    s->peak_blocks = s->live_blocks > 0 ? (uint64_t)s->live_blocks : 0;
}

/* A stack's live figures change: first keep what they were at the latest
 * peak, if they have not changed since (the peak is known only later, so
 * each stack keeps its value as of the last peak lazily: O(1) an event). */
static void stack_live(struct loader *l, uint64_t stack_id, int64_t bytes, int64_t blocks)
{
    struct model *m = l->m;
    if (stack_id >= MAX_ID || stack_id >= m->n_stacks + EVENT_ID_AHEAD)
        stack_id = 0;
    m->stacks = grow_for_id(m->stacks, &m->n_stacks, sizeof *m->stacks, stack_id);
    struct model_stack *s = &m->stacks[stack_id];
    if (s->peak_epoch != l->peak_epoch) {
        keep_at_peak(s);
        s->peak_epoch = l->peak_epoch;
    }
    s->live_bytes += bytes;
    s->live_blocks += blocks;
    l->live_bytes += bytes;
    l->live_blocks += blocks;
}

/* After loading: each stack's figures at the peak. */
static void stacks_at_peak(struct loader *l)
{
    struct model *m = l->m;
    for (size_t i = 0; i < m->n_stacks; i++) {
        struct model_stack *s = &m->stacks[i];
        if (s->peak_epoch != l->peak_epoch) /* unchanged since the peak */
            keep_at_peak(s);
    }
}

static void on_alloc(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    if (rec->u.alloc.stack_id && rec->u.alloc.stack_id < MAX_ID &&
        rec->u.alloc.stack_id < m->n_stacks + EVENT_ID_AHEAD) {
        m->stacks = grow_for_id(m->stacks, &m->n_stacks, sizeof *m->stacks, rec->u.alloc.stack_id);
        m->stacks[rec->u.alloc.stack_id].allocs++;
        m->stacks[rec->u.alloc.stack_id].bytes += rec->u.alloc.size;
    }
    stack_live(l, rec->u.alloc.stack_id, (int64_t)rec->u.alloc.size, 1);
    if (l->live_bytes > 0 && (uint64_t)l->live_bytes > m->stream_peak_bytes) {
        m->stream_peak_bytes = (uint64_t)l->live_bytes;
        m->stream_peak_blocks = l->live_blocks > 0 ? (uint64_t)l->live_blocks : 0;
        m->stream_peak_time_ns = rec->u.alloc.time_ns;
        l->peak_epoch++;
    }
    if (!m->n_series || rec->u.alloc.time_ns >= m->series[m->n_series - 1].time_ns + MODEL_SERIES_NS) {
        struct model_heap_point p = { rec->u.alloc.time_ns, l->live_bytes > 0 ? (uint64_t)l->live_bytes : 0,
                                      l->live_blocks > 0 ? (uint64_t)l->live_blocks : 0, 0 };
        VEC_PUSH(m->series, m->n_series, l->series_cap, p);
    }
    uint64_t size = rec->u.alloc.size;
    unsigned k = size ? 64 - (unsigned)__builtin_clzll(size) : 0;
    m->sizes[k].count++;
    m->sizes[k].bytes += size;
    m->allocs++;
    m->bytes_allocated += rec->u.alloc.size;
    if (rec->u.alloc.fn < FMT_FN_COUNT)
        m->allocs_by_fn[rec->u.alloc.fn]++;
    if (rec->u.alloc.time_ns > m->last_time_ns)
        m->last_time_ns = rec->u.alloc.time_ns;
    tid_add(&l->tids, rec->tid);
}

static void on_free(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    uint64_t size = rec->u.free.size, sid = rec->u.free.stack_id;
    m->frees++;
    m->bytes_freed += size;
    tid_add(&l->tids, rec->tid);
    stack_live(l, sid, -(int64_t)size, -1);
    if (rec->u.free.flags & FMT_FREE_TEMPORARY) {
        m->temporary_allocations++;
        m->temporary_bytes += size;
        struct model_stack *s = &m->stacks[sid < MAX_ID ? sid : 0];
        s->temporary++;
        s->temporary_bytes += size;
    }
    if (m->has_lifetimes) {
        unsigned age = (unsigned)(rec->u.free.flags >> FMT_FREE_AGE_SHIFT) & 3;
        if (age < FMT_AGE_COUNT) {
            m->lifetimes[age].count++;
            m->lifetimes[age].bytes += size;
        }
    }
}

static void on_snapshot_begin(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    m->snapshots = xrealloc(m->snapshots, (m->n_snapshots + 1) * sizeof *m->snapshots);
    m->snapshots[m->n_snapshots] = (struct model_snapshot){
        .index = rec->u.snapshot.index, .time_ns = rec->u.snapshot.time_ns, .blocks = rec->u.snapshot.blocks,
        .bytes = rec->u.snapshot.bytes, .name = xstrdup(rec->u.snapshot.name),
        .scanned = rec->u.snapshot.scanned != 0, .rc_seq = rec->u.snapshot.rc_seq };
    l->cur_snap = (ssize_t)m->n_snapshots++;
    l->cur.n_blocks = l->cur.n_roots = l->cur.n_edges = l->cur.n_objects = 0;
    if (!wanted(l->o->snapshot, rec->u.snapshot.index, rec->u.snapshot.name) ||
        (!l->o->snapshot && l->chosen_is_exit))
        l->cur_snap = -1 - l->cur_snap; /* not kept: remember it only to close it */
}

/* A block, root or edge of the snapshot being read, if it is kept. */
static void on_snapshot_part(struct loader *l, const struct fmt_record *rec)
{
    struct snap_vec *v = &l->cur;
    if (l->cur_snap < 0)
        return;
    if (rec->type == FMT_REC_BLOCKS) {
        struct model_block b = { rec->u.block.addr, rec->u.block.size, rec->u.block.birth_ns,
                                 (uint32_t)rec->u.block.stack_id, (uint32_t)rec->u.block.type_id,
                                 (uint32_t)rec->u.block.flags, rec->u.block.hash, rec->u.block.word0 };
        if (rec->u.block.stack_id >= MAX_ID)
            b.stack_id = 0;
        if (rec->u.block.type_id >= MAX_ID)
            b.type_id = 0;
        VEC_PUSH(v->blocks, v->n_blocks, v->cap_blocks, b);
    } else if (rec->type == FMT_REC_ROOT && rec->u.root.id == v->n_roots) {
        struct model_root root = { (uint32_t)rec->u.root.kind, rec->u.root.start, rec->u.root.end, rec->u.root.tid };
        VEC_PUSH(v->roots, v->n_roots, v->cap_roots, root);
    } else if (rec->type == FMT_REC_EDGES) {
        struct model_edge e = { (uint32_t)rec->u.edge.src, (uint32_t)rec->u.edge.dst,
                                (uint16_t)rec->u.edge.src_is_root, (uint16_t)rec->u.edge.rules,
                                rec->u.edge.src_off, rec->u.edge.dst_off };
        VEC_PUSH(v->edges, v->n_edges, v->cap_edges, e);
    } else if (rec->type == FMT_REC_OBJECTS) {
        VEC_PUSH(v->objects, v->n_objects, v->cap_objects, rec->u.object);
    }
}

static void on_snapshot_end(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    ssize_t idx = l->cur_snap >= 0 ? l->cur_snap : -1 - l->cur_snap;
    if (idx < 0 || (size_t)idx >= m->n_snapshots || m->snapshots[idx].index != rec->u.id)
        return;
    m->snapshots[idx].complete = 1;
    if (strcmp(m->snapshots[idx].name, "peak") == 0) /* only the highest peak counts */
        for (ssize_t k = 0; k < idx; k++)
            if (strcmp(m->snapshots[k].name, "peak") == 0)
                m->snapshots[k].superseded = 1;
    if (l->cur_snap >= 0) {
        struct snap_vec t = l->chosen;
        l->chosen = l->cur;
        l->cur = t;
        l->chosen_snap = l->cur_snap;
        l->chosen_is_exit = strcmp(m->snapshots[idx].name, "exit") == 0;
    }
    l->cur_snap = -1 - (ssize_t)m->n_snapshots; /* closed */
}

static void on_rc(struct loader *l, const struct fmt_record *rec)
{
    if (!l->o->keep_rc_events)
        return;
    struct model_rc e = { rec->u.rc.seq, rec->u.rc.addr, rec->u.rc.id, rec->u.rc.count, (uint32_t)rec->u.rc.op,
                          (uint32_t)(rec->u.rc.stack_id < MAX_ID ? rec->u.rc.stack_id : 0),
                          (uint32_t)(rec->u.rc.type_id < MAX_ID ? rec->u.rc.type_id : 0) };
    VEC_PUSH(l->m->rc, l->m->n_rc, l->rc_cap, e);
}

static void on_allocator(struct model *m, const struct fmt_record *rec)
{
    struct model_allocator a = { rec->u.allocator.malloc_ours != 0, xstrdup(rec->u.allocator.name),
                                 xstrdup(rec->u.allocator.module) };
    m->allocators = xrealloc(m->allocators, (m->n_allocators + 1) * sizeof *m->allocators);
    m->allocators[m->n_allocators++] = a;
}

static void on_heap_stat(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    struct model_heap_point hp = { rec->u.heap_stat.time_ns, rec->u.heap_stat.live_bytes,
                                   rec->u.heap_stat.live_blocks, rec->u.heap_stat.rss_bytes };
    VEC_PUSH(m->heap, m->n_heap, l->heap_cap, hp);
    if (hp.rss_bytes > m->peak_rss_bytes) {
        m->peak_rss_bytes = hp.rss_bytes;
        m->peak_rss_time_ns = hp.time_ns;
    }
    if (rec->u.heap_stat.time_ns > m->last_time_ns)
        m->last_time_ns = rec->u.heap_stat.time_ns;
}

static void on_end(struct model *m, const struct fmt_record *rec)
{
    m->has_end = 1;
    m->end_time_ns = rec->u.end.time_ns;
    m->end_reason = rec->u.end.reason;
    m->peak_bytes = rec->u.end.peak_bytes;
    m->peak_time_ns = rec->u.end.peak_time_ns;
}

static void on_record(struct loader *l, const struct fmt_record *rec)
{
    struct model *m = l->m;
    switch (rec->type) {
    case FMT_REC_PROCESS: on_process(m, rec); break;
    case FMT_REC_MODULE_LOAD: add_module(m, rec, l->seq); break;
    case FMT_REC_STACK: set_stack(m, rec->u.stack.id, rec->u.stack.n, rec->u.stack.frames); break;
    case FMT_REC_TYPE: set_type(m, rec->u.type.id, rec->u.type.name); break;
    case FMT_REC_ALLOC: on_alloc(l, rec); break;
    case FMT_REC_FREE: on_free(l, rec); break;
    case FMT_REC_SNAPSHOT_BEGIN: on_snapshot_begin(l, rec); break;
    case FMT_REC_BLOCKS:
    case FMT_REC_ROOT:
    case FMT_REC_EDGES:
    case FMT_REC_OBJECTS: on_snapshot_part(l, rec); break;
    case FMT_REC_SNAPSHOT_END: on_snapshot_end(l, rec); break;
    case FMT_REC_RC: on_rc(l, rec); break;
    case FMT_REC_SUPPRESSIONS:
        free(m->suppressions);
        m->suppressions = xstrdup(rec->u.text);
        break;
    case FMT_REC_ALLOCATOR: on_allocator(m, rec); break;
    case FMT_REC_HEAP_STAT: on_heap_stat(l, rec); break;
    case FMT_REC_PROCESS_END: on_end(m, rec); break;
    default: break;
    }
}

/* Reads every record; says the progress of a big trace, if asked. */
static void read_records(struct loader *l, struct fmt_reader *r, const char *path)
{
    int progress = l->o->progress && fmt_reader_size(r) > (8u << 20);
    int shown = -1;
    struct fmt_record rec;
    while (fmt_reader_next(r, &rec)) {
        l->seq++;
        if (progress && (l->seq & 0xffff) == 0) {
            int pct = (int)(fmt_reader_offset(r) * 100 / fmt_reader_size(r));
            if (pct != shown)
                l->o->progress(path, shown = pct);
        }
        on_record(l, &rec);
    }
    if (progress)
        l->o->progress(path, -1);
}

/* The snapshot asked for, kept; or -1 with why in err. */
static int keep_snapshot(struct loader *l, char *err, size_t errlen)
{
    struct model *m = l->m;
    const char *want = l->o->snapshot;
    /* (a trace whose only snapshot was cut short by a kill still loads: the
     * commands that need one say so) */
    if (l->chosen_snap < 0 && want) {
        char names[512] = "";
        for (size_t i = 0; i < m->n_snapshots && strlen(names) < sizeof names - 80; i++)
            if (m->snapshots[i].complete)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", *names ? ", " : "",
                         m->snapshots[i].name);
        snprintf(err, errlen, "%s: no snapshot %s (the trace has: %s)", m->path, want ? want : "complete",
                 *names ? names : "none");
        return -1;
    }
    if (l->chosen_snap < 0)
        return 0;
    m->snapshot = &m->snapshots[l->chosen_snap];
    m->blocks = l->chosen.blocks;
    m->n_blocks = l->chosen.n_blocks;
    m->roots = l->chosen.roots;
    m->n_roots = l->chosen.n_roots;
    m->edges = l->chosen.edges;
    m->n_edges = l->chosen.n_edges;
    set_objects(m, l->chosen.objects, l->chosen.n_objects);
    free(l->chosen.objects);
    l->chosen = (struct snap_vec){ 0 }; /* the model's now */
    check_graph(m);
    for (size_t i = 0; i < m->n_blocks; i++)
        if (!(m->blocks[i].flags & FMT_BLOCK_IGNORED)) {
            m->reported_bytes += m->blocks[i].size;
            m->reported_blocks++;
        }
    return 0;
}

int model_load(struct model *m, const char *path, const struct model_load_options *o, char *err, size_t errlen)
{
    static const struct model_load_options defaults = { 0 };
    memset(m, 0, sizeof *m);
    m->path = path;
    struct fmt_reader *r = fmt_reader_open(path, err, errlen);
    if (!r)
        return -1;
    struct loader l = { .m = m, .o = o ? o : &defaults, .cur_snap = -1, .chosen_snap = -1 };
    m->has_lifetimes = fmt_reader_version(r) >= 4;
    read_records(&l, r, path);
    stacks_at_peak(&l);
    if (fmt_reader_damage(r))
        m->damage = xstrdup(fmt_reader_damage(r));
    else if (m->has_process && !m->has_end) /* what the journal held is read, but no more came */
        m->damage = xstrdup("the trace has no end (the process was killed, stopped tracing, or still runs)");
    fmt_reader_close(r);
    free(l.tids.slots);
    snap_vec_free(&l.cur);
    m->threads = l.tids.n;
    if (m->n_rc) /* threads wrote them out of order */
        qsort(m->rc, m->n_rc, sizeof *m->rc, by_seq);
    int status = 0;
    if (!m->has_process) {
        snprintf(err, errlen, "%s: %s", path, m->damage ? m->damage : "trace holds no process record");
        status = -1;
    } else {
        status = keep_snapshot(&l, err, errlen);
    }
    snap_vec_free(&l.chosen);
    if (status)
        model_free(m);
    return status;
}

void model_free(struct model *m)
{
    for (size_t i = 0; i < m->n_allocators; i++) {
        free(m->allocators[i].name);
        free(m->allocators[i].module);
    }
    free(m->allocators);
    free(m->program);
    free(m->exe);
    free(m->cmdline);
    for (size_t i = 0; i < m->n_modules; i++)
        free(m->modules[i].path);
    free(m->modules);
    for (size_t i = 0; i < m->n_stacks; i++)
        free(m->stacks[i].frames);
    free(m->stacks);
    for (size_t i = 0; i < m->n_types; i++)
        free(m->types[i]);
    free(m->types);
    for (size_t i = 0; i < m->n_snapshots; i++)
        free(m->snapshots[i].name);
    free(m->snapshots);
    free(m->blocks);
    free(m->py);
    free(m->roots);
    free(m->edges);
    free(m->rc);
    free(m->heap);
    free(m->series);
    free(m->suppressions);
    free(m->damage);
    free(m->warning);
    memset(m, 0, sizeof *m);
}

int model_exec_snapshot(const struct model *m)
{
    return m->snapshot && m->has_end && m->end_reason == FMT_END_EXEC && m->snapshot == &m->snapshots[m->n_snapshots - 1] &&
           strcmp(m->snapshot->name, "exec") == 0;
}

int model_malloc_foreign(const struct model *m, char *why, size_t room)
{
    for (size_t i = 0; i < m->n_allocators; i++) {
        const struct model_allocator *a = &m->allocators[i];
        if (a->malloc_ours)
            continue;
        snprintf(why, room, "malloc is %s, in %s, not heapscope's: its allocations cannot be traced",
                 *a->name ? a->name : "an allocator of its own", a->module);
        return 1;
    }
    return 0;
}

int model_allocators_beside(const struct model *m, char *text, size_t room)
{
    size_t len = 0;
    *text = 0;
    for (size_t i = 0; i < m->n_allocators && len < room; i++) {
        const struct model_allocator *a = &m->allocators[i];
        if (a->malloc_ours)
            len += (size_t)snprintf(text + len, room - len, "%s%s's own API (in %s) is not traced", len ? "; " : "",
                                    a->name, a->module);
    }
    return len != 0;
}

const struct model_module *model_module_at(const struct model *m, uint64_t addr)
{
    const struct model_module *best = NULL;
    for (size_t i = 0; i < m->n_modules; i++) {
        const struct model_module *mod = &m->modules[i];
        if (addr >= mod->start && addr < mod->end && (!best || mod->seq > best->seq))
            best = mod;
    }
    return best;
}

const struct model_stack *model_stack(const struct model *m, uint32_t id)
{
    return id < m->n_stacks && m->stacks[id].frames ? &m->stacks[id] : NULL;
}

const char *model_type(const struct model *m, uint32_t id)
{
    return id < m->n_types ? m->types[id] : NULL;
}

static int by_bytes_desc(const void *a, const void *b)
{
    const struct model_group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->blocks != y->blocks)
        return x->blocks > y->blocks ? -1 : 1;
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

size_t model_group_by_stack(const struct model *m, struct model_group **out)
{
    /* stack ids are dense: count into an array indexed by id */
    size_t max = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].stack_id + 1u > max)
            max = m->blocks[i].stack_id + 1u;
    struct model_group *by_id = xcalloc(max ? max : 1, sizeof *by_id);
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (m->blocks[i].flags & FMT_BLOCK_IGNORED)
            continue; /* hs_ignore: never reported */
        struct model_group *g = &by_id[m->blocks[i].stack_id];
        if (!g->blocks) {
            n++;
            g->type_id = m->blocks[i].type_id;
        } else if (g->type_id != m->blocks[i].type_id) {
            g->type_id = FMT_NO_TYPE;
        }
        g->stack_id = m->blocks[i].stack_id;
        g->bytes += m->blocks[i].size;
        g->blocks++;
    }
    struct model_group *groups = xcalloc(n ? n : 1, sizeof *groups);
    size_t k = 0;
    for (size_t i = 0; i < max; i++)
        if (by_id[i].blocks)
            groups[k++] = by_id[i];
    free(by_id);
    qsort(groups, n, sizeof *groups, by_bytes_desc);
    *out = groups;
    return n;
}

static int has_stack(const struct model *m, uint32_t id)
{
    return id && model_stack(m, id) != NULL;
}

/* The sites indexed by stack id (*n of them); the totals equal the trace's. */
struct model_site *model_sites(const struct model *m, size_t *n)
{
    size_t cap = m->n_stacks ? m->n_stacks : 1;
    struct model_site *s = xcalloc(cap, sizeof *s);
    uint64_t allocs = 0, bytes = 0;
    for (size_t id = 0; id < cap; id++) {
        s[id].id = (uint32_t)id;
        if (!has_stack(m, (uint32_t)id))
            continue;
        s[id].allocs = m->stacks[id].allocs;
        s[id].bytes = m->stacks[id].bytes;
        allocs += s[id].allocs;
        bytes += s[id].bytes;
    }
    s[0].allocs = m->allocs > allocs ? m->allocs - allocs : 0;
    s[0].bytes = m->bytes_allocated > bytes ? m->bytes_allocated - bytes : 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        const struct model_block *b = &m->blocks[i];
        if (b->flags & FMT_BLOCK_IGNORED)
            continue; /* hs_ignore: never reported */
        uint32_t id = b->stack_id < cap && has_stack(m, b->stack_id) ? b->stack_id : 0;
        s[id].live_blocks++;
        s[id].live_bytes += b->size;
    }
    *n = cap;
    return s;
}

uint64_t model_duration_ns(const struct model *m) { return m->has_end ? m->end_time_ns : m->last_time_ns; }

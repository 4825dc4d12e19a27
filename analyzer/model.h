/*
 * The analyzer's model of one trace: process facts, modules, stacks, types,
 * snapshot list, event totals, and the blocks of one chosen snapshot. Loaded
 * in one streaming pass; memory grows with stacks and the chosen snapshot's
 * blocks, not with the number of events.
 */
#ifndef HEAPSCOPE_MODEL_H
#define HEAPSCOPE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

struct model_module {
    uint64_t id, bias, start, end;
    char *path;
    uint8_t build_id[64];
    size_t build_id_len;
    uint64_t seq; /* load order, to prefer the newest of overlapping ranges */
};

struct model_stack {
    uint32_t n;
    uint64_t *frames; /* return addresses, caller of the allocator first */
    uint64_t allocs, bytes; /* allocations made from this stack over the run */
    uint64_t temporary, temporary_bytes; /* of them, freed before their thread's next allocation */
    /* the event stream replayed: live now, and live at the stream's peak
     * (valid after loading; peak_epoch is the loader's) */
    int64_t live_bytes, live_blocks;
    uint64_t peak_bytes, peak_blocks;
    uint64_t peak_epoch;
};

/* A point of the live heap over time (from the writer's periodic records). */
struct model_heap_point {
    uint64_t time_ns, live_bytes, live_blocks;
    uint64_t rss_bytes; /* the process's resident set, 0 if not recorded (traces before version 4) */
};

struct model_snapshot {
    uint64_t index, time_ns, blocks, bytes;
    char *name;
    int complete; /* its end record was read */
    int scanned;  /* it has the heap graph */
    int superseded; /* a "peak" snapshot followed by a higher one */
    uint64_t rc_seq;  /* refcount events numbered up to then */
};

/* A refcount event from the shim. */
struct model_rc {
    uint64_t seq, addr, id; /* id: the shim's object id, 0 if unknown */
    int64_t count; /* after the event */
    uint32_t op, stack_id, type_id;
};

struct model_block {
    uint64_t addr, size, birth_ns;
    uint32_t stack_id, type_id;
    uint32_t flags; /* FMT_BLOCK_* */
    uint64_t hash;  /* of its contents, when scanned */
    uint64_t word0; /* its first word, when that points into a module */
};

/* What a block of the chosen snapshot is to CPython (OBJECTS records): an
 * object (at off bytes in, past its PyGC_Head; its ob_refcnt then, and a
 * hash of a list's or tuple's items, 0 for other objects), or the storage
 * an object owns (a list's items, a dict's keys or values). */
enum { MODEL_PY_NONE, MODEL_PY_OWNED, MODEL_PY_OBJECT };
struct model_py {
    uint8_t what, off;
    uint64_t refcount, value;
};

/* A root region of the chosen snapshot. */
struct model_root {
    uint32_t kind; /* FMT_ROOT_* */
    uint64_t start, end, tid;
};

/* A pointer found by the scan: at src_off in a block (or root region), to
 * dst_off in block dst. */
struct model_edge {
    uint32_t src, dst;
    uint16_t src_is_root;
    uint16_t rules; /* FMT_HEUR_*: the interior-pointer rules it satisfies */
    uint64_t src_off, dst_off;
};

/* An allocator the process had that heapscope does not see. */
struct model_allocator {
    int malloc_ours; /* 0: malloc itself is this one: nothing was traced */
    char *name;      /* "jemalloc", "mimalloc", "tcmalloc", or "" when not known */
    char *module;    /* the file that holds it */
};

struct model {
    const char *path;
    /* the process */
    int has_process;
    uint64_t pid, ppid, start_unix_ns, max_frames;
    char *program, *exe, *cmdline;
    /* its end, if the trace has one */
    int has_end;
    uint64_t end_time_ns, end_reason, peak_bytes, peak_time_ns;
    /* events, counted as read */
    uint64_t allocs, frees, bytes_allocated, bytes_freed;
    uint64_t allocs_by_fn[FMT_FN_COUNT];
    uint64_t last_time_ns;
    uint64_t threads; /* distinct thread ids seen */
    /* the event stream replayed in the order the trace holds it: exact for
     * one thread's events; another thread's come a region (up to 1 MiB of
     * records) at a time */
    uint64_t stream_peak_bytes, stream_peak_blocks, stream_peak_time_ns;
    uint64_t temporary_allocations, temporary_bytes;
    struct model_amount { uint64_t count, bytes; } sizes[65]; /* by size: [0] 0 bytes, [k] 2^(k-1) .. 2^k - 1 */
    int has_lifetimes;  /* FREE records say how long blocks lived (version 4) */
    struct model_amount lifetimes[FMT_AGE_COUNT]; /* freed blocks by how long they lived */
    uint64_t peak_rss_bytes, peak_rss_time_ns;
    /* the stream's live heap over time: a point when an allocation's time
     * passes the last point's by MODEL_SERIES_NS */
    struct model_heap_point *series;
    size_t n_series;
    /* tables */
    struct model_module *modules;
    size_t n_modules;
    struct model_stack *stacks; /* indexed by stack id; n == 0 for unknown ids */
    size_t n_stacks;
    char **types;               /* indexed by type id */
    size_t n_types;
    struct model_snapshot *snapshots;
    size_t n_snapshots;
    /* the chosen snapshot */
    const struct model_snapshot *snapshot;
    struct model_block *blocks; /* sorted by address */
    size_t n_blocks;
    struct model_py *py;        /* per block, if the snapshot has CPython objects; else NULL */
    size_t n_py_objects;
    uint64_t reported_bytes, reported_blocks; /* its blocks less those hs_ignore'd */
    struct model_root *roots;   /* its heap graph, if scanned */
    size_t n_roots;
    struct model_edge *edges;
    size_t n_edges;
    /* the live heap over time */
    struct model_heap_point *heap;
    size_t n_heap;
    /* refcount events, in sequence order */
    struct model_rc *rc;
    size_t n_rc;
    /* the program's own __lsan_default_suppressions(), or NULL */
    char *suppressions;
    /* allocators heapscope did not see (ALLOCATOR records) */
    struct model_allocator *allocators;
    size_t n_allocators;

    /* why the trace ended early, or NULL */
    char *damage;
    /* what the loading passed over, for the reader to be told (one line), or NULL */
    char *warning;
};

#define MODEL_SERIES_NS 10000000ull

/* How model_load reads a trace ({ 0 }: the default snapshot, no refcount
 * events, no progress). */
struct model_load_options {
    /* the snapshot whose blocks to keep: a name, an index, or NULL for
     * "exit" if there is one, else the last */
    const char *snapshot;
    /* keep refcount events (memory grows with them): for the commands that
     * read histories (refs, cycles, report) */
    int keep_rc_events;
    /* for a big trace: called with the percent read as it goes, then once
     * with -1 when done; NULL for none */
    void (*progress)(const char *path, int percent);
};

/* Loads path as o says (NULL: the defaults). Returns 0, or -1 with one line
 * in err (missing file, not a trace, unknown snapshot, ...). Prints nothing:
 * m->damage and m->warning say what there is to say. */
int model_load(struct model *m, const char *path, const struct model_load_options *o, char *err, size_t errlen);
void model_free(struct model *m);

/* Whether the chosen snapshot is the one taken as the process image was
 * replaced by exec (not a leak point: the heap is discarded). */
int model_exec_snapshot(const struct model *m);

/* Whether malloc was not heapscope's in this process (its own allocator:
 * none of its allocations could be traced): 1 and why into why, else 0. */
int model_malloc_foreign(const struct model *m, char *why, size_t room);
/* The allocators' APIs it had beside heapscope's malloc, whose allocations
 * were not traced, as one clause into text; 0 if none. */
int model_allocators_beside(const struct model *m, char *text, size_t room);

/* The module whose range holds addr, or NULL. */
const struct model_module *model_module_at(const struct model *m, uint64_t addr);
const struct model_stack *model_stack(const struct model *m, uint32_t id);
const char *model_type(const struct model *m, uint32_t id);

/* Allocation-site keys are stack ids; this groups the chosen snapshot's blocks
 * by stack: one group per stack id, biggest (bytes) first. */
struct model_group {
    uint32_t stack_id;
    uint32_t type_id; /* shared by all its blocks, else FMT_NO_TYPE */
    uint64_t bytes, blocks;
};
size_t model_group_by_stack(const struct model *m, struct model_group **out);

/* One recorded stack and what it did: allocations over the run, and blocks
 * live at the chosen snapshot (hs_ignore'd blocks left out). Site 0 holds
 * what has no recorded stack. */
struct model_site {
    uint32_t id;
    uint64_t allocs, bytes, live_blocks, live_bytes;
};
/* The sites indexed by stack id (*n of them, malloc'd); their totals equal
 * the trace's. */
struct model_site *model_sites(const struct model *m, size_t *n);

/* How long the process ran: to its end, else to its last event read. */
uint64_t model_duration_ns(const struct model *m);

#endif

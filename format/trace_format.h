/*
 * The heapscope trace format: the one definition shared by the preload (which
 * writes it) and the analyzer (which reads it). docs/FORMAT.md is the prose
 * version of this file; change both together and bump FMT_VERSION when an old
 * reader could misread a new file.
 *
 * A trace is a 16-byte file header followed by chunks. Each chunk is a 12-byte
 * chunk header and one zstd frame (with content checksum) that decompresses to
 * a run of records. Chunks are independent, so a file cut short by a kill is
 * readable up to its last complete chunk.
 *
 * A record is one type byte followed by fields. Integers are unsigned LEB128
 * varints unless said otherwise; strings are a varint length and the bytes.
 *
 * The writer side of this file must stay usable from the preload: no malloc,
 * no stdio, no global state.
 */
#ifndef HEAPSCOPE_TRACE_FORMAT_H
#define HEAPSCOPE_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define FMT_MAGIC "HEAPSCP1"        /* 8 bytes, no terminator in the file */
#define FMT_VERSION 5u
#define FMT_VERSION_OLDEST 1u /* v1: ALLOC and FREE carried an address delta too; v2: edges had no rules */
#define FMT_FILE_HEADER_SIZE 16u    /* magic, u32le version, u32le flags */
#define FMT_CHUNK_MAGIC 0x4b435348u /* "HSCK" little-endian */
#define FMT_CHUNK_HEADER_SIZE 12u   /* u32le magic, u32le compressed, u32le raw */
#define FMT_CHUNK_MAX_RAW (64u << 20)
#define FMT_MAX_FRAMES 1024u        /* a reader rejects longer stacks */
#define FMT_MAX_STRING 65536u

/* The record types, in the order of their sections below (after the
 * encoding primitives), where each one's fields are laid out. */
enum fmt_record_type {
    FMT_REC_PROCESS = 1,       /* who the process is: first in a trace */
    FMT_REC_MODULE_LOAD = 2,   /* a loaded module (executable or shared object) */
    FMT_REC_MODULE_UNLOAD = 3, /* a module gone */
    FMT_REC_STACK = 4,         /* a stack, by id */
    FMT_REC_THREAD = 5,        /* the events that follow in this chunk are this thread's */
    FMT_REC_ALLOC = 6,         /* an allocation */
    FMT_REC_FREE = 7,          /* the free of a recorded allocation */
    FMT_REC_TYPE = 8,          /* a type name, by id */
    FMT_REC_TAG = 9,           /* a block's type (hs_tag) */
    FMT_REC_SNAPSHOT_BEGIN = 10, /* a snapshot starts */
    FMT_REC_BLOCKS = 11,       /* a list of a snapshot's live blocks */
    FMT_REC_SNAPSHOT_END = 12, /* a snapshot is whole */
    FMT_REC_HEAP_STAT = 13,    /* the heap's figures at a tick */
    FMT_REC_PROCESS_END = 14,  /* the process image ended */
    FMT_REC_ROOT = 15,         /* a root region of the current snapshot */
    FMT_REC_EDGES = 16,        /* a list of the current snapshot's pointers */
    FMT_REC_RC = 17,           /* a refcount event */
    FMT_REC_SUPPRESSIONS = 18, /* the program's __lsan_default_suppressions() */
    FMT_REC_SEQ = 19,          /* the chunk's number: first in a chunk made from a journal region */
    FMT_REC_ALLOCATOR = 20,    /* an allocator heapscope does not see */
    FMT_REC_FREE_FLAGGED = 21, /* 21 to 25: a FREE whose flags are 1 to 5 (version 4) */
    FMT_REC_OBJECTS = 26,      /* a list of the current snapshot's CPython objects (version 5) */
};

/* Refcount events (FMT_REC_RC.op), from the refcount shim. */
enum fmt_rc_op {
    FMT_RC_NEW = 0, FMT_RC_RETAIN, FMT_RC_RELEASE, FMT_RC_FREE, FMT_RC_WEAK_NEW, FMT_RC_WEAK_CLEAR,
    FMT_RC_MISUSE_RETAIN, FMT_RC_MISUSE_RELEASE, FMT_RC_MISUSE_WEAK, FMT_RC_MISUSE_COUNT, FMT_RC_OP_COUNT
};
/* The shim reports a misuse with the op it was attempting; the trace records
 * it as the matching FMT_RC_MISUSE_* op. */
const char *fmt_rc_op_name(unsigned op);

/* Kinds of root regions (FMT_REC_ROOT.kind). */
enum fmt_root_kind {
    FMT_ROOT_GLOBAL = 0, FMT_ROOT_STACK = 1, FMT_ROOT_REGISTERS = 2, FMT_ROOT_TLS = 3,
    FMT_ROOT_MAPPING = 4, /* other writable memory: mapped by the program, exited threads' stacks, ... */
    FMT_ROOT_KIND_COUNT
};

/* Interior-pointer rules an edge satisfies (EDGES.rules, a bit set): which
 * explanations of a pointer into the middle of a block apply to it.
 * valgrind's four heuristics (memcheck/mc_leakcheck.c), then glibc's thread
 * control block pointing at its DTV 16 bytes in. */
enum fmt_heuristic {
    FMT_HEUR_STDSTRING = 1, FMT_HEUR_LENGTH64 = 2, FMT_HEUR_NEWARRAY = 4,
    FMT_HEUR_MULTIPLE_INHERITANCE = 8, FMT_HEUR_DTV = 16,
    FMT_HEUR_PYGC = 32, /* CPython's GC objects: past PyGC_Head, 16 bytes into the block */
    FMT_EDGE_GC_LIST = 64, /* not a rule: a pointer to a CPython GC object's PyGC_Head, the
                              collector's list; no reference (dropped with pygc) */
    FMT_EDGE_NOT_REF = 128, /* not a rule: a word CPython does not count as a reference: a weak
                               reference's pointer to its object or the links of an object's weak
                               references, a list's item array past its size, a dead object's
                               (refcount 0, kept on a free list) (dropped with pygc; version 5) */
    FMT_HEUR_COUNT = 6 /* bits */
};

/* Which interposed function made an allocation (FMT_REC_ALLOC.fn). */
enum fmt_alloc_fn {
    FMT_FN_MALLOC = 0, FMT_FN_CALLOC, FMT_FN_REALLOC, FMT_FN_REALLOCARRAY,
    FMT_FN_POSIX_MEMALIGN, FMT_FN_ALIGNED_ALLOC, FMT_FN_MEMALIGN, FMT_FN_VALLOC,
    FMT_FN_PVALLOC, FMT_FN_COUNT
};

/* Why a process's trace ended (FMT_REC_PROCESS_END.reason). */
enum fmt_end_reason { FMT_END_EXIT = 0, FMT_END_EXEC = 1 };

/* Flags of a block in a snapshot. */
#define FMT_BLOCK_IGNORED 1u   /* hs_ignore: a root, never reported */
#define FMT_BLOCK_INHERITED 2u /* allocated before this process was forked: its parent's to judge */

/* Stack id 0 means "no stack" (the allocation could not be unwound). */
#define FMT_NO_STACK 0u
#define FMT_NO_TYPE 0u

const char *fmt_alloc_fn_name(unsigned fn);

/* The journal (the trace's path + ".journal"): the buffers not yet in the
 * trace, as the preload fills them, in a file it maps shared, so that they
 * outlive a process that is killed. A 4096-byte header (the magic, u32le
 * version, u32le region size, u32le pid), then regions of that size at
 * multiples of it. A region is a 64-byte header (u32le magic, u32le bytes
 * of whole records that follow, u64le seq: the number of the chunk it will
 * become, 0 while free) and raw records, a SEQ record first. The preload
 * compresses a full region into a chunk of the trace and only then frees
 * it; a reader takes, after the trace's chunks, each region whose seq no
 * chunk of the trace had, in seq order. */
#define FMT_JOURNAL_SUFFIX ".journal"
#define FMT_JOURNAL_MAGIC "HSJOURN1"
#define FMT_JOURNAL_VERSION 1u
#define FMT_JOURNAL_HEADER_SIZE 4096u
#define FMT_REGION_MAGIC 0x47525348u /* "HSRG" little-endian */
#define FMT_REGION_HEADER_SIZE 64u
#define FMT_REGION_MAX (64u << 20)

struct fmt_region_header {
    uint32_t magic;
    uint32_t used; /* written with release order after each whole record */
    uint64_t seq;
    uint8_t zero[48];
};

/* ---- encoding (used by the preload) ---- */

/* A caller-owned byte buffer. The encoders never grow it: callers reserve
 * room first, the FMT_*_ROOM of each record they write. */
struct fmt_buf {
    uint8_t *data;
    size_t len, cap;
    /* ALLOC's time is a delta from the previous ALLOC of the same chunk (a
     * thread's times grow slowly); it starts at 0 in each chunk. */
    uint64_t prev_time;
    /* A BLOCKS item's address and birth are deltas from the previous item's
     * of the same record; they start at 0 in each record. */
    uint64_t prev_addr, prev_birth;
};

/* Empties a buffer that will start a new chunk. */
static inline void fmt_buf_clear(struct fmt_buf *b) { b->len = 0; b->prev_time = 0; }

static inline uint64_t fmt_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t fmt_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* The fields. Each record's encoder below is made of these; nothing else
 * should call them, but for tests that write malformed records. */
#define FMT_VARINT_MAX 10u
/* Room a string field of n bytes needs. */
#define FMT_STR_ROOM(n) (FMT_VARINT_MAX + (size_t)(n))
/* Room a record of a type byte, `varints` varints and no string needs. */
#define FMT_ROOM(varints) (1u + (size_t)(varints) * FMT_VARINT_MAX)

static inline void fmt_put_u8(struct fmt_buf *b, uint8_t v) { b->data[b->len++] = v; }

static inline void fmt_put_varint(struct fmt_buf *b, uint64_t v)
{
    uint8_t *p = b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->data);
}

/* The time field of ALLOC, as a delta. */
static inline void fmt_put_time(struct fmt_buf *b, uint64_t t)
{
    fmt_put_varint(b, fmt_zigzag((int64_t)(t - b->prev_time)));
    b->prev_time = t;
}

void fmt_put_bytes(struct fmt_buf *b, const void *p, size_t n);
void fmt_put_str(struct fmt_buf *b, const char *s); /* NULL is written as "", more than FMT_MAX_STRING bytes cut */

/* ---- the records ----
 *
 * Each record in type order: its fields (the layout), the form the reader
 * (format.c, fmt_reader_next) hands it out in as a member of struct
 * fmt_record, the room its encoder needs and its encoder. Every encoder
 * writes the type byte and the fields in the order given; all integer
 * fields are varints. */

/* PROCESS: pid, ppid, start_unix_ns, max_frames, str program, str exe, str cmdline */
struct fmt_process {
    uint64_t pid, ppid, start_unix_ns, max_frames;
    const char *program, *exe, *cmdline;
};
#define FMT_PROCESS_ROOM(program_len, exe_len, cmdline_len) \
    (FMT_ROOM(4) + FMT_STR_ROOM(program_len) + FMT_STR_ROOM(exe_len) + FMT_STR_ROOM(cmdline_len))
static inline void fmt_put_process(struct fmt_buf *b, uint64_t pid, uint64_t ppid, uint64_t start_unix_ns,
                                   uint64_t max_frames, const char *program, const char *exe,
                                   const char *cmdline)
{
    fmt_put_u8(b, FMT_REC_PROCESS);
    fmt_put_varint(b, pid);
    fmt_put_varint(b, ppid);
    fmt_put_varint(b, start_unix_ns);
    fmt_put_varint(b, max_frames);
    fmt_put_str(b, program);
    fmt_put_str(b, exe);
    fmt_put_str(b, cmdline);
}

/* MODULE_LOAD: id, bias, start, end, str path, str build_id (raw bytes) */
struct fmt_module {
    uint64_t id, bias, start, end;
    const char *path;
    const uint8_t *build_id;
    size_t build_id_len;
};
#define FMT_MODULE_LOAD_ROOM(path_len, build_id_len) \
    (FMT_ROOM(4) + FMT_STR_ROOM(path_len) + FMT_STR_ROOM(build_id_len))
static inline void fmt_put_module_load(struct fmt_buf *b, uint64_t id, uint64_t bias, uint64_t start,
                                       uint64_t end, const char *path, const void *build_id,
                                       size_t build_id_len)
{
    fmt_put_u8(b, FMT_REC_MODULE_LOAD);
    fmt_put_varint(b, id);
    fmt_put_varint(b, bias);
    fmt_put_varint(b, start);
    fmt_put_varint(b, end);
    fmt_put_str(b, path);
    fmt_put_bytes(b, build_id, build_id_len);
}

/* MODULE_UNLOAD: id (read into fmt_record.u.id) */
#define FMT_MODULE_UNLOAD_ROOM FMT_ROOM(1)
static inline void fmt_put_module_unload(struct fmt_buf *b, uint64_t id)
{
    fmt_put_u8(b, FMT_REC_MODULE_UNLOAD);
    fmt_put_varint(b, id);
}

/* STACK: id, n, n x return address (the allocator's caller first; at most
 * FMT_MAX_FRAMES) */
struct fmt_stack {
    uint64_t id, n;
    const uint64_t *frames;
};
#define FMT_STACK_ROOM(n) FMT_ROOM(2 + (size_t)(n))
static inline void fmt_put_stack(struct fmt_buf *b, uint64_t id, const uintptr_t *frames, unsigned n)
{
    fmt_put_u8(b, FMT_REC_STACK);
    fmt_put_varint(b, id);
    fmt_put_varint(b, n);
    for (unsigned i = 0; i < n; i++)
        fmt_put_varint(b, frames[i]);
}

/* THREAD: tid. Not handed out: the reader puts it in the tid of each event
 * record that follows in the chunk. */
#define FMT_THREAD_ROOM FMT_ROOM(1)
static inline void fmt_put_thread(struct fmt_buf *b, uint64_t tid)
{
    fmt_put_u8(b, FMT_REC_THREAD);
    fmt_put_varint(b, tid);
}

/* ALLOC: fn, size, stack_id, zigzag(time_ns - the previous ALLOC's time_ns
 * in the chunk, or 0); the reader hands out the time itself */
struct fmt_alloc {
    uint64_t fn, size, stack_id, time_ns;
};
#define FMT_ALLOC_ROOM FMT_ROOM(4)
static inline void fmt_put_alloc(struct fmt_buf *b, uint64_t fn, uint64_t size, uint64_t stack_id,
                                 uint64_t time_ns)
{
    fmt_put_u8(b, FMT_REC_ALLOC);
    fmt_put_varint(b, fn);
    fmt_put_varint(b, size);
    fmt_put_varint(b, stack_id);
    fmt_put_time(b, time_ns);
}

/* FREE: size, stack_id (of the allocation: no address, see docs/FORMAT.md);
 * its flags (version 4) in the record's type, so that they cost no byte:
 * FMT_REC_FREE for none, FMT_REC_FREE_FLAGGED - 1 + flags for the others.
 * The reader hands out every FREE as FMT_REC_FREE with its flags. */
#define FMT_FREE_TEMPORARY 1u /* freed by the thread that made it, its next allocation or free */
#define FMT_FREE_AGE_SHIFT 1  /* bits 1-2: how long it lived, FMT_AGE_* */
#define FMT_FREE_FLAGS_MAX 5u
enum { FMT_AGE_UNDER_MS, FMT_AGE_UNDER_S, FMT_AGE_LONGER, FMT_AGE_COUNT };
struct fmt_free {
    uint64_t size, stack_id, flags;
};
#define FMT_FREE_ROOM FMT_ROOM(2)
static inline void fmt_put_free(struct fmt_buf *b, uint64_t size, uint64_t stack_id, unsigned flags)
{
    fmt_put_u8(b, flags && flags <= FMT_FREE_FLAGS_MAX ? FMT_REC_FREE_FLAGGED - 1 + flags : FMT_REC_FREE);
    fmt_put_varint(b, size);
    fmt_put_varint(b, stack_id);
}

/* TYPE: id, str name */
struct fmt_type {
    uint64_t id;
    const char *name;
};
#define FMT_TYPE_ROOM(name_len) (FMT_ROOM(1) + FMT_STR_ROOM(name_len))
static inline void fmt_put_type(struct fmt_buf *b, uint64_t id, const char *name)
{
    fmt_put_u8(b, FMT_REC_TYPE);
    fmt_put_varint(b, id);
    fmt_put_str(b, name);
}

/* TAG: addr, type_id */
struct fmt_tag {
    uint64_t addr, type_id;
};
#define FMT_TAG_ROOM FMT_ROOM(2)
static inline void fmt_put_tag(struct fmt_buf *b, uint64_t addr, uint64_t type_id)
{
    fmt_put_u8(b, FMT_REC_TAG);
    fmt_put_varint(b, addr);
    fmt_put_varint(b, type_id);
}

/* SNAPSHOT_BEGIN: index, str name, time_ns, blocks, bytes, scanned (0 or 1),
 * rc_seq (the last RC seq given out before it) */
struct fmt_snapshot {
    uint64_t index;
    const char *name;
    uint64_t time_ns, blocks, bytes, scanned, rc_seq;
};
#define FMT_SNAPSHOT_BEGIN_ROOM(name_len) (FMT_ROOM(6) + FMT_STR_ROOM(name_len))
static inline void fmt_put_snapshot_begin(struct fmt_buf *b, uint64_t index, const char *name, uint64_t time_ns,
                                          uint64_t blocks, uint64_t bytes, uint64_t scanned, uint64_t rc_seq)
{
    fmt_put_u8(b, FMT_REC_SNAPSHOT_BEGIN);
    fmt_put_varint(b, index);
    fmt_put_str(b, name);
    fmt_put_varint(b, time_ns);
    fmt_put_varint(b, blocks);
    fmt_put_varint(b, bytes);
    fmt_put_varint(b, scanned);
    fmt_put_varint(b, rc_seq);
}

/* BLOCKS: n, then n items: addr - the previous item's addr, size, stack_id,
 * type_id, zigzag(birth_ns - the previous item's birth_ns), flags, hash,
 * word0 (both deltas from 0 for the first item). The reader hands out one
 * item at a time, each as a FMT_REC_BLOCKS record with absolute values.
 * Write the header, then exactly n items. */
struct fmt_block {
    uint64_t addr, size, stack_id, type_id, birth_ns, flags, hash, word0;
};
#define FMT_BLOCK_ROOM (8 * (size_t)FMT_VARINT_MAX)
#define FMT_BLOCKS_ROOM(n) (FMT_ROOM(1) + (size_t)(n) * FMT_BLOCK_ROOM)
static inline void fmt_put_blocks(struct fmt_buf *b, uint64_t n)
{
    fmt_put_u8(b, FMT_REC_BLOCKS);
    fmt_put_varint(b, n);
    b->prev_addr = b->prev_birth = 0;
}
static inline void fmt_put_block(struct fmt_buf *b, uint64_t addr, uint64_t size, uint64_t stack_id,
                                 uint64_t type_id, uint64_t birth_ns, uint64_t flags, uint64_t hash,
                                 uint64_t word0)
{
    fmt_put_varint(b, addr - b->prev_addr); /* wraps when addresses go down */
    fmt_put_varint(b, size);
    fmt_put_varint(b, stack_id);
    fmt_put_varint(b, type_id);
    fmt_put_varint(b, fmt_zigzag((int64_t)(birth_ns - b->prev_birth)));
    fmt_put_varint(b, flags);
    fmt_put_varint(b, hash);
    fmt_put_varint(b, word0);
    b->prev_addr = addr;
    b->prev_birth = birth_ns;
}

/* OBJECTS: n, then n items: addr - the previous item's addr (from 0 for the
 * first), what, refcount, value. A scanned snapshot's blocks that hold
 * CPython objects, after its BLOCKS, in address order: what is 1 + offset / 8 for a
 * block that holds an object offset bytes in (past its PyGC_Head), with its
 * ob_refcnt; 0 for the storage an object owns (a list's items, a dict's
 * keys or values), refcount 0. value: a hash of a list's or tuple's items
 * (equal items, equal values), 0 for none. The reader hands out one item at
 * a time, each as a FMT_REC_OBJECTS record with absolute values. */
struct fmt_object {
    uint64_t addr, what, refcount, value;
};
#define FMT_OBJECT_ROOM (4 * (size_t)FMT_VARINT_MAX)
#define FMT_OBJECTS_ROOM(n) (FMT_ROOM(1) + (size_t)(n) * FMT_OBJECT_ROOM)
static inline void fmt_put_objects(struct fmt_buf *b, uint64_t n)
{
    fmt_put_u8(b, FMT_REC_OBJECTS);
    fmt_put_varint(b, n);
    b->prev_addr = 0;
}
static inline void fmt_put_object(struct fmt_buf *b, uint64_t addr, uint64_t what, uint64_t refcount,
                                  uint64_t value)
{
    fmt_put_varint(b, addr - b->prev_addr);
    fmt_put_varint(b, what);
    fmt_put_varint(b, refcount);
    fmt_put_varint(b, value);
    b->prev_addr = addr;
}

/* SNAPSHOT_END: index (read into fmt_record.u.id) */
#define FMT_SNAPSHOT_END_ROOM FMT_ROOM(1)
static inline void fmt_put_snapshot_end(struct fmt_buf *b, uint64_t index)
{
    fmt_put_u8(b, FMT_REC_SNAPSHOT_END);
    fmt_put_varint(b, index);
}

/* HEAP_STAT: time_ns, live_bytes, live_blocks, allocs, bytes_allocated,
 * rss_bytes (the process's resident set; version 4, 0 if unknown) */
struct fmt_heap_stat {
    uint64_t time_ns, live_bytes, live_blocks, allocs, bytes_allocated, rss_bytes;
};
#define FMT_HEAP_STAT_ROOM FMT_ROOM(6)
static inline void fmt_put_heap_stat(struct fmt_buf *b, uint64_t time_ns, uint64_t live_bytes,
                                     uint64_t live_blocks, uint64_t allocs, uint64_t bytes_allocated,
                                     uint64_t rss_bytes)
{
    fmt_put_u8(b, FMT_REC_HEAP_STAT);
    fmt_put_varint(b, time_ns);
    fmt_put_varint(b, live_bytes);
    fmt_put_varint(b, live_blocks);
    fmt_put_varint(b, allocs);
    fmt_put_varint(b, bytes_allocated);
    fmt_put_varint(b, rss_bytes);
}

/* PROCESS_END: time_ns, reason (enum fmt_end_reason), allocs, frees,
 * bytes_allocated, peak_bytes, peak_time_ns */
struct fmt_end {
    uint64_t time_ns, reason, allocs, frees, bytes_allocated, peak_bytes, peak_time_ns;
};
#define FMT_PROCESS_END_ROOM FMT_ROOM(7)
static inline void fmt_put_process_end(struct fmt_buf *b, uint64_t time_ns, uint64_t reason, uint64_t allocs,
                                       uint64_t frees, uint64_t bytes_allocated, uint64_t peak_bytes,
                                       uint64_t peak_time_ns)
{
    fmt_put_u8(b, FMT_REC_PROCESS_END);
    fmt_put_varint(b, time_ns);
    fmt_put_varint(b, reason);
    fmt_put_varint(b, allocs);
    fmt_put_varint(b, frees);
    fmt_put_varint(b, bytes_allocated);
    fmt_put_varint(b, peak_bytes);
    fmt_put_varint(b, peak_time_ns);
}

/* ROOT: id, kind (enum fmt_root_kind), start, end, tid: a root region of
 * the current snapshot, ids from 0 in order */
struct fmt_root {
    uint64_t id, kind, start, end, tid;
};
#define FMT_ROOT_ROOM FMT_ROOM(5)
static inline void fmt_put_root(struct fmt_buf *b, uint64_t id, uint64_t kind, uint64_t start, uint64_t end,
                                uint64_t tid)
{
    fmt_put_u8(b, FMT_REC_ROOT);
    fmt_put_varint(b, id);
    fmt_put_varint(b, kind);
    fmt_put_varint(b, start);
    fmt_put_varint(b, end);
    fmt_put_varint(b, tid);
}

/* EDGES: n, then n items: src << 1 | src_is_root, src_off, dst, dst_off,
 * rules (enum fmt_heuristic bits; not in version 2). The reader hands out
 * one item at a time, each as a FMT_REC_EDGES record. Write the header,
 * then exactly n items. */
struct fmt_edge {
    uint64_t src, src_is_root, src_off, dst, dst_off, rules;
};
#define FMT_EDGE_ROOM (5 * (size_t)FMT_VARINT_MAX)
#define FMT_EDGES_ROOM(n) (FMT_ROOM(1) + (size_t)(n) * FMT_EDGE_ROOM)
static inline void fmt_put_edges(struct fmt_buf *b, uint64_t n)
{
    fmt_put_u8(b, FMT_REC_EDGES);
    fmt_put_varint(b, n);
}
/* src below 2^63; src_is_root 0 or 1 */
static inline void fmt_put_edge(struct fmt_buf *b, uint64_t src, unsigned src_is_root, uint64_t src_off,
                                uint64_t dst, uint64_t dst_off, uint64_t rules)
{
    fmt_put_varint(b, src << 1 | src_is_root);
    fmt_put_varint(b, src_off);
    fmt_put_varint(b, dst);
    fmt_put_varint(b, dst_off);
    fmt_put_varint(b, rules);
}

/* RC: op (enum fmt_rc_op), addr, count + 1 (so -1, a misuse's, is 0),
 * stack_id, seq, type_id, object id */
struct fmt_rc {
    uint64_t op, addr;
    int64_t count;
    uint64_t stack_id, seq, type_id, id;
};
#define FMT_RC_ROOM FMT_ROOM(7)
static inline void fmt_put_rc(struct fmt_buf *b, uint64_t op, uint64_t addr, int64_t count, uint64_t stack_id,
                              uint64_t seq, uint64_t type_id, uint64_t id)
{
    fmt_put_u8(b, FMT_REC_RC);
    fmt_put_varint(b, op);
    fmt_put_varint(b, addr);
    fmt_put_varint(b, (uint64_t)count + 1); /* in unsigned arithmetic: no overflow */
    fmt_put_varint(b, stack_id);
    fmt_put_varint(b, seq);
    fmt_put_varint(b, type_id);
    fmt_put_varint(b, id);
}

/* SUPPRESSIONS: str text (read into fmt_record.u.text) */
#define FMT_SUPPRESSIONS_ROOM(text_len) (FMT_ROOM(0) + FMT_STR_ROOM(text_len))
static inline void fmt_put_suppressions(struct fmt_buf *b, const char *text)
{
    fmt_put_u8(b, FMT_REC_SUPPRESSIONS);
    fmt_put_str(b, text);
}

/* SEQ: seq, the number of the journal region the chunk was (read into
 * fmt_record.u.id) */
#define FMT_SEQ_ROOM FMT_ROOM(1)
static inline void fmt_put_seq(struct fmt_buf *b, uint64_t seq)
{
    fmt_put_u8(b, FMT_REC_SEQ);
    fmt_put_varint(b, seq);
}

/* ALLOCATOR: malloc_ours (0: malloc itself is not heapscope's; 1: an
 * allocator's own API beside heapscope's malloc), str name (jemalloc,
 * mimalloc, tcmalloc, or "" if unknown), str module (where it is) */
struct fmt_allocator {
    uint64_t malloc_ours;
    const char *name, *module;
};
#define FMT_ALLOCATOR_ROOM(name_len, module_len) (FMT_ROOM(1) + FMT_STR_ROOM(name_len) + FMT_STR_ROOM(module_len))
static inline void fmt_put_allocator(struct fmt_buf *b, int malloc_ours, const char *name, const char *module)
{
    fmt_put_u8(b, FMT_REC_ALLOCATOR);
    fmt_put_varint(b, (uint64_t)malloc_ours);
    fmt_put_str(b, name);
    fmt_put_str(b, module);
}

/* ---- chunks ---- */

/* Writes the 16-byte file header into out. */
void fmt_file_header(uint8_t out[FMT_FILE_HEADER_SIZE]);

/* Room a zstd frame of n raw bytes may need, chunk header included. */
size_t fmt_chunk_bound(size_t n);

/* Compresses raw[0..n) into out (of room fmt_chunk_bound(n)) as one chunk.
 * cctx is a ZSTD_CCtx*. Returns the chunk's size, or 0 on failure. */
size_t fmt_chunk_encode(void *cctx, int level, const void *raw, size_t n, void *out, size_t room);

/* ---- decoding (used by the analyzer) ---- */

/* One decoded record. Strings and frames point into the reader's memory and
 * stay valid until the next fmt_reader_next call. A FMT_REC_BLOCKS record is
 * handed out one block at a time, as FMT_REC_BLOCKS with block filled; a
 * FMT_REC_EDGES record one edge at a time, with edge filled; a
 * FMT_REC_OBJECTS record one object at a time, with object filled. */
struct fmt_record {
    unsigned type;
    uint32_t tid; /* the thread of an event record, 0 if unknown */
    union {
        struct fmt_process process;
        struct fmt_module module;
        struct fmt_stack stack;
        struct fmt_alloc alloc;
        struct fmt_free free;
        struct fmt_type type;
        struct fmt_tag tag;
        struct fmt_snapshot snapshot;
        struct fmt_rc rc;
        struct fmt_block block;
        struct fmt_root root;
        const char *text; /* SUPPRESSIONS */
        struct fmt_allocator allocator;
        struct fmt_edge edge;
        struct fmt_object object;
        struct fmt_heap_stat heap_stat;
        struct fmt_end end;
        uint64_t id; /* MODULE_UNLOAD, SNAPSHOT_END, SEQ */
    } u;
};

struct fmt_reader;

/* Opens a trace. On failure returns NULL and writes one line into err. */
struct fmt_reader *fmt_reader_open(const char *path, char *err, size_t errlen);
void fmt_reader_close(struct fmt_reader *r);

/* Reads the next record: 1 when one was read, 0 at the end of the trace.
 * Damage (a cut-short chunk, a bad checksum, a malformed record) also ends
 * the trace: the records before it stay good, and fmt_reader_damage() says
 * what was wrong, or NULL for a clean end. */
int fmt_reader_next(struct fmt_reader *r, struct fmt_record *rec);
const char *fmt_reader_damage(const struct fmt_reader *r);
/* Bytes of the file consumed so far, and its size (for progress). */
uint64_t fmt_reader_offset(const struct fmt_reader *r);
uint64_t fmt_reader_size(const struct fmt_reader *r);
/* Starts again from the first record. */
int fmt_reader_rewind(struct fmt_reader *r);
/* The trace's format version (FMT_VERSION_OLDEST .. FMT_VERSION). */
unsigned fmt_reader_version(const struct fmt_reader *r);

#endif

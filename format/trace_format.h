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
#define FMT_VERSION 3u
#define FMT_VERSION_OLDEST 1u /* v1: ALLOC and FREE carried an address delta too; v2: edges had no rules */
#define FMT_FILE_HEADER_SIZE 16u    /* magic, u32le version, u32le flags */
#define FMT_CHUNK_MAGIC 0x4b435348u /* "HSCK" little-endian */
#define FMT_CHUNK_HEADER_SIZE 12u   /* u32le magic, u32le compressed, u32le raw */
#define FMT_CHUNK_MAX_RAW (64u << 20)
#define FMT_MAX_FRAMES 1024u        /* a reader rejects longer stacks */
#define FMT_MAX_STRING 65536u

enum fmt_record_type {
    FMT_REC_PROCESS = 1,       /* pid, ppid, start_unix_ns, max_frames, str program, str exe, str cmdline */
    FMT_REC_MODULE_LOAD = 2,   /* id, bias, start, end, str path, str build_id (raw bytes) */
    FMT_REC_MODULE_UNLOAD = 3, /* id */
    FMT_REC_STACK = 4,         /* id, n, n x return address */
    FMT_REC_THREAD = 5,        /* tid: the events that follow in this chunk are this thread's */
    FMT_REC_ALLOC = 6,         /* fn, size, stack_id, zigzag(time_ns - prev time) */
    FMT_REC_FREE = 7,          /* size, stack_id (of the allocation) */
    FMT_REC_TYPE = 8,          /* id, str name */
    FMT_REC_TAG = 9,           /* addr, type_id */
    FMT_REC_SNAPSHOT_BEGIN = 10, /* index, str name, time_ns, blocks, bytes, scanned, rc_seq */
    FMT_REC_BLOCKS = 11,       /* n, n x (addr delta, size, stack_id, type_id, birth_ns, flags, hash, word0) */
    FMT_REC_SNAPSHOT_END = 12, /* index */
    FMT_REC_HEAP_STAT = 13,    /* time_ns, live_bytes, live_blocks, allocs, bytes_allocated */
    FMT_REC_PROCESS_END = 14,  /* time_ns, reason, allocs, frees, bytes_allocated, peak_bytes, peak_time_ns */
    FMT_REC_ROOT = 15,         /* id, kind, start, end, tid: a root region of the current snapshot */
    FMT_REC_EDGES = 16,        /* n, n x (src << 1 | src_is_root, src_off, dst, dst_off, rules) */
    FMT_REC_RC = 17,           /* op, addr, count + 1, stack_id, seq, type_id, object id: a refcount event */
    FMT_REC_SUPPRESSIONS = 18, /* str: the program's __lsan_default_suppressions() */
    FMT_REC_SEQ = 19,          /* seq: the chunk's number, first in a chunk made from a journal region */
    FMT_REC_ALLOCATOR = 20,    /* malloc_ours, str name, str module: an allocator heapscope does not see */
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
    FMT_HEUR_COUNT = 5 /* bits */
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
 * room first (FMT_REC_MAX bounds every fixed-size record). */
struct fmt_buf {
    uint8_t *data;
    size_t len, cap;
    /* ALLOC's time is a delta from the previous ALLOC of the same chunk (a
     * thread's times grow slowly); it starts at 0 in each chunk. */
    uint64_t prev_time;
};

/* Empties a buffer that will start a new chunk. */
static inline void fmt_buf_clear(struct fmt_buf *b) { b->len = 0; b->prev_time = 0; }

static inline uint64_t fmt_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t fmt_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }
#define FMT_VARINT_MAX 10u
#define FMT_REC_MAX 96u /* room for the largest fixed-field record (no strings, no frames) */

static inline void fmt_put_u8(struct fmt_buf *b, uint8_t v) { b->data[b->len++] = v; }
static inline void fmt_put_varint(struct fmt_buf *b, uint64_t v);

/* The time field of ALLOC, as a delta. */
static inline void fmt_put_time(struct fmt_buf *b, uint64_t t)
{
    fmt_put_varint(b, fmt_zigzag((int64_t)(t - b->prev_time)));
    b->prev_time = t;
}

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

/* Room a string field needs. */
static inline size_t fmt_str_size(size_t n) { return FMT_VARINT_MAX + n; }
void fmt_put_bytes(struct fmt_buf *b, const void *p, size_t n);
void fmt_put_str(struct fmt_buf *b, const char *s); /* NULL is written as "" */

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
 * FMT_REC_EDGES record one edge at a time, with edge filled. */
struct fmt_record {
    unsigned type;
    uint32_t tid; /* the thread of an event record, 0 if unknown */
    union {
        struct { uint64_t pid, ppid, start_unix_ns, max_frames;
                 const char *program, *exe, *cmdline; } process;
        struct { uint64_t id, bias, start, end; const char *path;
                 const uint8_t *build_id; size_t build_id_len; } module;
        struct { uint64_t id, n; const uint64_t *frames; } stack;
        struct { uint64_t fn, size, stack_id, time_ns; } alloc;
        struct { uint64_t size, stack_id; } free;
        struct { uint64_t id; const char *name; } type;
        struct { uint64_t addr, type_id; } tag;
        struct { uint64_t index; const char *name; uint64_t time_ns, blocks, bytes, scanned, rc_seq; } snapshot;
        struct { uint64_t op, addr; int64_t count; uint64_t stack_id, seq, type_id, id; } rc;
        struct { uint64_t addr, size, stack_id, type_id, birth_ns, flags, hash, word0; } block;
        struct { uint64_t id, kind, start, end, tid; } root;
        const char *text; /* SUPPRESSIONS */
        struct { uint64_t malloc_ours; const char *name, *module; } allocator;
        struct { uint64_t src, src_is_root, src_off, dst, dst_off, rules; } edge;
        struct { uint64_t time_ns, live_bytes, live_blocks, allocs, bytes_allocated; } heap_stat;
        struct { uint64_t time_ns, reason, allocs, frees, bytes_allocated,
                 peak_bytes, peak_time_ns; } end;
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

#endif

/*
 * Unit tests of the trace format (format/trace_format.h, format/format.c):
 * the encoders, a round trip of every record type through real chunks and a
 * real file, and the reader's behaviour on damaged files (cut short at every
 * offset, a flipped bit anywhere, garbage inside a valid zstd frame,
 * malformed records).
 *
 * A trace is described as a list of operations (records, THREAD markers,
 * block and edge lists, chunk breaks); build_trace() encodes it with the real encoders
 * and remembers, for every record the reader should return, the record itself
 * and the file offset at which its chunk ends.
 */
#include "trace_format.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "check_quiet.h"

/* ------------------------------------------------------------ temp dir */

static char tmpdir[4096];

static void tmpdir_setup(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/hs_unit_format_XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        abort();
    }
}

static void tmpdir_teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[8192];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

static const char *tmp_path(const char *name)
{
    static char p[8192];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        REQUIRE(w > 0, "write %s: %s", path, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    REQUIRE(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

/* Overwrites the version in a file header (a u32le at byte 8). */
static void set_version(uint8_t *h, uint32_t v)
{
    h[8] = (uint8_t)v;
    h[9] = (uint8_t)(v >> 8);
    h[10] = (uint8_t)(v >> 16);
    h[11] = (uint8_t)(v >> 24);
}

/* ------------------------------------------------------- test strings */

static char s127[128], s128[129], s300[301];
static char s_max[FMT_MAX_STRING + 1];      /* exactly FMT_MAX_STRING bytes */
static char s_over[FMT_MAX_STRING + 5000];  /* longer: fmt_put_str cuts it */
static uint64_t frames_max[FMT_MAX_FRAMES];
static const uint64_t frames3[] = { 0x401000, 0x401234, 0x7fff00001234 };
static const uint64_t frames_edge[] = { 0, 127, 128, 1ull << 32, UINT64_MAX };
static const uint8_t build_id20[20] = { 0x00, 0x11, 0x22, 0x00, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                        0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x80, 0x7f, 0x00 };

static void fill(char *s, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('!' + (i * 7 + seed + i / 13) % 94);
    s[n] = 0;
}

static void init_data(void)
{
    fill(s127, 127, 1);
    fill(s128, 128, 2);
    fill(s300, 300, 3);
    fill(s_max, FMT_MAX_STRING, 4);
    fill(s_over, sizeof s_over - 1, 5);
    for (unsigned i = 0; i < FMT_MAX_FRAMES; i++)
        frames_max[i] = 0x7f0000000000ull + (uint64_t)i * 0x1235;
    frames_max[0] = 0;
    frames_max[1] = UINT64_MAX;
    frames_max[2] = 128;
    frames_max[FMT_MAX_FRAMES - 1] = 1ull << 32;
}

/* ------------------------------------------------------ record encoder */

/* A record of the test tables, written by the encoder of its type in
 * trace_format.h: the one the preload writes traces with. */
static void put_rec(struct fmt_buf *b, const struct fmt_record *r)
{
    const struct fmt_process *p = &r->u.process;
    const struct fmt_module *m = &r->u.module;
    const struct fmt_snapshot *sn = &r->u.snapshot;
    const struct fmt_rc *rc = &r->u.rc;
    const struct fmt_root *root = &r->u.root;
    const struct fmt_heap_stat *hs = &r->u.heap_stat;
    const struct fmt_end *end = &r->u.end;
    switch (r->type) {
    case FMT_REC_PROCESS:
        fmt_put_process(b, p->pid, p->ppid, p->start_unix_ns, p->max_frames, p->program, p->exe, p->cmdline);
        break;
    case FMT_REC_MODULE_LOAD:
        fmt_put_module_load(b, m->id, m->bias, m->start, m->end, m->path, m->build_id, m->build_id_len);
        break;
    case FMT_REC_MODULE_UNLOAD:
        fmt_put_module_unload(b, r->u.id);
        break;
    case FMT_REC_STACK:
        fmt_put_stack(b, r->u.stack.id, r->u.stack.frames, (unsigned)r->u.stack.n);
        break;
    case FMT_REC_ALLOC:
        fmt_put_alloc(b, r->u.alloc.fn, r->u.alloc.size, r->u.alloc.stack_id, r->u.alloc.time_ns);
        break;
    case FMT_REC_FREE:
        fmt_put_free(b, r->u.free.size, r->u.free.stack_id, (unsigned)r->u.free.flags);
        break;
    case FMT_REC_TYPE:
        fmt_put_type(b, r->u.type.id, r->u.type.name);
        break;
    case FMT_REC_TAG:
        fmt_put_tag(b, r->u.tag.addr, r->u.tag.type_id);
        break;
    case FMT_REC_SNAPSHOT_BEGIN:
        fmt_put_snapshot_begin(b, sn->index, sn->name, sn->time_ns, sn->blocks, sn->bytes, sn->scanned,
                               sn->rc_seq);
        break;
    case FMT_REC_SNAPSHOT_END:
        fmt_put_snapshot_end(b, r->u.id);
        break;
    case FMT_REC_RC:
        fmt_put_rc(b, rc->op, rc->addr, rc->count, rc->stack_id, rc->seq, rc->type_id, rc->id);
        break;
    case FMT_REC_ROOT:
        fmt_put_root(b, root->id, root->kind, root->start, root->end, root->tid);
        break;
    case FMT_REC_HEAP_STAT:
        fmt_put_heap_stat(b, hs->time_ns, hs->live_bytes, hs->live_blocks, hs->allocs, hs->bytes_allocated, hs->rss_bytes);
        break;
    case FMT_REC_PROCESS_END:
        fmt_put_process_end(b, end->time_ns, end->reason, end->allocs, end->frees, end->bytes_allocated,
                            end->peak_bytes, end->peak_time_ns);
        break;
    case FMT_REC_SUPPRESSIONS:
        fmt_put_suppressions(b, r->u.text);
        break;
    case FMT_REC_SEQ:
        fmt_put_seq(b, r->u.id);
        break;
    default:
        ck_abort_msg("put_rec: type %u is not a record of its own", r->type);
    }
}

/* ------------------------------------------------------ record compare */

#define DIFF(f)                                                                          \
    do {                                                                                 \
        if ((uint64_t)(g->f) != (uint64_t)(e->f)) {                                      \
            snprintf(why, n, "%s: got %" PRIu64 ", want %" PRIu64, #f, (uint64_t)(g->f), \
                     (uint64_t)(e->f));                                                  \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

#define DIFF_STR(f)                                                                         \
    do {                                                                                    \
        if (!g->f || strcmp(g->f, e->f) != 0) {                                             \
            snprintf(why, n, "%s: got \"%.32s\" (len %zu), want \"%.32s\" (len %zu)", #f,    \
                     g->f ? g->f : "(null)", g->f ? strlen(g->f) : 0, e->f, strlen(e->f));  \
            return 1;                                                                       \
        }                                                                                   \
    } while (0)

/* 0 when got equals want in every field of its type, else 1 and why says where. */
static int rec_diff(const struct fmt_record *g, const struct fmt_record *e, char *why, size_t n)
{
    DIFF(type);
    DIFF(tid);
    switch (e->type) {
    case FMT_REC_PROCESS:
        DIFF(u.process.pid);
        DIFF(u.process.ppid);
        DIFF(u.process.start_unix_ns);
        DIFF(u.process.max_frames);
        DIFF_STR(u.process.program);
        DIFF_STR(u.process.exe);
        DIFF_STR(u.process.cmdline);
        break;
    case FMT_REC_MODULE_LOAD:
        DIFF(u.module.id);
        DIFF(u.module.bias);
        DIFF(u.module.start);
        DIFF(u.module.end);
        DIFF_STR(u.module.path);
        DIFF(u.module.build_id_len);
        if (e->u.module.build_id_len &&
            (!g->u.module.build_id ||
             memcmp(g->u.module.build_id, e->u.module.build_id, e->u.module.build_id_len) != 0)) {
            snprintf(why, n, "u.module.build_id: bytes differ");
            return 1;
        }
        break;
    case FMT_REC_MODULE_UNLOAD:
    case FMT_REC_SNAPSHOT_END:
    case FMT_REC_SEQ:
        DIFF(u.id);
        break;
    case FMT_REC_STACK:
        DIFF(u.stack.id);
        DIFF(u.stack.n);
        for (uint64_t i = 0; i < e->u.stack.n; i++)
            if (g->u.stack.frames[i] != e->u.stack.frames[i]) {
                snprintf(why, n, "u.stack.frames[%" PRIu64 "]: got %#" PRIx64 ", want %#" PRIx64, i,
                         g->u.stack.frames[i], e->u.stack.frames[i]);
                return 1;
            }
        break;
    case FMT_REC_ALLOC:
        DIFF(u.alloc.fn);
        DIFF(u.alloc.size);
        DIFF(u.alloc.stack_id);
        DIFF(u.alloc.time_ns);
        break;
    case FMT_REC_FREE:
        DIFF(u.free.size);
        DIFF(u.free.stack_id);
        DIFF(u.free.flags);
        break;
    case FMT_REC_TYPE:
        DIFF(u.type.id);
        DIFF_STR(u.type.name);
        break;
    case FMT_REC_TAG:
        DIFF(u.tag.addr);
        DIFF(u.tag.type_id);
        break;
    case FMT_REC_SNAPSHOT_BEGIN:
        DIFF(u.snapshot.index);
        DIFF_STR(u.snapshot.name);
        DIFF(u.snapshot.time_ns);
        DIFF(u.snapshot.blocks);
        DIFF(u.snapshot.bytes);
        DIFF(u.snapshot.scanned);
        DIFF(u.snapshot.rc_seq);
        break;
    case FMT_REC_RC:
        DIFF(u.rc.op);
        DIFF(u.rc.addr);
        if (g->u.rc.count != e->u.rc.count) {
            snprintf(why, n, "u.rc.count: got %" PRId64 ", want %" PRId64, g->u.rc.count,
                     e->u.rc.count);
            return 1;
        }
        DIFF(u.rc.stack_id);
        DIFF(u.rc.seq);
        DIFF(u.rc.type_id);
        DIFF(u.rc.id);
        break;
    case FMT_REC_BLOCKS:
        DIFF(u.block.addr);
        DIFF(u.block.size);
        DIFF(u.block.stack_id);
        DIFF(u.block.type_id);
        DIFF(u.block.birth_ns);
        DIFF(u.block.flags);
        DIFF(u.block.hash);
        DIFF(u.block.word0);
        break;
    case FMT_REC_ROOT:
        DIFF(u.root.id);
        DIFF(u.root.kind);
        DIFF(u.root.start);
        DIFF(u.root.end);
        DIFF(u.root.tid);
        break;
    case FMT_REC_EDGES:
        DIFF(u.edge.src);
        DIFF(u.edge.src_is_root);
        DIFF(u.edge.src_off);
        DIFF(u.edge.dst);
        DIFF(u.edge.dst_off);
        DIFF(u.edge.rules);
        break;
    case FMT_REC_HEAP_STAT:
        DIFF(u.heap_stat.time_ns);
        DIFF(u.heap_stat.live_bytes);
        DIFF(u.heap_stat.live_blocks);
        DIFF(u.heap_stat.allocs);
        DIFF(u.heap_stat.bytes_allocated);
        DIFF(u.heap_stat.rss_bytes);
        break;
    case FMT_REC_PROCESS_END:
        DIFF(u.end.time_ns);
        DIFF(u.end.reason);
        DIFF(u.end.allocs);
        DIFF(u.end.frees);
        DIFF(u.end.bytes_allocated);
        DIFF(u.end.peak_bytes);
        DIFF(u.end.peak_time_ns);
        break;
    case FMT_REC_SUPPRESSIONS:
        DIFF_STR(u.text);
        break;
    default:
        snprintf(why, n, "unexpected type %u", e->type);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------- traces as operations */

enum op_kind { OP_REC = 1, OP_THREAD, OP_BLOCKS, OP_EDGES, OP_CHUNK, OP_RAW };

struct op {
    enum op_kind kind;
    int big;                  /* only in the full trace, not the small one */
    struct fmt_record rec;    /* OP_REC (its tid is ignored) */
    uint64_t tid;             /* OP_THREAD */
    const struct fmt_block *blocks; /* OP_BLOCKS */
    size_t nblocks;
    const struct fmt_edge *edges;  /* OP_EDGES */
    size_t nedges;
    const uint8_t *raw;       /* OP_RAW: bytes put as they are, no record expected */
    size_t raw_len;
};

#define MAX_EXP 512
#define MAX_CHUNKS 64
#define RAW_CAP (1u << 20)

struct trace {
    uint8_t *data;
    size_t len, cap;
    struct fmt_record exp[MAX_EXP]; /* what the reader should return, in order */
    size_t exp_end[MAX_EXP];        /* file offset where each one's chunk ends */
    size_t nexp;
    size_t ends[MAX_CHUNKS];        /* file offset at the end of each chunk */
    size_t nchunks;
};

static void push_exp(struct trace *t, const struct fmt_record *r)
{
    ck_assert_uint_lt(t->nexp, MAX_EXP);
    t->exp[t->nexp++] = *r;
}

static void flush_chunk(struct trace *t, ZSTD_CCtx *cctx, struct fmt_buf *b, size_t *first)
{
    size_t need = fmt_chunk_bound(b->len);
    if (t->len + need > t->cap) {
        t->cap = (t->len + need) * 2;
        t->data = realloc(t->data, t->cap);
        ck_assert_ptr_nonnull(t->data);
    }
    size_t z = fmt_chunk_encode(cctx, 3, b->data, b->len, t->data + t->len, t->cap - t->len);
    REQUIRE(z > FMT_CHUNK_HEADER_SIZE, "fmt_chunk_encode failed (%zu raw bytes)", b->len);
    t->len += z;
    ck_assert_uint_lt(t->nchunks, MAX_CHUNKS);
    t->ends[t->nchunks++] = t->len;
    for (size_t i = *first; i < t->nexp; i++)
        t->exp_end[i] = t->len;
    *first = t->nexp;
    fmt_buf_clear(b); /* the next chunk's deltas start from 0 */
}

static void build_trace(struct trace *t, const struct op *ops, size_t nops, int big)
{
    memset(t, 0, sizeof *t);
    t->cap = 1u << 16;
    t->data = malloc(t->cap);
    ck_assert_ptr_nonnull(t->data);
    fmt_file_header(t->data);
    t->len = FMT_FILE_HEADER_SIZE;
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ck_assert_ptr_nonnull(cctx);
    struct fmt_buf b = { malloc(RAW_CAP), 0, RAW_CAP };
    ck_assert_ptr_nonnull(b.data);
    fmt_buf_clear(&b);
    uint32_t tid = 0;
    size_t first = 0;
    for (size_t k = 0; k < nops; k++) {
        const struct op *o = &ops[k];
        if (o->big && !big)
            continue;
        /* the largest op: three FMT_MAX_STRING strings, or 1024 frames */
        ck_assert_uint_lt(b.len + FMT_PROCESS_ROOM(FMT_MAX_STRING, FMT_MAX_STRING, FMT_MAX_STRING) +
                              FMT_STACK_ROOM(FMT_MAX_FRAMES) + FMT_BLOCKS_ROOM(o->nblocks) +
                              FMT_EDGES_ROOM(o->nedges),
                          b.cap);
        switch (o->kind) {
        case OP_REC: {
            put_rec(&b, &o->rec);
            struct fmt_record e = o->rec;
            e.tid = tid;
            push_exp(t, &e);
            break;
        }
        case OP_THREAD:
            fmt_put_thread(&b, o->tid);
            tid = (uint32_t)o->tid;
            break;
        case OP_BLOCKS: {
            fmt_put_blocks(&b, o->nblocks);
            for (size_t i = 0; i < o->nblocks; i++) {
                const struct fmt_block *x = &o->blocks[i];
                fmt_put_block(&b, x->addr, x->size, x->stack_id, x->type_id, x->birth_ns, x->flags, x->hash,
                              x->word0);
                struct fmt_record e = { .type = FMT_REC_BLOCKS, .tid = tid, .u.block = *x };
                push_exp(t, &e);
            }
            break;
        }
        case OP_EDGES: {
            fmt_put_edges(&b, o->nedges);
            for (size_t i = 0; i < o->nedges; i++) {
                const struct fmt_edge *x = &o->edges[i];
                REQUIRE(x->src <= UINT64_MAX >> 1 && x->src_is_root <= 1,
                        "edge %zu: src %" PRIu64 " / src_is_root %" PRIu64 " cannot be encoded",
                        i, x->src, x->src_is_root);
                fmt_put_edge(&b, x->src, (unsigned)x->src_is_root, x->src_off, x->dst, x->dst_off, x->rules);
                struct fmt_record e = { .type = FMT_REC_EDGES, .tid = tid, .u.edge = *x };
                push_exp(t, &e);
            }
            break;
        }
        case OP_RAW:
            /* an ALLOC in these bytes does not move b.prev_time: a test
             * mixes them with put_rec in one chunk at its peril */
            memcpy(b.data + b.len, o->raw, o->raw_len);
            b.len += o->raw_len;
            break;
        case OP_CHUNK:
            flush_chunk(t, cctx, &b, &first);
            tid = 0;
            break;
        }
    }
    if (b.len)
        flush_chunk(t, cctx, &b, &first);
    free(b.data);
    ZSTD_freeCCtx(cctx);
}

static void free_trace(struct trace *t) { free(t->data); }

/* Opens path and checks every record it yields against t->exp[0..]; at most
 * max records may come. Returns how many came; the damage (or "") goes into
 * dmg. */
static size_t read_check(const char *path, const struct trace *t, size_t max, char *dmg,
                         size_t dmglen, const char *ctx)
{
    char err[512] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "%s: fmt_reader_open failed: %s", ctx, err);
    struct fmt_record rec;
    char why[256];
    size_t i = 0;
    while (fmt_reader_next(r, &rec)) {
        REQUIRE(i < max, "%s: record %zu (type %u) beyond the %zu expected", ctx, i, rec.type,
                      max);
        REQUIRE(rec_diff(&rec, &t->exp[i], why, sizeof why) == 0,
                      "%s: record %zu (type %u): %s", ctx, i, t->exp[i].type, why);
        i++;
    }
    /* the end is sticky */
    REQUIRE(fmt_reader_next(r, &rec) == 0, "%s: a record after the end", ctx);
    const char *d = fmt_reader_damage(r);
    snprintf(dmg, dmglen, "%s", d ? d : "");
    if (d)
        REQUIRE(d[0] != 0, "%s: damage is an empty string", ctx);
    fmt_reader_close(r);
    return i;
}

/* ------------------------------------------------------- the test trace */

/* hash and word0 (the last two fields) go through 0, 127, 128, 2^32 and
 * UINT64_MAX too */
static const struct fmt_block blocks5[] = {
    { 0x1000, 24, 1, 0, 100, 0, 0, 0 },
    { 0x2000, 0, 127, 1, 128, FMT_BLOCK_IGNORED, 127, 128 },
    { 0x1800, 128, 128, 127, 1ull << 32, 127, 128, 1ull << 32 }, /* lower than the one before */
    { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
      UINT64_MAX },
    { 0, 1ull << 32, 0, 128, 0, 128, 1ull << 32, 127 },          /* delta wraps past 2^64 */
};
static const struct fmt_block blocks1[] = {
    { 0x7f0000001000, 4096, 2, 1, 123456789, 1ull << 32, 0x9e3779b97f4a7c15ull, 0x5555deadbeef },
};
static const struct fmt_block blocks3[] = {
    { 0x5000, 16, 1, 0, 1, 0, 0xdeadbeef, 0 },
    { 0x5010, 16, 1, 0, 2, FMT_BLOCK_IGNORED, 0, 0x5000 },
    { 0x5020, 32, 2, 0, 3, 0, UINT64_MAX, 0x5010 },
};

/* src goes through 0, 127, 128, 2^32 and UINT64_MAX >> 1 (the largest that
 * survives the shift), with and without src_is_root; the other fields
 * through 0, 127, 128, 2^32 and UINT64_MAX */
static const struct fmt_edge edges6[] = {
    { 0, 0, 0, 0, 0 },
    { 0, 1, 127, 128, 1ull << 32, FMT_HEUR_DTV },
    { 127, 0, 128, 127, UINT64_MAX, UINT64_MAX },
    { 128, 1, 1ull << 32, UINT64_MAX, 0 },
    { 1ull << 32, 0, UINT64_MAX, 1ull << 32, 127 },
    { UINT64_MAX >> 1, 1, UINT64_MAX, UINT64_MAX, UINT64_MAX },
};
static const struct fmt_edge edges_max[] = {
    { UINT64_MAX >> 1, 0, 0, 128, 128 },
    { 63, 1, 8, 64, 0, 127 }, /* 63 << 1 | 1 = 127: one byte */
    { 64, 0, 16, 0, 8 }, /* 64 << 1 = 128: two bytes */
};
static const struct fmt_edge edges1[] = { { 2, 1, 24, 1, 0 } };

#define REC(...) { .kind = OP_REC, .rec = __VA_ARGS__ }
#define BIGREC(...) { .kind = OP_REC, .big = 1, .rec = __VA_ARGS__ }
#define THREAD(t) { .kind = OP_THREAD, .tid = (t) }
#define BLOCKS(a) { .kind = OP_BLOCKS, .blocks = (a), .nblocks = sizeof(a) / sizeof(a)[0] }
#define BLOCKS0 { .kind = OP_BLOCKS, .blocks = NULL, .nblocks = 0 }
#define EDGES(a) { .kind = OP_EDGES, .edges = (a), .nedges = sizeof(a) / sizeof(a)[0] }
#define EDGES0 { .kind = OP_EDGES, .edges = NULL, .nedges = 0 }
#define CHUNK { .kind = OP_CHUNK }
#define RC(op, addr, count, stack_id, seq, type_id, id) \
    REC({ .type = FMT_REC_RC, .u.rc = { (op), (addr), (count), (stack_id), (seq), (type_id), (id) } })

static const struct op trace_ops[] = {
    /* chunk 1: process-wide records, no thread */
    REC({ .type = FMT_REC_PROCESS,
          .u.process = { 4321, 1, 1700000000123456789ull, 64, "demo", "/usr/bin/demo",
                         "demo --flag x" } }),
    REC({ .type = FMT_REC_PROCESS, .u.process = { 0, UINT64_MAX, 1ull << 32, 128, "", s127, s128 } }),
    REC({ .type = FMT_REC_MODULE_LOAD,
          .u.module = { 1, 0x555555554000, 0x555555554000, 0x555555559000, "/usr/bin/demo",
                        build_id20, sizeof build_id20 } }),
    REC({ .type = FMT_REC_MODULE_LOAD, .u.module = { 2, 0, 127, UINT64_MAX, "", build_id20, 0 } }),
    REC({ .type = FMT_REC_STACK, .u.stack = { 1, 3, frames3 } }),
    REC({ .type = FMT_REC_STACK, .u.stack = { 2, 0, frames3 } }),
    REC({ .type = FMT_REC_STACK, .u.stack = { 128, 5, frames_edge } }),
    BIGREC({ .type = FMT_REC_STACK, .u.stack = { UINT64_MAX, FMT_MAX_FRAMES, frames_max } }),
    REC({ .type = FMT_REC_TYPE, .u.type = { 1, "struct foo" } }),
    REC({ .type = FMT_REC_TYPE, .u.type = { 127, s300 } }),
    BIGREC({ .type = FMT_REC_TYPE, .u.type = { UINT64_MAX, s_max } }),
    BIGREC({ .type = FMT_REC_PROCESS, .u.process = { 7, 8, 9, 10, s_max, s_max, s_max } }),
    CHUNK,
    /* chunk 2: one thread's events, then another's. The RC records go
     * through every op; their count (written as count + 1) through -1
     * (written as 0), 0, 1, 126 and 127 (written in one byte and in two),
     * 2^32, INT64_MAX - 1 (the largest that survives the + 1), -2 (written
     * as UINT64_MAX) and INT64_MIN; the other fields through 0, 127, 128,
     * 2^32 and UINT64_MAX. The ALLOC times, deltas across the THREAD
     * records (and past the FREE records, which carry no time), go up and
     * down (UINT64_MAX to 2^32). */
    THREAD(1234),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 24, 1, 1000 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_PVALLOC, 128, 127, 1ull << 32 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { 24, 1, FMT_FREE_TEMPORARY } }),
    REC({ .type = FMT_REC_TAG, .u.tag = { 0x5555deadbeef, 1 } }),
    RC(FMT_RC_NEW, 0x5555deadbeef, 1, 1, 1, 1, 1),
    RC(FMT_RC_RETAIN, 0x5555deadbeef, 2, 1, 2, 0, 1),
    THREAD(UINT32_MAX),
    REC({ .type = FMT_REC_FREE, .u.free = { 0, 0 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX } }),
    RC(FMT_RC_RELEASE, 0, 0, 0, 0, 0, 0),
    RC(FMT_RC_FREE, UINT64_MAX, -1, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX),
    THREAD(0),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_CALLOC, 127, 0, 1ull << 32 } }),
    RC(FMT_RC_WEAK_NEW, 127, 126, 127, 127, 127, 127),
    THREAD(7),
    REC({ .type = FMT_REC_TAG, .u.tag = { 128, 127 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { UINT64_MAX, 128, FMT_AGE_LONGER << FMT_FREE_AGE_SHIFT } }),
    RC(FMT_RC_WEAK_CLEAR, 128, 127, 128, 128, 128, 128),
    RC(FMT_RC_MISUSE_RETAIN, 1ull << 32, 1ll << 32, 1ull << 32, 1ull << 32, 1ull << 32, 1ull << 32),
    RC(FMT_RC_MISUSE_RELEASE, 0x7f0000001000, INT64_MAX - 1, 2, 127, 128, 0),
    RC(FMT_RC_MISUSE_WEAK, 0x7f0000001010, -2, 0, UINT64_MAX, 0, 128),
    RC(FMT_RC_OP_COUNT - 1, 0x7f0000001020, INT64_MIN, 128, 1ull << 32, 127, UINT64_MAX),
    CHUNK,
    /* chunk 3: no THREAD record, so the thread is unknown again */
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_REALLOC, 10, 2, 2000 } }),
    REC({ .type = FMT_REC_SNAPSHOT_BEGIN,
          .u.snapshot = { 0, "manual", 5000, 9, 1234, 1ull << 32, 128 } }),
    REC({ .type = FMT_REC_ROOT, .u.root = { 0, FMT_ROOT_GLOBAL, 0x555555558000, 0x55555555a000, 0 } }),
    REC({ .type = FMT_REC_ROOT, .u.root = { 1, FMT_ROOT_STACK, 0x7ffc00000000, 0x7ffc00021000, 4321 } }),
    BLOCKS(blocks5),
    EDGES(edges6),  /* a block list, then an edge list, then a block list */
    BLOCKS(blocks1),
    BLOCKS0,
    EDGES0,
    BLOCKS(blocks3),
    REC({ .type = FMT_REC_ROOT, .u.root = { 127, FMT_ROOT_REGISTERS, 128, 1ull << 32, 127 } }),
    REC({ .type = FMT_REC_ROOT,
          .u.root = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX } }),
    EDGES(edges_max),
    EDGES(edges1),  /* an edge list right after an edge list */
    REC({ .type = FMT_REC_SNAPSHOT_END, .u.id = 0 }),
    REC({ .type = FMT_REC_HEAP_STAT, .u.heap_stat = { 0, 127, 128, 1ull << 32, UINT64_MAX } }),
    REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 2 }),
    CHUNK,
    /* chunk 4 */
    REC({ .type = FMT_REC_SNAPSHOT_BEGIN,
          .u.snapshot = { UINT64_MAX, s300, 1ull << 32, 128, 127, UINT64_MAX, UINT64_MAX } }),
    REC({ .type = FMT_REC_ROOT, .u.root = { 128, FMT_ROOT_TLS, 0, 0, 1ull << 32 } }),
    BLOCKS(blocks3),
    EDGES(edges1),
    REC({ .type = FMT_REC_SNAPSHOT_END, .u.id = UINT64_MAX }),
    /* an empty snapshot, before any refcount event (rc_seq 0), and one at 127 and 2^32 */
    REC({ .type = FMT_REC_SNAPSHOT_BEGIN, .u.snapshot = { 1, "", 0, 0, 0, 0, 0 } }),
    REC({ .type = FMT_REC_SNAPSHOT_END, .u.id = 1 }),
    REC({ .type = FMT_REC_SNAPSHOT_BEGIN, .u.snapshot = { 2, "r", 1, 0, 0, 1, 127 } }),
    REC({ .type = FMT_REC_SNAPSHOT_END, .u.id = 2 }),
    REC({ .type = FMT_REC_SNAPSHOT_BEGIN, .u.snapshot = { 3, "s", 2, 0, 0, 0, 1ull << 32 } }),
    REC({ .type = FMT_REC_SNAPSHOT_END, .u.id = 3 }),
    REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 128 }),
    REC({ .type = FMT_REC_HEAP_STAT, .u.heap_stat = { 1, 2, 3, 4, 5, 6 } }),
    CHUNK,
    /* chunk 5, numbered as one made from a journal region */
    REC({ .type = FMT_REC_SEQ, .u.id = 128 }),
    REC({ .type = FMT_REC_PROCESS_END,
          .u.end = { 9000000000ull, FMT_END_EXIT, 100, 99, 4096, 2048, 8000000000ull } }),
    REC({ .type = FMT_REC_PROCESS_END,
          .u.end = { UINT64_MAX, FMT_END_EXEC, 0, 127, 128, 1ull << 32, UINT64_MAX } }),
    REC({ .type = FMT_REC_SUPPRESSIONS, .u.text = "leak:libfoo.so\nleak:bar_*\n" }),
    REC({ .type = FMT_REC_SUPPRESSIONS, .u.text = "" }),
};
#define NOPS (sizeof trace_ops / sizeof trace_ops[0])

/* ---------------------------------------------------------------- tests */

static void check_varint(uint64_t v, const uint8_t *want, size_t n)
{
    uint8_t mem[FMT_VARINT_MAX + 4];
    memset(mem, 0xee, sizeof mem);
    struct fmt_buf b = { mem, 0, sizeof mem };
    fmt_put_varint(&b, v);
    REQUIRE(b.len == n, "varint %" PRIu64 ": %zu bytes, want %zu", v, b.len, n);
    ck_assert_mem_eq(mem, want, n);
    ck_assert_uint_eq(mem[n], 0xee);
}

START_TEST(test_encoders)
{
    check_varint(0, (const uint8_t[]){ 0x00 }, 1);
    check_varint(1, (const uint8_t[]){ 0x01 }, 1);
    check_varint(127, (const uint8_t[]){ 0x7f }, 1);
    check_varint(128, (const uint8_t[]){ 0x80, 0x01 }, 2);
    check_varint(300, (const uint8_t[]){ 0xac, 0x02 }, 2);
    check_varint(16383, (const uint8_t[]){ 0xff, 0x7f }, 2);
    check_varint(16384, (const uint8_t[]){ 0x80, 0x80, 0x01 }, 3);
    check_varint(0xffffffffull, (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0x0f }, 5);
    check_varint(1ull << 32, (const uint8_t[]){ 0x80, 0x80, 0x80, 0x80, 0x10 }, 5);
    check_varint(1ull << 63,
                 (const uint8_t[]){ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 10);
    check_varint(UINT64_MAX,
                 (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10);

    uint8_t mem[64];
    struct fmt_buf b = { mem, 0, sizeof mem };
    fmt_put_u8(&b, 0xab);
    fmt_put_str(&b, "hi");
    fmt_put_str(&b, NULL);
    fmt_put_str(&b, "");
    fmt_put_bytes(&b, "\0x\0", 3);
    fmt_put_bytes(&b, "", 0);
    static const uint8_t want[] = { 0xab, 2, 'h', 'i', 0, 0, 3, 0, 'x', 0, 0 };
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert_mem_eq(mem, want, sizeof want);

    /* a string longer than FMT_MAX_STRING is cut to it */
    struct fmt_buf big = { malloc(sizeof s_over + 16), 0, sizeof s_over + 16 };
    fmt_put_str(&big, s_over);
    ck_assert_uint_eq(big.len, 3 + FMT_MAX_STRING);
    ck_assert_mem_eq(big.data, ((const uint8_t[]){ 0x80, 0x80, 0x04 }), 3);
    ck_assert_mem_eq(big.data + 3, s_over, FMT_MAX_STRING);
    free(big.data);

    uint8_t h[FMT_FILE_HEADER_SIZE];
    memset(h, 0xee, sizeof h);
    fmt_file_header(h);
    ck_assert_mem_eq(h, ((const uint8_t[]){ 'H', 'E', 'A', 'P', 'S', 'C', 'P', '1', 5, 0, 0, 0, 0,
                                            0, 0, 0 }),
                     FMT_FILE_HEADER_SIZE);
    /* the version written is 5; 4 (no OBJECTS), 3 (FREE without flags,
     * HEAP_STAT without RSS), 2 (edges without rules) and 1 (ALLOC and FREE
     * with an address) are still read */
    REQ_EQ(FMT_VERSION, 5);
    REQ_EQ(FMT_VERSION_OLDEST, 1);

    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_MALLOC), "malloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_CALLOC), "calloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_REALLOC), "realloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_REALLOCARRAY), "reallocarray");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_POSIX_MEMALIGN), "posix_memalign");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_ALIGNED_ALLOC), "aligned_alloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_MEMALIGN), "memalign");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_VALLOC), "valloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_PVALLOC), "pvalloc");
    ck_assert_str_eq(fmt_alloc_fn_name(FMT_FN_COUNT), "?");
    ck_assert_str_eq(fmt_alloc_fn_name(~0u), "?");

    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_NEW), "new");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_RETAIN), "retain");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_RELEASE), "release");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_FREE), "free");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_WEAK_NEW), "weak_new");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_WEAK_CLEAR), "weak_clear");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_MISUSE_RETAIN), "misuse_retain");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_MISUSE_RELEASE), "misuse_release");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_MISUSE_WEAK), "misuse_weak");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_MISUSE_COUNT), "misuse");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_OP_COUNT), "?");
    ck_assert_str_eq(fmt_rc_op_name(FMT_RC_OP_COUNT + 1), "?");
    ck_assert_str_eq(fmt_rc_op_name(128), "?");
    ck_assert_str_eq(fmt_rc_op_name(~0u), "?");
    /* every op has a name of its own, and every misuse op's starts with
     * "misuse" (the analyzer and the integration tests count them so) */
    for (unsigned op = 0; op < FMT_RC_OP_COUNT; op++) {
        const char *name = fmt_rc_op_name(op);
        REQUIRE(name && name[0] && strcmp(name, "?") != 0, "op %u: no name", op);
        REQUIRE((strncmp(name, "misuse", 6) == 0) == (op >= FMT_RC_MISUSE_RETAIN),
                "op %u: name \"%s\"", op, name);
        for (unsigned other = 0; other < op; other++)
            REQUIRE(strcmp(name, fmt_rc_op_name(other)) != 0, "ops %u and %u: both \"%s\"",
                    other, op, name);
    }
}
END_TEST

START_TEST(test_chunk_encode)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    static const char raw[] = "some raw record bytes, some raw record bytes";
    size_t n = sizeof raw - 1;
    size_t room = fmt_chunk_bound(n);
    ck_assert_uint_gt(room, FMT_CHUNK_HEADER_SIZE + n);
    uint8_t *out = malloc(room);
    size_t z = fmt_chunk_encode(cctx, 3, raw, n, out, room);
    ck_assert_uint_gt(z, FMT_CHUNK_HEADER_SIZE);
    ck_assert_uint_le(z, room);
    ck_assert_mem_eq(out, "HSCK", 4);
    uint32_t zc = (uint32_t)out[4] | (uint32_t)out[5] << 8 | (uint32_t)out[6] << 16 |
                  (uint32_t)out[7] << 24;
    uint32_t nr = (uint32_t)out[8] | (uint32_t)out[9] << 8 | (uint32_t)out[10] << 16 |
                  (uint32_t)out[11] << 24;
    ck_assert_uint_eq(zc, z - FMT_CHUNK_HEADER_SIZE);
    ck_assert_uint_eq(nr, n);
    /* one zstd frame, with its checksum, that gives back the raw bytes */
    ck_assert_uint_eq(ZSTD_findFrameCompressedSize(out + FMT_CHUNK_HEADER_SIZE, zc), zc);
    char back[128];
    ck_assert_uint_eq(ZSTD_decompress(back, sizeof back, out + FMT_CHUNK_HEADER_SIZE, zc), n);
    ck_assert_mem_eq(back, raw, n);
    /* zstd frame magic, then the frame header descriptor: bit 2 is the
     * content checksum flag */
    ck_assert_mem_eq(out + FMT_CHUNK_HEADER_SIZE, ((const uint8_t[]){ 0x28, 0xb5, 0x2f, 0xfd }), 4);
    ck_assert_uint_eq(out[FMT_CHUNK_HEADER_SIZE + 4] & 0x04u, 0x04u);

    /* no room: 0, not an overrun */
    ck_assert_uint_eq(fmt_chunk_encode(cctx, 3, raw, n, out, FMT_CHUNK_HEADER_SIZE - 1), 0);
    ck_assert_uint_eq(fmt_chunk_encode(cctx, 3, raw, n, out, FMT_CHUNK_HEADER_SIZE + 2), 0);
    /* too much: 0 (it must not look at the bytes) */
    ck_assert_uint_eq(fmt_chunk_encode(cctx, 3, raw, (size_t)FMT_CHUNK_MAX_RAW + 1, out, room), 0);
    free(out);
    ZSTD_freeCCtx(cctx);
}
END_TEST

START_TEST(test_round_trip)
{
    static struct trace t;
    build_trace(&t, trace_ops, NOPS, 1);
    ck_assert_uint_eq(t.nchunks, 5);
    const char *path = tmp_path("full.hst");
    write_file(path, t.data, t.len);

    char err[512] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    ck_assert_uint_eq(fmt_reader_size(r), t.len);
    ck_assert_uint_eq(fmt_reader_offset(r), FMT_FILE_HEADER_SIZE);
    ck_assert_ptr_null(fmt_reader_damage(r));

    struct fmt_record rec;
    char why[256];
    size_t i = 0;
    unsigned seen_types = 0;
    while (fmt_reader_next(r, &rec)) {
        REQUIRE(i < t.nexp, "record %zu (type %u) beyond the %zu expected", i, rec.type,
                      t.nexp);
        REQUIRE(rec_diff(&rec, &t.exp[i], why, sizeof why) == 0, "record %zu (type %u): %s",
                      i, t.exp[i].type, why);
        seen_types |= 1u << rec.type;
        /* the reader is past the chunk this record came from */
        ck_assert_uint_eq(fmt_reader_offset(r), t.exp_end[i]);
        i++;
    }
    ck_assert_uint_eq(i, t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));
    ck_assert_uint_eq(fmt_reader_offset(r), t.len);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    fmt_reader_close(r);

    /* every record type but THREAD (which is folded into tid) came out */
    unsigned all = 0;
    for (unsigned ty = FMT_REC_PROCESS; ty <= FMT_REC_SEQ; ty++)
        if (ty != FMT_REC_THREAD)
            all |= 1u << ty;
    ck_assert_uint_eq(seen_types, all);

    /* spot checks that do not go through rec_diff */
    ck_assert_uint_eq(t.exp[0].tid, 0);
    size_t n_alloc = 0;
    for (size_t k = 0; k < t.nexp; k++)
        if (t.exp[k].type == FMT_REC_ALLOC)
            n_alloc++;
    ck_assert_uint_eq(n_alloc, 5);
    /* and of the new snapshot records: every block, root and edge, once */
    size_t n_blocks = 0, n_roots = 0, n_edges = 0, n_root_src = 0;
    for (size_t k = 0; k < t.nexp; k++) {
        n_blocks += t.exp[k].type == FMT_REC_BLOCKS;
        n_roots += t.exp[k].type == FMT_REC_ROOT;
        n_edges += t.exp[k].type == FMT_REC_EDGES;
        n_root_src += t.exp[k].type == FMT_REC_EDGES && t.exp[k].u.edge.src_is_root;
    }
    ck_assert_uint_eq(n_blocks, 5 + 1 + 3 + 3);
    ck_assert_uint_eq(n_roots, 5);
    ck_assert_uint_eq(n_edges, 6 + 3 + 1 + 1);
    ck_assert_uint_eq(n_root_src, 3 + 1 + 1 + 1);
    /* and of the refcount records: every op, and the counts that need the
     * reader's - 1 to come out signed */
    size_t n_rc = 0, n_snap = 0;
    unsigned seen_ops = 0;
    int seen_minus1 = 0, seen_zero = 0, seen_min = 0;
    for (size_t k = 0; k < t.nexp; k++) {
        n_snap += t.exp[k].type == FMT_REC_SNAPSHOT_BEGIN;
        if (t.exp[k].type != FMT_REC_RC)
            continue;
        n_rc++;
        ck_assert_uint_lt(t.exp[k].u.rc.op, FMT_RC_OP_COUNT);
        seen_ops |= 1u << t.exp[k].u.rc.op;
        seen_minus1 |= t.exp[k].u.rc.count == -1;
        seen_zero |= t.exp[k].u.rc.count == 0;
        seen_min |= t.exp[k].u.rc.count == INT64_MIN;
    }
    ck_assert_uint_eq(n_rc, 10);
    ck_assert_uint_eq(seen_ops, (1u << FMT_RC_OP_COUNT) - 1);
    ck_assert(seen_minus1 && seen_zero && seen_min);
    ck_assert_uint_eq(n_snap, 5);
    free_trace(&t);
}
END_TEST

/* the bytes appended to b since *mark, which moves past them */
static void expect_bytes(const struct fmt_buf *b, size_t *mark, const uint8_t *want, size_t n,
                         const char *what)
{
    REQUIRE(b->len - *mark == n, "%s: %zu bytes, want %zu", what, b->len - *mark, n);
    for (size_t i = 0; i < n; i++)
        REQUIRE(b->data[*mark + i] == want[i], "%s: byte %zu is %#x, want %#x", what, i,
                b->data[*mark + i], want[i]);
    *mark = b->len;
}
#define EXPECT_BYTES(b, mark, what, ...)                                                   \
    expect_bytes((b), (mark), (const uint8_t[]){ __VA_ARGS__ },                            \
                 sizeof((const uint8_t[]){ __VA_ARGS__ }), (what))

/* The new fields and records, byte by byte as trace_format.h lays them out,
 * assembled by hand (not by put_rec) and checked field by field; then the
 * same records written by the encoders must be these bytes. */
START_TEST(test_snapshot_layout)
{
#define VMAX 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* UINT64_MAX */
#define V2_32 0x80, 0x80, 0x80, 0x80, 0x10                            /* 1 << 32 */
    static const uint8_t body[] = {
        FMT_REC_SNAPSHOT_BEGIN, 3, 2, 'a', 'b', 0x80, 0x01, 2, 0x7f, V2_32, 0xac, 0x02,
        FMT_REC_ROOT, 1, FMT_ROOT_REGISTERS, 0x80, 0x01, VMAX, 0x7f,
        FMT_REC_BLOCKS, 2,
        0x80, 0x20, 24, 1, 0, 10, 1, VMAX, 0x80, 0x01, /* birth: zigzag(5 - 0) */
        16, 8, 0, 0, 3, 0, 0, 0x7f,                    /* birth: zigzag(-2) from 5 */
        FMT_REC_OBJECTS, 2, /* addr delta, what, refcount, value */
        0x80, 0x20, 5, 0x80, 0x01, VMAX,
        0x10, 0, 0, 0,
        FMT_REC_EDGES, 3, /* src << 1 | src_is_root, src_off, dst, dst_off, rules */
        0x01, 0, 0, 0x7f, FMT_HEUR_NEWARRAY,
        0xfe, 0x01, 0x80, 0x01, V2_32, 0, 0,
        VMAX, VMAX, 1, 8, 0x80, 0x01,
        FMT_REC_ROOT, 0, 0, 0, 0, 0,
        FMT_REC_SNAPSHOT_END, 3,
        /* op, addr, count + 1, stack_id, seq, type_id, id */
        FMT_REC_RC, FMT_RC_MISUSE_COUNT, 0x80, 0x20, 0, 0x7f, V2_32, 0x80, 0x01, VMAX,
        FMT_REC_RC, FMT_RC_RELEASE, VMAX, 1, 0, 0, 0, 0,
        FMT_REC_RC, FMT_RC_RETAIN, 0x10, 0x80, 0x01, 1, 0x7f, 0, 0x80, 0x01,
        FMT_REC_RC, FMT_RC_NEW, 0, VMAX, 2, 0x81, 0x01, 3, 4,
    };
#undef VMAX
#undef V2_32
    uint8_t mem[sizeof body + 1];
    memset(mem, 0xee, sizeof mem);
    struct fmt_buf enc = { mem, 0, sizeof mem };
    fmt_put_snapshot_begin(&enc, 3, "ab", 128, 2, 127, 1ull << 32, 300);
    fmt_put_root(&enc, 1, FMT_ROOT_REGISTERS, 128, UINT64_MAX, 127);
    fmt_put_blocks(&enc, 2);
    fmt_put_block(&enc, 0x1000, 24, 1, 0, 5, FMT_BLOCK_IGNORED, UINT64_MAX, 128);
    fmt_put_block(&enc, 0x1010, 8, 0, 0, 3, 0, 0, 127);
    fmt_put_objects(&enc, 2);
    fmt_put_object(&enc, 0x1000, 5, 128, UINT64_MAX);
    fmt_put_object(&enc, 0x1010, 0, 0, 0);
    fmt_put_edges(&enc, 3);
    fmt_put_edge(&enc, 0, 1, 0, 0, 127, FMT_HEUR_NEWARRAY);
    fmt_put_edge(&enc, 127, 0, 128, 1ull << 32, 0, 0);
    fmt_put_edge(&enc, UINT64_MAX >> 1, 1, UINT64_MAX, 1, 8, 128);
    fmt_put_root(&enc, 0, FMT_ROOT_GLOBAL, 0, 0, 0);
    fmt_put_snapshot_end(&enc, 3);
    fmt_put_rc(&enc, FMT_RC_MISUSE_COUNT, 0x1000, -1, 127, 1ull << 32, 128, UINT64_MAX);
    fmt_put_rc(&enc, FMT_RC_RELEASE, UINT64_MAX, 0, 0, 0, 0, 0);
    fmt_put_rc(&enc, FMT_RC_RETAIN, 0x10, 127, 1, 127, 0, 128);
    fmt_put_rc(&enc, FMT_RC_NEW, 0, -2, 2, 129, 3, 4);
    size_t mark = 0;
    expect_bytes(&enc, &mark, body, sizeof body, "the encoders");
    REQ_EQ(mem[sizeof body], 0xee);

    struct op ops[] = { { .kind = OP_RAW, .raw = body, .raw_len = sizeof body } };
    static struct trace t;
    build_trace(&t, ops, 1, 0);
    const char *path = tmp_path("layout.hst");
    write_file(path, t.data, t.len);
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    struct fmt_record rec;

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_SNAPSHOT_BEGIN);
    REQ_EQ(rec.u.snapshot.index, 3);
    ck_assert_str_eq(rec.u.snapshot.name, "ab");
    REQ_EQ(rec.u.snapshot.time_ns, 128);
    REQ_EQ(rec.u.snapshot.blocks, 2);
    REQ_EQ(rec.u.snapshot.bytes, 127);
    REQUIRE(rec.u.snapshot.scanned == 1ull << 32, "scanned %" PRIu64, rec.u.snapshot.scanned);
    REQ_EQ(rec.u.snapshot.rc_seq, 300);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ROOT);
    REQ_EQ(rec.tid, 0);
    REQ_EQ(rec.u.root.id, 1);
    REQ_EQ(rec.u.root.kind, FMT_ROOT_REGISTERS);
    REQ_EQ(rec.u.root.start, 128);
    REQUIRE(rec.u.root.end == UINT64_MAX, "end %#" PRIx64, rec.u.root.end);
    REQ_EQ(rec.u.root.tid, 127);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_BLOCKS);
    REQ_EQ(rec.u.block.addr, 0x1000);
    REQ_EQ(rec.u.block.size, 24);
    REQ_EQ(rec.u.block.stack_id, 1);
    REQ_EQ(rec.u.block.type_id, 0);
    REQ_EQ(rec.u.block.birth_ns, 5);
    REQ_EQ(rec.u.block.flags, FMT_BLOCK_IGNORED);
    REQUIRE(rec.u.block.hash == UINT64_MAX, "hash %#" PRIx64, rec.u.block.hash);
    REQ_EQ(rec.u.block.word0, 128);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_BLOCKS);
    REQ_EQ(rec.u.block.addr, 0x1010);
    REQ_EQ(rec.u.block.size, 8);
    REQ_EQ(rec.u.block.birth_ns, 3);
    REQ_EQ(rec.u.block.flags, 0);
    REQ_EQ(rec.u.block.hash, 0);
    REQ_EQ(rec.u.block.word0, 127);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_OBJECTS);
    REQ_EQ(rec.u.object.addr, 0x1000);
    REQ_EQ(rec.u.object.what, 5);
    REQ_EQ(rec.u.object.refcount, 128);
    REQUIRE(rec.u.object.value == UINT64_MAX, "value %#" PRIx64, rec.u.object.value);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_OBJECTS);
    REQ_EQ(rec.u.object.addr, 0x1010);
    REQ_EQ(rec.u.object.what, 0);
    REQ_EQ(rec.u.object.refcount, 0);
    REQ_EQ(rec.u.object.value, 0);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_EDGES);
    REQ_EQ(rec.u.edge.src, 0);
    REQ_EQ(rec.u.edge.src_is_root, 1);
    REQ_EQ(rec.u.edge.src_off, 0);
    REQ_EQ(rec.u.edge.dst, 0);
    REQ_EQ(rec.u.edge.dst_off, 127);
    REQ_EQ(rec.u.edge.rules, FMT_HEUR_NEWARRAY);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_EDGES);
    REQ_EQ(rec.u.edge.src, 127);
    REQ_EQ(rec.u.edge.src_is_root, 0);
    REQ_EQ(rec.u.edge.src_off, 128);
    REQUIRE(rec.u.edge.dst == 1ull << 32, "dst %#" PRIx64, rec.u.edge.dst);
    REQ_EQ(rec.u.edge.dst_off, 0);
    REQ_EQ(rec.u.edge.rules, 0);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_EDGES);
    REQUIRE(rec.u.edge.src == UINT64_MAX >> 1, "src %#" PRIx64, rec.u.edge.src);
    REQ_EQ(rec.u.edge.src_is_root, 1);
    REQUIRE(rec.u.edge.src_off == UINT64_MAX, "src_off %#" PRIx64, rec.u.edge.src_off);
    REQ_EQ(rec.u.edge.dst, 1);
    REQ_EQ(rec.u.edge.dst_off, 8);
    REQ_EQ(rec.u.edge.rules, 128);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ROOT);
    REQ_EQ(rec.u.root.id, 0);
    REQ_EQ(rec.u.root.kind, FMT_ROOT_GLOBAL);
    REQ_EQ(rec.u.root.start, 0);
    REQ_EQ(rec.u.root.end, 0);
    REQ_EQ(rec.u.root.tid, 0);

    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_SNAPSHOT_END);
    REQ_EQ(rec.u.id, 3);

    /* a written 0 is a count of -1 */
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_RC);
    REQ_EQ(rec.tid, 0);
    REQ_EQ(rec.u.rc.op, FMT_RC_MISUSE_COUNT);
    REQ_EQ(rec.u.rc.addr, 0x1000);
    REQ_EQ(rec.u.rc.count, -1);
    REQ_EQ(rec.u.rc.stack_id, 127);
    REQUIRE(rec.u.rc.seq == 1ull << 32, "seq %#" PRIx64, rec.u.rc.seq);
    REQ_EQ(rec.u.rc.type_id, 128);
    REQUIRE(rec.u.rc.id == UINT64_MAX, "id %#" PRIx64, rec.u.rc.id);
    /* a written 1 is a count of 0 */
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_RC);
    REQ_EQ(rec.u.rc.op, FMT_RC_RELEASE);
    REQUIRE(rec.u.rc.addr == UINT64_MAX, "addr %#" PRIx64, rec.u.rc.addr);
    REQ_EQ(rec.u.rc.count, 0);
    REQ_EQ(rec.u.rc.stack_id, 0);
    REQ_EQ(rec.u.rc.seq, 0);
    REQ_EQ(rec.u.rc.type_id, 0);
    REQ_EQ(rec.u.rc.id, 0);
    /* a written 128 (two bytes) is a count of 127 */
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_RC);
    REQ_EQ(rec.u.rc.op, FMT_RC_RETAIN);
    REQ_EQ(rec.u.rc.addr, 0x10);
    REQ_EQ(rec.u.rc.count, 127);
    REQ_EQ(rec.u.rc.stack_id, 1);
    REQ_EQ(rec.u.rc.seq, 127);
    REQ_EQ(rec.u.rc.type_id, 0);
    REQ_EQ(rec.u.rc.id, 128);
    /* a written UINT64_MAX is a count of -2 */
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_RC);
    REQ_EQ(rec.u.rc.op, FMT_RC_NEW);
    REQ_EQ(rec.u.rc.addr, 0);
    REQ_EQ(rec.u.rc.count, -2);
    REQ_EQ(rec.u.rc.stack_id, 2);
    REQ_EQ(rec.u.rc.seq, 129);
    REQ_EQ(rec.u.rc.type_id, 3);
    REQ_EQ(rec.u.rc.id, 4);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    ck_assert_ptr_null(fmt_reader_damage(r));
    fmt_reader_close(r);
    free_trace(&t);

    /* the record type numbers are part of the format */
    REQ_EQ(FMT_REC_SNAPSHOT_BEGIN, 10);
    REQ_EQ(FMT_REC_ROOT, 15);
    REQ_EQ(FMT_REC_EDGES, 16);
    REQ_EQ(FMT_REC_RC, 17);
    /* and so are the refcount op numbers */
    REQ_EQ(FMT_RC_NEW, 0);
    REQ_EQ(FMT_RC_RETAIN, 1);
    REQ_EQ(FMT_RC_RELEASE, 2);
    REQ_EQ(FMT_RC_FREE, 3);
    REQ_EQ(FMT_RC_WEAK_NEW, 4);
    REQ_EQ(FMT_RC_WEAK_CLEAR, 5);
    REQ_EQ(FMT_RC_MISUSE_RETAIN, 6);
    REQ_EQ(FMT_RC_MISUSE_RELEASE, 7);
    REQ_EQ(FMT_RC_MISUSE_WEAK, 8);
    REQ_EQ(FMT_RC_MISUSE_COUNT, 9);
    REQ_EQ(FMT_RC_OP_COUNT, 10);
    REQ_EQ(FMT_ROOT_GLOBAL, 0);
    REQ_EQ(FMT_ROOT_STACK, 1);
    REQ_EQ(FMT_ROOT_REGISTERS, 2);
    REQ_EQ(FMT_ROOT_TLS, 3);
}
END_TEST

/* The other records' encoders, byte by byte as trace_format.h lays them out
 * (ALLOC, FREE and TAG: test_delta_encoder); and each encoder's room holds
 * its record at its largest. */
START_TEST(test_record_layout)
{
#define VMAX 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* UINT64_MAX */
#define V2_32 0x80, 0x80, 0x80, 0x80, 0x10                            /* 1 << 32 */
    static uint8_t mem[4096];
    memset(mem, 0xee, sizeof mem);
    struct fmt_buf b = { mem, 0, sizeof mem };
    size_t mark = 0;
    fmt_put_process(&b, 1, 128, 300, 64, "ab", NULL, "");
    EXPECT_BYTES(&b, &mark, "PROCESS", FMT_REC_PROCESS, 1, 0x80, 0x01, 0xac, 0x02, 64, 2, 'a', 'b', 0, 0);
    fmt_put_module_load(&b, 2, 0x1000, 0x1000, 1ull << 32, "/x", "\0\xff", 2);
    EXPECT_BYTES(&b, &mark, "MODULE_LOAD", FMT_REC_MODULE_LOAD, 2, 0x80, 0x20, 0x80, 0x20, V2_32, 2, '/', 'x',
                 2, 0x00, 0xff);
    fmt_put_module_unload(&b, 128);
    EXPECT_BYTES(&b, &mark, "MODULE_UNLOAD", FMT_REC_MODULE_UNLOAD, 0x80, 0x01);
    fmt_put_stack(&b, 3, (const uintptr_t[]){ 0x401000, 0, UINT64_MAX }, 3);
    EXPECT_BYTES(&b, &mark, "STACK", FMT_REC_STACK, 3, 3, 0x80, 0xa0, 0x80, 0x02, 0, VMAX);
    fmt_put_stack(&b, 127, NULL, 0);
    EXPECT_BYTES(&b, &mark, "STACK of no frames", FMT_REC_STACK, 0x7f, 0);
    fmt_put_thread(&b, 4321);
    EXPECT_BYTES(&b, &mark, "THREAD", FMT_REC_THREAD, 0xe1, 0x21);
    fmt_put_type(&b, 1, "T");
    EXPECT_BYTES(&b, &mark, "TYPE", FMT_REC_TYPE, 1, 1, 'T');
    fmt_put_blocks(&b, 0);
    EXPECT_BYTES(&b, &mark, "empty BLOCKS", FMT_REC_BLOCKS, 0);
    fmt_put_edges(&b, 0);
    EXPECT_BYTES(&b, &mark, "empty EDGES", FMT_REC_EDGES, 0);
    fmt_put_heap_stat(&b, 0, 127, 128, 1ull << 32, UINT64_MAX, 1ull << 40);
    EXPECT_BYTES(&b, &mark, "HEAP_STAT", FMT_REC_HEAP_STAT, 0, 0x7f, 0x80, 0x01, V2_32, VMAX, 0x80, 0x80, 0x80,
                 0x80, 0x80, 0x20);
    /* a FREE's flags ride in its type: no byte more than one without */
    fmt_put_free(&b, 24, 1, FMT_FREE_TEMPORARY | FMT_AGE_UNDER_S << FMT_FREE_AGE_SHIFT);
    EXPECT_BYTES(&b, &mark, "FREE, flags 3", FMT_REC_FREE_FLAGGED + 2, 24, 1);
    fmt_put_free(&b, 24, 1, 0);
    EXPECT_BYTES(&b, &mark, "FREE, no flags", FMT_REC_FREE, 24, 1);
    fmt_put_process_end(&b, 5, FMT_END_EXEC, 1, 2, 3, 4, 6);
    EXPECT_BYTES(&b, &mark, "PROCESS_END", FMT_REC_PROCESS_END, 5, 1, 1, 2, 3, 4, 6);
    fmt_put_suppressions(&b, "leak:x");
    EXPECT_BYTES(&b, &mark, "SUPPRESSIONS", FMT_REC_SUPPRESSIONS, 6, 'l', 'e', 'a', 'k', ':', 'x');
    fmt_put_seq(&b, 300);
    EXPECT_BYTES(&b, &mark, "SEQ", FMT_REC_SEQ, 0xac, 0x02);
    REQ_EQ(mem[b.len], 0xee);
#undef VMAX
#undef V2_32

    /* the rooms, with every integer (and delta) at its longest */
    static uint8_t big[FMT_SUPPRESSIONS_ROOM(FMT_MAX_STRING) + FMT_STACK_ROOM(FMT_MAX_FRAMES)];
    static uintptr_t frames[FMT_MAX_FRAMES];
    for (unsigned i = 0; i < FMT_MAX_FRAMES; i++)
        frames[i] = UINT64_MAX;
    const uint64_t M = UINT64_MAX, T = 1ull << 63; /* a time delta from 0 of INT64_MIN */
    static const uint8_t build_id[64];
#define ROOM(room, ...)                                                                        \
    do {                                                                                       \
        struct fmt_buf r = { big, 0, sizeof big };                                             \
        __VA_ARGS__;                                                                           \
        REQUIRE(r.len <= (room), "%s: %zu bytes, room %zu", #room, r.len, (size_t)(room));     \
    } while (0)
    ROOM(FMT_PROCESS_ROOM(3, 0, 300), fmt_put_process(&r, M, M, M, M, "abc", NULL, s300));
    ROOM(FMT_MODULE_LOAD_ROOM(127, sizeof build_id),
         fmt_put_module_load(&r, M, M, M, M, s127, build_id, sizeof build_id));
    ROOM(FMT_MODULE_UNLOAD_ROOM, fmt_put_module_unload(&r, M));
    ROOM(FMT_STACK_ROOM(FMT_MAX_FRAMES), fmt_put_stack(&r, M, frames, FMT_MAX_FRAMES));
    ROOM(FMT_THREAD_ROOM, fmt_put_thread(&r, M));
    ROOM(FMT_ALLOC_ROOM, fmt_put_alloc(&r, M, M, M, T));
    ROOM(FMT_FREE_ROOM, fmt_put_free(&r, M, M, FMT_FREE_FLAGS_MAX));
    ROOM(FMT_TYPE_ROOM(300), fmt_put_type(&r, M, s300));
    ROOM(FMT_TAG_ROOM, fmt_put_tag(&r, M, M));
    ROOM(FMT_SNAPSHOT_BEGIN_ROOM(128), fmt_put_snapshot_begin(&r, M, s128, M, M, M, M, M));
    ROOM(FMT_BLOCKS_ROOM(2), fmt_put_blocks(&r, M); fmt_put_block(&r, M, M, M, M, T, M, M, M);
         fmt_put_block(&r, M - 1, M, M, M, 0, M, M, M));
    ROOM(FMT_SNAPSHOT_END_ROOM, fmt_put_snapshot_end(&r, M));
    ROOM(FMT_HEAP_STAT_ROOM, fmt_put_heap_stat(&r, M, M, M, M, M, M));
    ROOM(FMT_PROCESS_END_ROOM, fmt_put_process_end(&r, M, M, M, M, M, M, M));
    ROOM(FMT_ROOT_ROOM, fmt_put_root(&r, M, M, M, M, M));
    ROOM(FMT_EDGES_ROOM(2), fmt_put_edges(&r, M); fmt_put_edge(&r, M >> 1, 1, M, M, M, M);
         fmt_put_edge(&r, M >> 1, 1, M, M, M, M));
    ROOM(FMT_RC_ROOM, fmt_put_rc(&r, M, M, -2, M, M, M, M));
    ROOM(FMT_SUPPRESSIONS_ROOM(FMT_MAX_STRING), fmt_put_suppressions(&r, s_over));
    ROOM(FMT_SEQ_ROOM, fmt_put_seq(&r, M));
#undef ROOM
}
END_TEST

/* The thread ids, as the reader hands them out, checked by hand. */
START_TEST(test_thread_ids)
{
    static struct trace t;
    build_trace(&t, trace_ops, NOPS, 0);
    const char *path = tmp_path("tids.hst");
    write_file(path, t.data, t.len);
    char err[512] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    struct fmt_record rec;
    uint32_t tids[MAX_EXP];
    unsigned types[MAX_EXP];
    size_t n = 0;
    while (fmt_reader_next(r, &rec) && n < MAX_EXP) {
        tids[n] = rec.tid;
        types[n++] = rec.type;
    }
    ck_assert_ptr_null(fmt_reader_damage(r));
    fmt_reader_close(r);
    /* small trace: 9 records in chunk 1, then chunk 2's events */
    size_t k = 9;
    for (size_t i = 0; i < k; i++)
        ck_assert_uint_eq(tids[i], 0);
    static const uint32_t want[] = { 1234,       1234,       1234,       1234,       1234,
                                     1234,       UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
                                     0,          0,          7,          7,          7,
                                     7,          7,          7,          7 };
    static const unsigned want_type[] = {
        FMT_REC_ALLOC, FMT_REC_ALLOC, FMT_REC_FREE, FMT_REC_TAG,  FMT_REC_RC,
        FMT_REC_RC,    FMT_REC_FREE,  FMT_REC_ALLOC, FMT_REC_RC,  FMT_REC_RC,
        FMT_REC_ALLOC, FMT_REC_RC,    FMT_REC_TAG,  FMT_REC_FREE, FMT_REC_RC,
        FMT_REC_RC,    FMT_REC_RC,    FMT_REC_RC,   FMT_REC_RC,
    };
    enum { NW = sizeof want / sizeof want[0] };
    ck_assert_uint_eq(NW, sizeof want_type / sizeof want_type[0]);
    ck_assert_uint_ge(n, k + NW + 1);
    for (size_t i = 0; i < NW; i++) {
        ck_assert_uint_eq(types[k + i], want_type[i]);
        ck_assert_uint_eq(tids[k + i], want[i]);
    }
    /* chunk 3 starts without a THREAD record: unknown thread */
    ck_assert_uint_eq(types[k + NW], FMT_REC_ALLOC);
    ck_assert_uint_eq(tids[k + NW], 0);
    for (size_t i = k + NW; i < n; i++)
        ck_assert_uint_eq(tids[i], 0);
    free_trace(&t);
}
END_TEST

static void expect_open_fails(const char *path, const char *what)
{
    char err[512];
    memset(err, 0, sizeof err);
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r == NULL, "%s: fmt_reader_open succeeded", what);
    REQUIRE(err[0] != 0, "%s: no error message", what);
    REQUIRE(strlen(err) < sizeof err - 1, "%s: error not terminated", what);
    /* a small err buffer is still terminated */
    char small[8];
    memset(small, 'z', sizeof small);
    ck_assert_ptr_null(fmt_reader_open(path, small, sizeof small));
    REQUIRE(memchr(small, 0, sizeof small) != NULL, "%s: short err not terminated", what);
    REQUIRE(small[0] != 0, "%s: short err empty", what);
}

START_TEST(test_open_errors)
{
    uint8_t h[FMT_FILE_HEADER_SIZE + 32];
    memset(h, 0, sizeof h);

    write_file(tmp_path("empty.hst"), "", 0);
    expect_open_fails(tmp_path("empty.hst"), "empty file");

    expect_open_fails(tmp_path("does-not-exist.hst"), "missing file");
    expect_open_fails(tmpdir, "a directory");

    fmt_file_header(h);
    write_file(tmp_path("short.hst"), h, FMT_FILE_HEADER_SIZE - 1);
    expect_open_fails(tmp_path("short.hst"), "15-byte header");
    write_file(tmp_path("short8.hst"), FMT_MAGIC, 8);
    expect_open_fails(tmp_path("short8.hst"), "magic only");

    fmt_file_header(h);
    h[7] = '2';
    write_file(tmp_path("magic.hst"), h, sizeof h);
    expect_open_fails(tmp_path("magic.hst"), "bad magic");
    fmt_file_header(h);
    h[0] = 'h';
    write_file(tmp_path("magic2.hst"), h, sizeof h);
    expect_open_fails(tmp_path("magic2.hst"), "lower-case magic");
    memset(h, 0, sizeof h);
    write_file(tmp_path("zeros.hst"), h, sizeof h);
    expect_open_fails(tmp_path("zeros.hst"), "all zeros");

    static const uint32_t bad_versions[] = { 0, FMT_VERSION + 1, 0x01000000u, UINT32_MAX };
    for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
        fmt_file_header(h);
        uint32_t v = bad_versions[i];
        set_version(h, v);
        write_file(tmp_path("version.hst"), h, sizeof h);
        char what[64];
        snprintf(what, sizeof what, "version %#x", v);
        expect_open_fails(tmp_path("version.hst"), what);
    }
}
END_TEST

START_TEST(test_header_only)
{
    uint8_t h[FMT_FILE_HEADER_SIZE];
    fmt_file_header(h);
    write_file(tmp_path("hdr.hst"), h, sizeof h);
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(tmp_path("hdr.hst"), err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    struct fmt_record rec;
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    ck_assert_ptr_null(fmt_reader_damage(r));
    ck_assert_uint_eq(fmt_reader_offset(r), FMT_FILE_HEADER_SIZE);
    ck_assert_uint_eq(fmt_reader_size(r), FMT_FILE_HEADER_SIZE);
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    ck_assert_ptr_null(fmt_reader_damage(r));
    fmt_reader_close(r);
    fmt_reader_close(NULL);
}
END_TEST

/* t cut short at every offset: the records of the whole chunks before the
 * cut, then damage unless the cut is at a chunk boundary. */
static void check_every_cut(const struct trace *t, const char *name)
{
    const char *path = tmp_path(name);
    char ctx[96], dmg[256];
    size_t cuts = 0, damaged = 0;
    for (size_t cut = FMT_FILE_HEADER_SIZE; cut <= t->len; cut++) {
        size_t want = 0;
        while (want < t->nexp && t->exp_end[want] <= cut)
            want++;
        int boundary = cut == FMT_FILE_HEADER_SIZE;
        for (size_t c = 0; c < t->nchunks; c++)
            boundary |= t->ends[c] == cut;
        write_file(path, t->data, cut);
        snprintf(ctx, sizeof ctx, "%s cut at %zu of %zu", name, cut, t->len);
        size_t got = read_check(path, t, want, dmg, sizeof dmg, ctx);
        REQUIRE(got == want, "%s: %zu records, want %zu (damage: %s)", ctx, got, want, dmg);
        if (boundary)
            REQUIRE(dmg[0] == 0, "%s (a chunk boundary): damage \"%s\"", ctx, dmg);
        else
            REQUIRE(dmg[0] != 0, "%s (inside a chunk): no damage reported", ctx);
        cuts++;
        damaged += !boundary;
    }
    ck_assert_uint_eq(cuts, t->len - FMT_FILE_HEADER_SIZE + 1);
    ck_assert_uint_eq(damaged, cuts - 1 - t->nchunks);
}

START_TEST(test_truncated_every_offset)
{
    static struct trace t;
    build_trace(&t, trace_ops, NOPS, 0);
    ck_assert_uint_eq(t.nchunks, 5);
    check_every_cut(&t, "cut.hst");
    free_trace(&t);
}
END_TEST

/* t with each bit of each byte after the file header flipped in turn:
 * the records of the chunks before the flip, or all of them. */
static void check_every_flip(const struct trace *t, const char *name)
{
    const char *path = tmp_path(name);
    uint8_t *copy = malloc(t->len);
    memcpy(copy, t->data, t->len);
    char ctx[128], dmg[256];
    size_t clean = 0, bad = 0;
    for (size_t off = FMT_FILE_HEADER_SIZE; off < t->len; off++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            copy[off] ^= (uint8_t)(1u << bit);
            write_file(path, copy, t->len);
            copy[off] ^= (uint8_t)(1u << bit);
            snprintf(ctx, sizeof ctx, "%s: bit %u of byte %zu flipped", name, bit, off);
            /* whatever comes out is a prefix of the true records */
            size_t got = read_check(path, t, t->nexp, dmg, sizeof dmg, ctx);
            if (dmg[0]) {
                bad++;
                /* only the chunks before the damaged one */
                size_t c = 0;
                while (t->ends[c] <= off)
                    c++;
                size_t before = 0;
                while (before < t->nexp && t->exp_end[before] < t->ends[c])
                    before++;
                REQUIRE(got == before, "%s: %zu records, but %zu precede the chunk",
                              ctx, got, before);
            } else {
                clean++;
                REQUIRE(got == t->nexp, "%s: clean end after %zu of %zu records", ctx, got,
                              t->nexp);
            }
        }
    }
    ck_assert_uint_eq(clean + bad, (t->len - FMT_FILE_HEADER_SIZE) * 8);
    /* a checksummed frame: nearly every flip is caught */
    ck_assert_uint_gt(bad, clean);
    free(copy);
}

START_TEST(test_bit_flips)
{
    static struct trace t;
    build_trace(&t, trace_ops, NOPS, 0);
    check_every_flip(&t, "flip.hst");
    free_trace(&t);
}
END_TEST

/* xorshift64*: deterministic garbage */
static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static const struct op garbage_ops_head[] = {
    REC({ .type = FMT_REC_PROCESS, .u.process = { 1, 2, 3, 4, "a", "b", "c" } }),
    THREAD(55),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { 1, 10, 1, 5 } }),
    CHUNK,
};

START_TEST(test_garbage_chunk)
{
    enum { GLEN = 4096, NHEAD = sizeof garbage_ops_head / sizeof garbage_ops_head[0] };
    static uint8_t garbage[GLEN];
    static struct op ops[NHEAD + 4];
    static struct trace t;
    const char *path = tmp_path("garbage.hst");
    char ctx[96];
    for (unsigned variant = 0; variant < (FMT_REC_SUPPRESSIONS + 1) * 8; variant++) {
        /* 0: random first byte; else that record type */
        unsigned first = variant % (FMT_REC_SUPPRESSIONS + 1);
        rng_state = 0x9e3779b97f4a7c15ull * (variant + 1);
        for (size_t i = 0; i < GLEN; i++)
            garbage[i] = (uint8_t)(rng() >> 56);
        if (first)
            garbage[0] = (uint8_t)first;
        memcpy(ops, garbage_ops_head, sizeof garbage_ops_head);
        ops[NHEAD] = (struct op){ .kind = OP_RAW, .raw = garbage, .raw_len = GLEN };
        ops[NHEAD + 1] = (struct op){ .kind = OP_CHUNK };
        /* a good chunk after the garbage must not be reached */
        ops[NHEAD + 2] = (struct op){ .kind = OP_REC,
                                      .rec = { .type = FMT_REC_MODULE_UNLOAD, .u.id = 77 } };
        build_trace(&t, ops, NHEAD + 3, 0);
        ck_assert_uint_eq(t.nchunks, 3);
        ck_assert_uint_eq(t.nexp, 3);
        write_file(path, t.data, t.len);

        snprintf(ctx, sizeof ctx, "garbage variant %u", variant);
        char err[256] = "";
        struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
        REQUIRE(r != NULL, "%s: open: %s", ctx, err);
        struct fmt_record rec;
        char why[256];
        size_t n = 0;
        while (fmt_reader_next(r, &rec)) {
            if (n < 2)
                REQUIRE(rec_diff(&rec, &t.exp[n], why, sizeof why) == 0,
                              "%s: record %zu: %s", ctx, n, why);
            n++;
            /* a record takes at least one byte: no more than GLEN of them */
            REQUIRE(n <= 2 + GLEN, "%s: the reader does not stop", ctx);
        }
        ck_assert_uint_ge(n, 2);
        REQUIRE(fmt_reader_damage(r) != NULL, "%s: garbage read as a clean trace (%zu records)",
                      ctx, n);
        ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
        fmt_reader_close(r);
        free_trace(&t);
    }
}
END_TEST

/* A raw chunk body that is malformed after a good record: the good record
 * comes out, then the damage. */
struct bad_case {
    const char *what;
    uint8_t bytes[64];
    size_t len;
    size_t good;      /* records before the damage */
    int edges;        /* the good records after the first are want_edges, not want_blocks */
    const char *like; /* a block list case whose damage this one reports alike */
    uint32_t version; /* of the file header; 0: FMT_VERSION */
};

/* What a correct reader yields from the cases below: MODULE_UNLOAD 5, then
 * the case's blocks or edges. The list items in the bytes are:
 *   block 1: 16, 1, 1, 0, 9, 0, 0x7f, 0
 *   block 2: 16, 2, 1, 0, 9, 1, UINT64_MAX (10 bytes), 0x55
 * (the births as deltas, 18 = zigzag(9) then 0; absolute in version 1)
 *   edge 1:  0x0b (5 << 1 | 1), 8, 7, 0, 0
 *   edge 2:  0x80 0x01 (64 << 1 | 0), 0xff 0xff 0x03, 0x80 0x01, 3, 0x10 (rules; none in version 2)
 * The cut-short lists hold at least as many bytes as the smallest items they
 * announce (8 a block, 4 an edge), so the damage is found in the items even
 * by a reader that checks the count more tightly than one byte an item. */
static const struct fmt_record want_blocks[3] = {
    { .type = FMT_REC_MODULE_UNLOAD, .u.id = 5 },
    { .type = FMT_REC_BLOCKS, .u.block = { 16, 1, 1, 0, 9, 0, 127, 0 } },
    { .type = FMT_REC_BLOCKS, .u.block = { 32, 2, 1, 0, 9, 1, UINT64_MAX, 0x55 } },
};
static const struct fmt_record want_edges[3] = {
    { .type = FMT_REC_MODULE_UNLOAD, .u.id = 5 },
    { .type = FMT_REC_EDGES, .u.edge = { 5, 1, 8, 7, 0, 0 } },
    { .type = FMT_REC_EDGES, .u.edge = { 64, 0, 0xffff, 128, 3, FMT_HEUR_DTV } },
};

#define U5 FMT_REC_MODULE_UNLOAD, 5
#define BLK1 16, 1, 1, 0, 18, 0, 0x7f, 0 /* birth: zigzag(9 - 0) */
#define BLK2 16, 2, 1, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x55 /* birth 9 again */
#define BLK1_V1 16, 1, 1, 0, 9, 0, 0x7f, 0 /* version 1: birth absolute */
#define BLK2_V1 16, 2, 1, 0, 9, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x55
#define EDG1 0x0b, 8, 7, 0, 0
#define EDG2 0x80, 0x01, 0xff, 0xff, 0x03, 0x80, 0x01, 3, 0x10

static const struct bad_case bad_cases[] = {
    { "record type 0", { U5, 0 }, 3, 1 },
    /* 18 is SUPPRESSIONS, 19 SEQ: 20 is the first unknown type */
    { "SUPPRESSIONS without its string", { U5, FMT_REC_SUPPRESSIONS }, 3, 1 },
    { "SUPPRESSIONS string past the chunk", { U5, FMT_REC_SUPPRESSIONS, 5, 'a', 'b' }, 6, 1 },
    { "SEQ without its number", { U5, FMT_REC_SEQ }, 3, 1 },
    { "record type 20", { U5, 20, 1, 2, 3, 4, 5, 6, 7, 8 }, 11, 1 }, /* the first unknown one */
    { "record type 27", { U5, 27, 1, 2, 3, 4, 5, 6, 7, 8 }, 11, 1 }, /* past FREE_FLAGGED's 21-25, OBJECTS' 26 */
    { "flagged FREE without fields", { U5, FMT_REC_FREE_FLAGGED }, 3, 1 },
    { "flagged FREE without stack_id", { U5, FMT_REC_FREE_FLAGGED + 4, 0x80, 0x40 }, 5, 1 },
    { "record type 127", { U5, 127, 1, 2, 3, 4, 5, 6, 7, 8 }, 11, 1 },
    { "record type 128", { U5, 128, 1, 2, 3, 4, 5, 6, 7, 8 }, 11, 1 },
    { "record type 255", { U5, 255 }, 3, 1 },
    /* ALLOC: fn, size, stack_id, zigzag(time delta); 0x80 0x40 is 0x2000 */
    { "ALLOC without fields", { U5, FMT_REC_ALLOC }, 3, 1 },
    { "ALLOC fn cut short", { U5, FMT_REC_ALLOC, 0x80 }, 4, 1 },
    { "ALLOC without size", { U5, FMT_REC_ALLOC, 0 }, 4, 1 },
    { "ALLOC size cut short", { U5, FMT_REC_ALLOC, 0, 0x80 }, 5, 1 },
    { "ALLOC without stack_id", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40 }, 6, 1 },
    { "ALLOC stack_id cut short", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 0xff }, 7, 1 },
    { "ALLOC cut short", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3 }, 7, 1 }, /* no time */
    { "ALLOC time cut short", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3, 0xd0 }, 8, 1 },
    { "ALLOC size of 11 bytes",
      { U5, FMT_REC_ALLOC, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 3,
        0x02 }, 17, 1 },
    { "ALLOC time delta of 11 bytes",
      { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x01 }, 18, 1 },
    /* FREE: size, stack_id */
    { "FREE without fields", { U5, FMT_REC_FREE }, 3, 1 },
    { "FREE size cut short", { U5, FMT_REC_FREE, 0xff }, 4, 1 },
    { "FREE without stack_id", { U5, FMT_REC_FREE, 0x80, 0x40 }, 5, 1 },
    { "FREE stack_id cut short", { U5, FMT_REC_FREE, 0x80, 0x40, 0xff, 0xff }, 7, 1 },
    { "FREE size of 11 bytes",
      { U5, FMT_REC_FREE, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 3 }, 15,
      1 },
    { "varint cut short", { U5, FMT_REC_FREE, 1, 0x80 }, 5, 1 },
    /* a version 1 file: ALLOC is fn, zigzag(addr delta), size, stack_id,
     * zigzag(time delta) and FREE zigzag(addr delta), size, stack_id, and a
     * version 2 reader still reads them so; 0x80 0x40 is zigzag(0x1000) */
    { "v1 ALLOC without fields", { U5, FMT_REC_ALLOC }, 3, 1, .version = 1 },
    { "v1 ALLOC without addr", { U5, FMT_REC_ALLOC, 0 }, 4, 1, .version = 1 },
    { "v1 ALLOC addr cut short", { U5, FMT_REC_ALLOC, 0, 0x80 }, 5, 1, .version = 1 },
    { "v1 ALLOC without size", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40 }, 6, 1, .version = 1 },
    { "v1 ALLOC without stack_id", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3 }, 7, 1, .version = 1 },
    { "v1 ALLOC cut short", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3, 4 }, 8, 1, .version = 1 },
    { "v1 ALLOC time cut short", { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3, 4, 0xd0 }, 9, 1,
      .version = 1 },
    { "v1 ALLOC addr delta of 11 bytes",
      { U5, FMT_REC_ALLOC, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 3,
        4, 0x02 }, 18, 1, .version = 1 },
    { "v1 ALLOC time delta of 11 bytes",
      { U5, FMT_REC_ALLOC, 0, 0x80, 0x40, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x01 }, 19, 1, .version = 1 },
    { "v1 FREE without fields", { U5, FMT_REC_FREE }, 3, 1, .version = 1 },
    { "v1 FREE addr cut short", { U5, FMT_REC_FREE, 0xff }, 4, 1, .version = 1 },
    { "v1 FREE without size", { U5, FMT_REC_FREE, 0x80, 0x40 }, 5, 1, .version = 1 },
    { "v1 FREE without stack_id", { U5, FMT_REC_FREE, 0x80, 0x40, 3 }, 6, 1, .version = 1 },
    { "v1 FREE addr delta of 11 bytes",
      { U5, FMT_REC_FREE, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 3, 4 }, 16,
      1, .version = 1 },
    { "v1 varint cut short", { U5, FMT_REC_FREE, 1, 2, 0x80 }, 6, 1, .version = 1 },
    /* and the same damage elsewhere is still damage in a version 1 file */
    { "v1 record type 20", { U5, 20, 1, 2, 3, 4, 5, 6, 7, 8 }, 11, 1, .version = 1 },
    { "v1 block list cut short", { U5, FMT_REC_BLOCKS, 3, BLK1_V1, BLK2_V1 }, 30, 3, .version = 1 },
    { "varint of 11 bytes",
      { U5, FMT_REC_MODULE_UNLOAD, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x01 }, 14, 1 },
    { "THREAD without tid", { U5, FMT_REC_THREAD }, 3, 1 },
    { "string past the chunk", { U5, FMT_REC_TYPE, 1, 5, 'a', 'b' }, 7, 1 },
    { "string longer than FMT_MAX_STRING", { U5, FMT_REC_TYPE, 1, 0x81, 0x80, 0x04, 'a', 'b' }, 9, 1 },
    { "stack of FMT_MAX_FRAMES + 1", { U5, FMT_REC_STACK, 1, 0x81, 0x08, 1, 2 }, 8, 1 },
    { "stack frames past the chunk", { U5, FMT_REC_STACK, 1, 3, 1, 2 }, 7, 1 },
    { "BLOCKS without a count", { U5, FMT_REC_BLOCKS }, 3, 1 },
    { "block count beyond the chunk", { U5, FMT_REC_BLOCKS, 100, 1, 2, 3, 4, 5 }, 9, 1 },
    { "block count of UINT64_MAX",
      { U5, FMT_REC_BLOCKS, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 2, 3, 4, 5 },
      18, 1 },
    /* 3 blocks announced, 2 present (26 bytes) */
    { "block list cut short", { U5, FMT_REC_BLOCKS, 3, BLK1, BLK2 }, 30, 3 },
    { "block without flags", { U5, FMT_REC_BLOCKS, 1, 16, 1, 1, 0, 9 }, 9, 1 },
    /* the block of the old format: six fields */
    { "block without hash", { U5, FMT_REC_BLOCKS, 1, 16, 1, 1, 0, 9, 0 }, 10, 1 },
    { "block without word0", { U5, FMT_REC_BLOCKS, 1, 16, 1, 1, 0, 9, 0, 0x7f }, 11, 1 },
    { "block cut short", { U5, FMT_REC_BLOCKS, 1, 16, 1, 1, 0 }, 8, 1 },
    /* the list ends after its n items: what follows is a record */
    { "block list, then record type 0", { U5, FMT_REC_BLOCKS, 1, BLK1, 0 }, 13, 2 },
    { "EDGES without a count", { U5, FMT_REC_EDGES }, 3, 1, .like = "BLOCKS without a count" },
    { "edge count beyond the chunk", { U5, FMT_REC_EDGES, 100, 1, 2, 3, 4 }, 8, 1,
      .like = "block count beyond the chunk" },
    { "edge count of UINT64_MAX",
      { U5, FMT_REC_EDGES, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 2, 3, 4 },
      17, 1, .like = "block count of UINT64_MAX" },
    { "edge count of 2^32", { U5, FMT_REC_EDGES, 0x80, 0x80, 0x80, 0x80, 0x10, EDG1, EDG2 }, 22, 1,
      .like = "block count beyond the chunk" },
    /* 3 edges announced, 2 present (14 bytes) */
    { "edge list cut short", { U5, FMT_REC_EDGES, 3, EDG1, EDG2 }, 18, 3, .edges = 1,
      .like = "block list cut short" },
    { "edge without rules", { U5, FMT_REC_EDGES, 1, 0x0b, 8, 7, 0 }, 8, 1,
      .like = "block without word0" },
    { "edge without dst_off", { U5, FMT_REC_EDGES, 1, 0x0b, 8, 7 }, 7, 1,
      .like = "block without word0" },
    { "edge without dst", { U5, FMT_REC_EDGES, 1, 0x0b, 8 }, 6, 1, .like = "block without flags" },
    { "edge src cut short", { U5, FMT_REC_EDGES, 1, 0x80 }, 5, 1, .like = "block cut short" },
    { "edge src of 11 bytes",
      { U5, FMT_REC_EDGES, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 15,
      1, .like = "block cut short" },
    { "second edge cut short", { U5, FMT_REC_EDGES, 2, EDG1, 0x80, 0x01, 0xff, 0xff }, 13, 2,
      .edges = 1, .like = "block list cut short" },
    { "edge list, then record type 0", { U5, FMT_REC_EDGES, 1, EDG1, 0 }, 10, 2, .edges = 1,
      .like = "block list, then record type 0" },
    /* a version 2 edge has no rules: the next byte is a record */
    { "v2 edge list, then record type 0", { U5, FMT_REC_EDGES, 1, 0x0b, 8, 7, 0, 0 }, 9, 2, .edges = 1,
      .like = "block list, then record type 0", .version = 2 },
    { "OBJECTS without a count", { U5, FMT_REC_OBJECTS }, 3, 1, .like = "BLOCKS without a count" },
    { "object count beyond the chunk", { U5, FMT_REC_OBJECTS, 100, 1, 2, 3, 4 }, 8, 1,
      .like = "block count beyond the chunk" },
    { "object without value", { U5, FMT_REC_OBJECTS, 1, 0x80, 0x20, 3, 1 }, 8, 1,
      .like = "block without word0" },
    { "ROOT without fields", { U5, FMT_REC_ROOT }, 3, 1 },
    { "ROOT without tid", { U5, FMT_REC_ROOT, 1, 2, 3, 4 }, 7, 1 },
    { "ROOT end cut short", { U5, FMT_REC_ROOT, 1, 2, 3, 0x80 }, 7, 1 },
    /* the SNAPSHOT_BEGIN of the old format: five fields */
    { "SNAPSHOT_BEGIN without scanned", { U5, FMT_REC_SNAPSHOT_BEGIN, 0, 1, 'm', 5, 9, 100 }, 9, 1 },
    /* the SNAPSHOT_BEGIN before refcount events: six fields */
    { "SNAPSHOT_BEGIN without rc_seq", { U5, FMT_REC_SNAPSHOT_BEGIN, 0, 1, 'm', 5, 9, 100, 1 }, 10, 1 },
    { "SNAPSHOT_BEGIN rc_seq cut short",
      { U5, FMT_REC_SNAPSHOT_BEGIN, 0, 1, 'm', 5, 9, 100, 1, 0x80, 0x80 }, 12, 1 },
    /* RC: op, addr, count + 1, stack_id, seq, type_id, id; cut before each */
    { "RC without op", { U5, FMT_REC_RC }, 3, 1 },
    { "RC without addr", { U5, FMT_REC_RC, FMT_RC_RETAIN }, 4, 1 },
    { "RC without count", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20 }, 6, 1 },
    { "RC without stack_id", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3 }, 7, 1 },
    { "RC without seq", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1 }, 8, 1 },
    { "RC without type_id", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1, 0x80, 0x01 }, 10, 1 },
    { "RC without id", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1, 0x80, 0x01, 0 }, 11, 1 },
    /* and inside each field (a varint with its continuation bit set) */
    { "RC op cut short", { U5, FMT_REC_RC, 0x80 }, 4, 1 },
    { "RC addr cut short", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80 }, 5, 1 },
    { "RC count cut short", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 0x80 }, 7, 1 },
    { "RC stack_id cut short", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 0xff }, 8, 1 },
    { "RC seq cut short", { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1, 0x80 }, 9, 1 },
    { "RC type_id cut short",
      { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1, 0x80, 0x01, 0x80 }, 11, 1 },
    { "RC id cut short",
      { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x80, 0x20, 3, 1, 0x80, 0x01, 0, 0xff, 0xff }, 13, 1 },
    { "RC count of 11 bytes",
      { U5, FMT_REC_RC, FMT_RC_RETAIN, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
        0x80, 0x01, 1, 2, 3, 4 }, 20, 1 },
    { "PROCESS without its strings", { U5, FMT_REC_PROCESS, 1, 2, 3, 4, 1, 'x' }, 9, 1 },
    { "MODULE_LOAD build id past the chunk",
      { U5, FMT_REC_MODULE_LOAD, 1, 2, 3, 4, 1, '/', 20, 1, 2 }, 12, 1 },
};
#define NBAD (sizeof bad_cases / sizeof bad_cases[0])

/* Runs one case: checks its good records and that damage ends it. The
 * damage, without its " at byte N" (which depends on the compressed size),
 * goes into dmg. */
static void run_bad_case(const struct bad_case *bc, char *dmg, size_t dmglen)
{
    struct op ops[] = {
        { .kind = OP_RAW, .raw = bc->bytes, .raw_len = bc->len },
        CHUNK,
        REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 9 }), /* never reached */
    };
    static struct trace t;
    build_trace(&t, ops, 3, 0);
    ck_assert_uint_eq(t.nexp, 1);
    ck_assert_uint_le(bc->good, 3);
    for (size_t k = bc->len; k < sizeof bc->bytes; k++)
        REQUIRE(bc->bytes[k] == 0, "%s: len %zu leaves out byte %zu", bc->what, bc->len, k);
    memcpy(t.exp, bc->edges ? want_edges : want_blocks, sizeof want_blocks);
    if (bc->version)
        set_version(t.data, bc->version);
    const char *path = tmp_path("malformed.hst");
    write_file(path, t.data, t.len);
    size_t got = read_check(path, &t, bc->good, dmg, dmglen, bc->what);
    REQUIRE(got == bc->good, "%s: %zu records, want %zu", bc->what, got, bc->good);
    REQUIRE(dmg[0] != 0, "%s: no damage reported", bc->what);
    char *at = strstr(dmg, " at byte ");
    REQUIRE(at != NULL, "%s: damage \"%s\" does not say where", bc->what, dmg);
    *at = 0;
    free_trace(&t);
}

START_TEST(test_malformed_record)
{
    const struct bad_case *bc = &bad_cases[_i];
    char dmg[256];
    run_bad_case(bc, dmg, sizeof dmg);
    if (bc->like) {
        /* damage in an edge list is reported like damage in a block list */
        const struct bad_case *other = NULL;
        for (size_t k = 0; k < NBAD; k++)
            if (!strcmp(bad_cases[k].what, bc->like))
                other = &bad_cases[k];
        REQUIRE(other != NULL, "%s: no case \"%s\"", bc->what, bc->like);
        char dmg2[256];
        run_bad_case(other, dmg2, sizeof dmg2);
        REQUIRE(!strcmp(dmg, dmg2), "%s: damage \"%s\", but \"%s\" for %s", bc->what, dmg, dmg2,
                other->what);
    }
}
END_TEST

/* Over the reader's limits, with every byte present: damage, not a record
 * (and not FMT_MAX_FRAMES + 1 frames written into the reader's frame array). */
START_TEST(test_over_limits)
{
    static uint8_t body[2 * (FMT_MAX_STRING + 64)];
    const char *path = tmp_path("limits.hst");
    char dmg[256];
    for (int which = 0; which < 2; which++) {
        struct fmt_buf b = { body, 0, sizeof body };
        fmt_put_u8(&b, FMT_REC_MODULE_UNLOAD);
        fmt_put_varint(&b, 5);
        if (which == 0) {
            /* a TYPE whose name is FMT_MAX_STRING + 1 bytes, all there */
            fmt_put_u8(&b, FMT_REC_TYPE);
            fmt_put_varint(&b, 1);
            fmt_put_varint(&b, FMT_MAX_STRING + 1);
            memset(b.data + b.len, 'n', FMT_MAX_STRING + 1);
            b.len += FMT_MAX_STRING + 1;
        } else {
            /* a STACK of FMT_MAX_FRAMES + 1 frames, all there */
            fmt_put_u8(&b, FMT_REC_STACK);
            fmt_put_varint(&b, 1);
            fmt_put_varint(&b, FMT_MAX_FRAMES + 1);
            for (unsigned i = 0; i <= FMT_MAX_FRAMES; i++)
                fmt_put_varint(&b, 0x400000 + i);
        }
        /* then a good record, which must not be reached */
        fmt_put_u8(&b, FMT_REC_MODULE_UNLOAD);
        fmt_put_varint(&b, 6);
        struct op ops[] = { { .kind = OP_RAW, .raw = body, .raw_len = b.len } };
        static struct trace t;
        build_trace(&t, ops, 1, 0);
        t.exp[0] = (struct fmt_record){ .type = FMT_REC_MODULE_UNLOAD, .u.id = 5 };
        write_file(path, t.data, t.len);
        const char *what = which ? "FMT_MAX_FRAMES + 1 frames" : "FMT_MAX_STRING + 1 bytes";
        size_t got = read_check(path, &t, 1, dmg, sizeof dmg, what);
        REQUIRE(got == 1, "%s: %zu records, want 1", what, got);
        REQUIRE(dmg[0] != 0, "%s: no damage reported", what);
        free_trace(&t);
    }
}
END_TEST

START_TEST(test_empty_chunk)
{
    static const struct op ops[] = {
        REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 1 }),
        CHUNK,
        CHUNK, /* an empty chunk */
        REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 2 }),
        CHUNK,
        BLOCKS0, /* a chunk of nothing but an empty block list */
        CHUNK,
        EDGES0, /* a chunk of nothing but an empty edge list */
        CHUNK,
        EDGES0, /* two empty lists of both kinds */
        BLOCKS0,
        BLOCKS0,
        EDGES0,
        CHUNK,
        THREAD(3), /* a chunk of nothing but a THREAD record */
        CHUNK,
        REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 3 }),
    };
    static struct trace t;
    build_trace(&t, ops, sizeof ops / sizeof ops[0], 0);
    ck_assert_uint_eq(t.nchunks, 8);
    ck_assert_uint_eq(t.nexp, 3);
    const char *path = tmp_path("emptychunk.hst");
    write_file(path, t.data, t.len);
    char dmg[256];
    size_t got = read_check(path, &t, t.nexp, dmg, sizeof dmg, "empty chunks");
    ck_assert_uint_eq(got, 3);
    REQUIRE(dmg[0] == 0, "damage: %s", dmg);
    free_trace(&t);
}
END_TEST

START_TEST(test_long_string_cut)
{
    struct op ops[] = {
        REC({ .type = FMT_REC_TYPE, .u.type = { 5, s_over } }),
        REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 6 }),
    };
    static struct trace t;
    build_trace(&t, ops, 2, 0);
    /* the reader gives back the first FMT_MAX_STRING bytes */
    static char cut[FMT_MAX_STRING + 1];
    memcpy(cut, s_over, FMT_MAX_STRING);
    cut[FMT_MAX_STRING] = 0;
    t.exp[0].u.type.name = cut;
    const char *path = tmp_path("longstr.hst");
    write_file(path, t.data, t.len);
    char dmg[256];
    ck_assert_uint_eq(read_check(path, &t, 2, dmg, sizeof dmg, "long string"), 2);
    REQUIRE(dmg[0] == 0, "damage: %s", dmg);
    free_trace(&t);
}
END_TEST

static size_t read_n(struct fmt_reader *r, const struct trace *t, size_t start, size_t n,
                     const char *ctx)
{
    struct fmt_record rec;
    char why[256];
    size_t i = 0;
    while (i < n && fmt_reader_next(r, &rec)) {
        REQUIRE(start + i < t->nexp, "%s: too many records", ctx);
        REQUIRE(rec_diff(&rec, &t->exp[start + i], why, sizeof why) == 0,
                      "%s: record %zu: %s", ctx, start + i, why);
        i++;
    }
    return i;
}

START_TEST(test_rewind)
{
    static struct trace t;
    build_trace(&t, trace_ops, NOPS, 1);
    const char *path = tmp_path("rewind.hst");
    write_file(path, t.data, t.len);
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);

    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "first pass"), t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(fmt_reader_offset(r), FMT_FILE_HEADER_SIZE);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "second pass"), t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));

    /* rewind from the middle of a block list, and from just after a THREAD */
    size_t mid = 0;
    while (t.exp[mid].type != FMT_REC_BLOCKS)
        mid++;
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, mid + 2, "to a block list"), mid + 2);
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "after a mid-list rewind"), t.nexp);

    /* and from the middle of an edge list (after its third edge) */
    size_t emid = 0;
    while (t.exp[emid].type != FMT_REC_EDGES)
        emid++;
    ck_assert_uint_eq(t.exp[emid + 2].type, FMT_REC_EDGES);
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, emid + 3, "to an edge list"), emid + 3);
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "after a mid-edge-list rewind"), t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));

    size_t th = 0;
    while (t.exp[th].tid == 0)
        th++;
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, th + 1, "to a thread"), th + 1);
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "after a mid-thread rewind"), t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));
    fmt_reader_close(r);

    /* a damaged trace: the same records and the same damage every time */
    size_t cut = t.ends[1] + 20;
    size_t want = 0;
    while (t.exp_end[want] <= cut)
        want++;
    write_file(path, t.data, cut);
    r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "damaged, first pass"), want);
    ck_assert_ptr_nonnull(fmt_reader_damage(r));
    char first[256];
    snprintf(first, sizeof first, "%s", fmt_reader_damage(r));
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_ptr_null(fmt_reader_damage(r));
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "damaged, second pass"), want);
    ck_assert_ptr_nonnull(fmt_reader_damage(r));
    ck_assert_str_eq(fmt_reader_damage(r), first);
    fmt_reader_close(r);
    free_trace(&t);
}
END_TEST

/* --------------------------------------------- ALLOC's time as a delta */

START_TEST(test_zigzag)
{
    /* zigzag interleaves: 0, -1, 1, -2, 2, ... map to 0, 1, 2, 3, 4, ... */
    static const struct { int64_t v; uint64_t z; } known[] = {
        { 0, 0 },
        { -1, 1 },
        { 1, 2 },
        { -2, 3 },
        { 2, 4 },
        { -64, 127 }, /* the largest magnitudes that fit one varint byte */
        { 64, 128 },
        { INT64_MAX, UINT64_MAX - 1 },
        { INT64_MIN, UINT64_MAX },
        { INT64_MIN + 1, UINT64_MAX - 2 },
        { INT64_MAX - 1, UINT64_MAX - 3 },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int64_t v = known[i].v;
        uint64_t z = known[i].z;
        REQUIRE(fmt_zigzag(v) == z, "zigzag(%" PRId64 ") = %" PRIu64 ", want %" PRIu64, v,
                fmt_zigzag(v), z);
        REQUIRE(fmt_unzigzag(z) == v, "unzigzag(%" PRIu64 ") = %" PRId64 ", want %" PRId64, z,
                fmt_unzigzag(z), v);
        REQUIRE(fmt_unzigzag(fmt_zigzag(v)) == v, "round trip of %" PRId64, v);
        REQUIRE(fmt_zigzag(fmt_unzigzag(z)) == z, "round trip of zigzag %" PRIu64, z);
    }
    /* both ways round, for values all over the range */
    rng_state = 0x243f6a8885a308d3ull;
    for (unsigned i = 0; i < 100000; i++) {
        uint64_t u = rng() >> (i % 64);
        int64_t v = (int64_t)u;
        REQUIRE(fmt_unzigzag(fmt_zigzag(v)) == v, "round trip of %" PRId64, v);
        REQUIRE(v == INT64_MIN || fmt_unzigzag(fmt_zigzag(-v)) == -v, "round trip of -(%" PRId64 ")",
                v);
        REQUIRE(fmt_zigzag(fmt_unzigzag(u)) == u, "round trip of zigzag %" PRIu64, u);
        /* a small magnitude stays small: |v| < 2^k gives z < 2^(k+1) */
        if (v > INT64_MIN) {
            uint64_t mag = v < 0 ? (uint64_t)-v : (uint64_t)v;
            uint64_t z = fmt_zigzag(v);
            REQUIRE(z == 2 * mag - (v < 0), "zigzag(%" PRId64 ") = %" PRIu64, v, z);
        }
    }
}
END_TEST

/* fmt_put_time and fmt_buf_clear, byte by byte */
START_TEST(test_delta_encoder)
{
#define V10(first) first, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* 10 bytes */
    uint8_t mem[128];
    memset(mem, 0xee, sizeof mem);
    struct fmt_buf b = { mem, 5, sizeof mem, 88 };
    fmt_buf_clear(&b);
    REQ_EQ(b.len, 0);
    REQ_EQ(b.prev_time, 0);
    ck_assert_ptr_eq(b.data, mem);
    REQ_EQ(b.cap, sizeof mem);
    size_t mark = 0;

    fmt_put_time(&b, 1000);
    EXPECT_BYTES(&b, &mark, "time 1000 from 0", 0xd0, 0x0f); /* 2000 */
    REQ_EQ(b.prev_time, 1000);
    fmt_put_time(&b, 500);
    EXPECT_BYTES(&b, &mark, "time going back", 0xe7, 0x07); /* -500: 999 */
    fmt_put_time(&b, 500);
    EXPECT_BYTES(&b, &mark, "the same time", 0x00);
    fmt_put_time(&b, 484);
    EXPECT_BYTES(&b, &mark, "time 16 earlier", 0x1f); /* -16: 31 */
    fmt_put_time(&b, UINT64_MAX);
    EXPECT_BYTES(&b, &mark, "time UINT64_MAX", 0xc9, 0x07); /* -485, wrapping: 969 */
    REQUIRE(b.prev_time == UINT64_MAX, "prev_time %#" PRIx64, b.prev_time);
    fmt_put_time(&b, 0);
    EXPECT_BYTES(&b, &mark, "time UINT64_MAX then 0", 0x02); /* +1, past 2^64 */
    fmt_put_time(&b, UINT64_MAX);
    EXPECT_BYTES(&b, &mark, "time 0 then UINT64_MAX", 0x01); /* -1 */
    REQ_EQ(b.len, 10);

    /* the largest deltas either way: INT64_MAX and INT64_MIN */
    fmt_buf_clear(&b);
    mark = 0;
    fmt_put_time(&b, 1ull << 63);
    EXPECT_BYTES(&b, &mark, "time delta INT64_MIN up", V10(0xff));
    fmt_put_time(&b, UINT64_MAX);
    EXPECT_BYTES(&b, &mark, "time delta INT64_MAX", V10(0xfe));
    fmt_put_time(&b, 1ull << 63);
    EXPECT_BYTES(&b, &mark, "time delta -INT64_MAX", V10(0xfd));
    fmt_put_time(&b, 0);
    EXPECT_BYTES(&b, &mark, "time delta INT64_MIN down", V10(0xff));

    /* a cleared buffer starts again from 0 */
    fmt_put_time(&b, 1000);
    fmt_buf_clear(&b);
    mark = 0;
    REQ_EQ(b.len, 0);
    REQ_EQ(b.prev_time, 0);
    fmt_put_time(&b, 1000);
    EXPECT_BYTES(&b, &mark, "time 1000 after a clear", 0xd0, 0x0f);

    /* the encoders of ALLOC, FREE and TAG (through put_rec): no address,
     * and a FREE (which has no time) does not move the time */
    fmt_buf_clear(&b);
    mark = 0;
    memset(mem, 0xee, sizeof mem);
    static const struct fmt_record recs[] = {
        { .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_REALLOC, 24, 1, 1000 } },
        { .type = FMT_REC_FREE, .u.free = { 16, 2 } },
        { .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_CALLOC, 8, 3, 500 } },
        { .type = FMT_REC_FREE, .u.free = { 128, 127 } },
        { .type = FMT_REC_TAG, .u.tag = { 0x5000, 1 } }, /* absolute, and no delta */
        { .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 0, 0, 500 } },
        { .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_PVALLOC, UINT64_MAX, 128, 1ull << 63 } },
        { .type = FMT_REC_FREE, .u.free = { UINT64_MAX, 1ull << 32 } },
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        put_rec(&b, &recs[i]);
    /* 2^63 - 500: zigzag 2^64 - 1000 */
    EXPECT_BYTES(&b, &mark, "put_rec",
                 FMT_REC_ALLOC, FMT_FN_REALLOC, 24, 1, 0xd0, 0x0f,
                 FMT_REC_FREE, 16, 2,
                 FMT_REC_ALLOC, FMT_FN_CALLOC, 8, 3, 0xe7, 0x07,
                 FMT_REC_FREE, 0x80, 0x01, 0x7f,
                 FMT_REC_TAG, 0x80, 0xa0, 0x01, 1,
                 FMT_REC_ALLOC, FMT_FN_MALLOC, 0, 0, 0x00,
                 FMT_REC_ALLOC, FMT_FN_PVALLOC, V10(0xff), 0x80, 0x01,
                 0x98, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                 FMT_REC_FREE, V10(0xff), 0x80, 0x80, 0x80, 0x80, 0x10);
    REQUIRE(b.prev_time == 1ull << 63, "prev_time %#" PRIx64, b.prev_time);
    REQ_EQ(mem[b.len], 0xee); /* and nothing past them */
#undef V10
}
END_TEST

/* ALLOC and FREE written by hand, over three chunks, read back field by field
 * (through rec_diff). ALLOC's time deltas go down, wrap both ways at 2^64,
 * take 10 bytes, go on across a THREAD record and past FREE, TAG, RC and
 * BLOCKS records, and start again from 0 at every chunk: the same bytes at
 * the start of two chunks are the same time. */
#define V10(first) first, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* 10 bytes */
static const uint8_t delta_chunk1[] = {
    FMT_REC_ALLOC, FMT_FN_MALLOC, 24, 1, 0xd0, 0x0f,            /* at 1000 */
    FMT_REC_FREE, 24, 1,
    FMT_REC_TAG, 0x80, 0xa0, 0x01, 1,                           /* 0x5000, absolute */
    FMT_REC_FREE, 16, 2,
    FMT_REC_THREAD, 9,
    FMT_REC_ALLOC, FMT_FN_CALLOC, 8, 3, 0xe7, 0x07,             /* at 500: -500 */
    FMT_REC_ALLOC, FMT_FN_REALLOC, 0, 0, 0x00,                  /* at 500 */
    FMT_REC_FREE, 8, 3,
    FMT_REC_ALLOC, FMT_FN_MALLOC, 1, 1, 0xe9, 0x07,             /* at UINT64_MAX: -501 */
    FMT_REC_ALLOC, FMT_FN_MALLOC, 2, 2, 0x02,                   /* at 0: +1 past 2^64 */
    FMT_REC_RC, FMT_RC_NEW, 0x10, 1, 0, 0, 0, 0,                /* 0x10, absolute */
    FMT_REC_BLOCKS, 1, 0x80, 0x20, 16, 0, 0, 0, 0, 0, 0,        /* block at 0x1000 */
    FMT_REC_ALLOC, FMT_FN_MALLOC, 16, 0, V10(0xff),             /* at 2^63: INT64_MIN */
    FMT_REC_FREE, 16, 0,
    FMT_REC_ALLOC, FMT_FN_MALLOC, 0x80, 0x01, 0x7f, V10(0xfd),  /* at 1: -INT64_MAX */
};
static const uint8_t delta_chunk2[] = {
    FMT_REC_ALLOC, FMT_FN_MALLOC, 24, 1, 0xd0, 0x0f,            /* at 1000, again */
    FMT_REC_FREE, 24, 1,
};
static const uint8_t delta_chunk3[] = {
    FMT_REC_FREE, 24, 1,                                        /* a FREE first */
    FMT_REC_ALLOC, FMT_FN_MALLOC, 24, 1, 0xd0, 0x0f,            /* time from 0: 1000 */
    FMT_REC_THREAD, 4,
    FMT_REC_ALLOC, FMT_FN_MALLOC, 0, 0, 0x7f,                   /* at 1000 - 64 */
};
#undef V10
#define A(tid_, fn, size, stack, time) \
    { .type = FMT_REC_ALLOC, .tid = (tid_), .u.alloc = { (fn), (size), (stack), (time) } }
#define F(tid_, size, stack) \
    { .type = FMT_REC_FREE, .tid = (tid_), .u.free = { (size), (stack) } }
static const struct fmt_record delta_want[] = {
    A(0, FMT_FN_MALLOC, 24, 1, 1000),
    F(0, 24, 1),
    { .type = FMT_REC_TAG, .u.tag = { 0x5000, 1 } },
    F(0, 16, 2),
    A(9, FMT_FN_CALLOC, 8, 3, 500),
    A(9, FMT_FN_REALLOC, 0, 0, 500),
    F(9, 8, 3),
    A(9, FMT_FN_MALLOC, 1, 1, UINT64_MAX),
    A(9, FMT_FN_MALLOC, 2, 2, 0),
    { .type = FMT_REC_RC, .tid = 9, .u.rc = { FMT_RC_NEW, 0x10, 0, 0, 0, 0, 0 } },
    { .type = FMT_REC_BLOCKS, .tid = 9, .u.block = { 0x1000, 16, 0, 0, 0, 0, 0, 0 } },
    A(9, FMT_FN_MALLOC, 16, 0, 1ull << 63),
    F(9, 16, 0),
    A(9, FMT_FN_MALLOC, 128, 127, 1),
    /* chunk 2 */
    A(0, FMT_FN_MALLOC, 24, 1, 1000),
    F(0, 24, 1),
    /* chunk 3 */
    F(0, 24, 1),
    A(0, FMT_FN_MALLOC, 24, 1, 1000),
    A(4, FMT_FN_MALLOC, 0, 0, 1000 - 64),
};
#define NDELTA_WANT (sizeof delta_want / sizeof delta_want[0])
#define NDELTA_CHUNK1 14 /* records of delta_chunk1 */
#define NDELTA_CHUNK2 2

START_TEST(test_delta_layout)
{
    const struct op ops[] = {
        { .kind = OP_RAW, .raw = delta_chunk1, .raw_len = sizeof delta_chunk1 },
        CHUNK,
        { .kind = OP_RAW, .raw = delta_chunk2, .raw_len = sizeof delta_chunk2 },
        CHUNK,
        { .kind = OP_RAW, .raw = delta_chunk3, .raw_len = sizeof delta_chunk3 },
    };
    static struct trace t;
    build_trace(&t, ops, sizeof ops / sizeof ops[0], 0);
    ck_assert_uint_eq(t.nchunks, 3);
    ck_assert_uint_eq(t.nexp, 0);
    ck_assert_uint_eq(NDELTA_WANT, NDELTA_CHUNK1 + NDELTA_CHUNK2 + 3);
    memcpy(t.exp, delta_want, sizeof delta_want);
    t.nexp = NDELTA_WANT;
    /* where each record's chunk ends, for check_every_cut */
    for (size_t i = 0; i < t.nexp; i++)
        t.exp_end[i] = t.ends[i < NDELTA_CHUNK1 ? 0 : i < NDELTA_CHUNK1 + NDELTA_CHUNK2 ? 1 : 2];
    const char *path = tmp_path("delta_layout.hst");
    write_file(path, t.data, t.len);

    char dmg[256];
    ck_assert_uint_eq(read_check(path, &t, t.nexp, dmg, sizeof dmg, "delta layout"), t.nexp);
    REQUIRE(dmg[0] == 0, "delta layout: damage %s", dmg);

    /* a rewind from inside each chunk, with the deltas partway: the records
     * read again come out the same */
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    static const size_t stops[] = { 1, 4, 8, 11, 12, 13, 15, 17, 18, NDELTA_WANT };
    for (size_t s = 0; s < sizeof stops / sizeof stops[0]; s++) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "to record %zu", stops[s]);
        ck_assert_uint_eq(read_n(r, &t, 0, stops[s], ctx), stops[s]);
        ck_assert_int_eq(fmt_reader_rewind(r), 0);
        snprintf(ctx, sizeof ctx, "after a rewind at record %zu", stops[s]);
        ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, ctx), t.nexp);
        ck_assert_ptr_null(fmt_reader_damage(r));
        ck_assert_int_eq(fmt_reader_rewind(r), 0);
    }
    fmt_reader_close(r);

    check_every_cut(&t, "delta_layout_cut.hst");
    free_trace(&t);
}
END_TEST

/* ALLOC and FREE through the encoders, over several chunks */
static const struct op delta_ops[] = {
    THREAD(1),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 32, 1, 5000 } }),
    /* earlier */
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 16, 1, 4000 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { 32, 1 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { 16, 1 } }),
    REC({ .type = FMT_REC_TAG, .u.tag = { 0x1234, 1 } }),
    /* to UINT64_MAX, then past it to 0 */
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_VALLOC, 1, 2, UINT64_MAX } }),
    REC({ .type = FMT_REC_FREE, .u.free = { 1, 2 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MEMALIGN, 0, 0, 0 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { UINT64_MAX, UINT64_MAX, FMT_FREE_FLAGS_MAX } }),
    THREAD(2), /* the deltas go on across threads within a chunk (from 0 here) */
    /* deltas of INT64_MIN (both ways), INT64_MAX and -INT64_MAX */
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 8, 3, 1ull << 63 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 8, 3, 0 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 8, 3, (uint64_t)INT64_MAX } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 8, 3, 0 } }),
    RC(FMT_RC_RETAIN, 0x7f0000001000, 2, 1, 5, 0, 1),
    BLOCKS(blocks3),
    REC({ .type = FMT_REC_FREE, .u.free = { 16, 1 } }),
    CHUNK,
    /* the same time as at the start of chunk 1 */
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 32, 1, 5000 } }),
    REC({ .type = FMT_REC_FREE, .u.free = { 32, 1 } }),
    CHUNK,
    /* a FREE first */
    REC({ .type = FMT_REC_FREE, .u.free = { 32, 1 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 32, 1, 5000 } }),
    CHUNK,
    THREAD(1),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 32, 1, 5000 } }),
    CHUNK,
    /* zero deltas at the start of a chunk */
    REC({ .type = FMT_REC_MODULE_UNLOAD, .u.id = 1 }),
    REC({ .type = FMT_REC_FREE, .u.free = { 0, 0 } }),
    REC({ .type = FMT_REC_ALLOC, .u.alloc = { FMT_FN_MALLOC, 0, 0, 0 } }),
};
#define NDELTA_OPS (sizeof delta_ops / sizeof delta_ops[0])

/* the raw bytes of chunk c of t */
static size_t chunk_raw(const struct trace *t, size_t c, uint8_t *out, size_t room)
{
    size_t start = c ? t->ends[c - 1] : FMT_FILE_HEADER_SIZE;
    size_t z = ZSTD_decompress(out, room, t->data + start + FMT_CHUNK_HEADER_SIZE,
                               t->ends[c] - start - FMT_CHUNK_HEADER_SIZE);
    REQUIRE(!ZSTD_isError(z), "chunk %zu does not decompress", c);
    return z;
}

START_TEST(test_delta_round_trip)
{
    static struct trace t;
    build_trace(&t, delta_ops, NDELTA_OPS, 0);
    ck_assert_uint_eq(t.nchunks, 5);
    const char *path = tmp_path("delta.hst");
    write_file(path, t.data, t.len);
    char dmg[256];
    ck_assert_uint_eq(read_check(path, &t, t.nexp, dmg, sizeof dmg, "delta round trip"), t.nexp);
    REQUIRE(dmg[0] == 0, "delta round trip: damage %s", dmg);

    /* the encoder started each chunk from 0: chunks 2 and 4 (after its
     * THREAD) open with the bytes of chunk 1's first ALLOC (after its
     * THREAD), and chunk 3's ALLOC, after a FREE, carries the full time too */
    static uint8_t raw[5][4096];
    size_t n[5];
    for (size_t c = 0; c < 5; c++)
        n[c] = chunk_raw(&t, c, raw[c], sizeof raw[c]);
    /* 5000 from 0: zigzag 10000 */
    static const uint8_t alloc0[] = { FMT_REC_ALLOC, FMT_FN_MALLOC, 32, 1, 0x90, 0x4e };
    static const uint8_t free0[] = { FMT_REC_FREE, 32, 1 };
    ck_assert_uint_ge(n[0], 2 + sizeof alloc0);
    ck_assert_mem_eq(raw[0], ((const uint8_t[]){ FMT_REC_THREAD, 1 }), 2);
    ck_assert_mem_eq(raw[0] + 2, alloc0, sizeof alloc0);
    /* 4000 after 5000: -1000, zigzag 1999 */
    ck_assert_mem_eq(raw[0] + 2 + sizeof alloc0,
                     ((const uint8_t[]){ FMT_REC_ALLOC, FMT_FN_MALLOC, 16, 1, 0xcf, 0x0f,
                                         FMT_REC_FREE, 32, 1, FMT_REC_FREE, 16, 1 }), 12);
    ck_assert_uint_eq(n[1], sizeof alloc0 + sizeof free0);
    ck_assert_mem_eq(raw[1], alloc0, sizeof alloc0);
    ck_assert_mem_eq(raw[1] + sizeof alloc0, free0, sizeof free0);
    ck_assert_uint_eq(n[2], sizeof free0 + sizeof alloc0);
    ck_assert_mem_eq(raw[2], free0, sizeof free0);
    ck_assert_mem_eq(raw[2] + sizeof free0, alloc0, sizeof alloc0);
    ck_assert_uint_eq(n[3], 2 + sizeof alloc0);
    ck_assert_mem_eq(raw[3], ((const uint8_t[]){ FMT_REC_THREAD, 1 }), 2);
    ck_assert_mem_eq(raw[3] + 2, alloc0, sizeof alloc0);
    ck_assert_mem_eq(raw[4],
                     ((const uint8_t[]){ FMT_REC_MODULE_UNLOAD, 1, FMT_REC_FREE, 0, 0,
                                         FMT_REC_ALLOC, FMT_FN_MALLOC, 0, 0, 0 }), 10);
    ck_assert_uint_eq(n[4], 10);

    /* rewinds from inside the chunks */
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    for (size_t stop = 1; stop <= t.nexp; stop++) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "to record %zu", stop);
        ck_assert_uint_eq(read_n(r, &t, 0, stop, ctx), stop);
        ck_assert_int_eq(fmt_reader_rewind(r), 0);
        snprintf(ctx, sizeof ctx, "after a rewind at record %zu", stop);
        ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, ctx), t.nexp);
        ck_assert_ptr_null(fmt_reader_damage(r));
        ck_assert_int_eq(fmt_reader_rewind(r), 0);
    }
    fmt_reader_close(r);

    check_every_cut(&t, "delta_cut.hst");
    check_every_flip(&t, "delta_flip.hst");
    free_trace(&t);
}
END_TEST

/* The versions a reader opens: FMT_VERSION_OLDEST (1) to FMT_VERSION (5);
 * any other is refused, with a message that names the version found. */
START_TEST(test_versions)
{
    static const struct { uint32_t v; int ok; } cases[] = {
        { 0, 0 }, { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 5, 1 }, { 6, 0 }, { 0x100, 0 }, { 0x0102, 0 },
        { 0x01000001u, 0 }, { UINT32_MAX, 0 },
    };
    uint8_t h[FMT_FILE_HEADER_SIZE];
    const char *path = tmp_path("versions.hst");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t v = cases[i].v;
        fmt_file_header(h);
        set_version(h, v);
        write_file(path, h, sizeof h);
        char err[512], what[64];
        memset(err, 0, sizeof err);
        snprintf(what, sizeof what, "version %" PRIu32, v);
        struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
        if (cases[i].ok) {
            REQUIRE(r != NULL, "%s: refused: %s", what, err);
            struct fmt_record rec;
            ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
            ck_assert_ptr_null(fmt_reader_damage(r));
            ck_assert_uint_eq(fmt_reader_offset(r), FMT_FILE_HEADER_SIZE);
            fmt_reader_close(r);
            continue;
        }
        REQUIRE(r == NULL, "%s: opened", what);
        REQUIRE(strstr(err, "version") != NULL, "%s: the error \"%s\" does not say version", what,
                err);
        /* "... version 4, ...": the version found, in decimal */
        char found[32];
        snprintf(found, sizeof found, "version %" PRIu32 ",", v);
        REQUIRE(strstr(err, found) != NULL, "%s: the error \"%s\" does not say \"%s\"", what, err,
                found);
        REQUIRE(strstr(err, path) != NULL, "%s: the error \"%s\" does not name the file", what, err);
        expect_open_fails(path, what);
    }
}
END_TEST

/* A version 1 trace, whose ALLOC (fn, zigzag(addr delta), size, stack_id,
 * zigzag(time delta)) and FREE (zigzag(addr delta), size, stack_id) carry an
 * address: the reader skips it, whatever its length, and hands out the
 * other fields, the time delta going on as in version 2. */
#define V10(first) first, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 /* 10 bytes */
static const uint8_t v1_chunk1[] = {
    FMT_REC_THREAD, 7,
    FMT_REC_ALLOC, FMT_FN_CALLOC, 0x80, 0x40, 24, 3, 0xd0, 0x0f,       /* 0x1000, at 1000 */
    FMT_REC_TAG, 0x80, 0x20, 1,                                        /* 0x1000, absolute */
    FMT_REC_ALLOC, FMT_FN_MALLOC, V10(0xfd), 0x80, 0x01, 0x7f, 0xe7, 0x07, /* at 500 */
    FMT_REC_FREE, 0x1f, 24, 3,                                         /* addr -16 */
    FMT_REC_FREE, V10(0xff), 0x80, 0x01, 0x7f,                         /* addr INT64_MIN */
    FMT_REC_ALLOC, FMT_FN_PVALLOC, 0x00, 0, 0, V10(0xfe),              /* at 500 + INT64_MAX */
};
static const uint8_t v1_chunk2[] = {
    FMT_REC_FREE, 0x80, 0x40, 16, 2,
    FMT_REC_ALLOC, FMT_FN_REALLOC, 0x00, 16, 2, 0xd0, 0x0f,           /* time from 0: 1000 */
    FMT_REC_MODULE_UNLOAD, 9,
};
#undef V10
static const struct fmt_record v1_want[] = {
    A(7, FMT_FN_CALLOC, 24, 3, 1000),
    { .type = FMT_REC_TAG, .tid = 7, .u.tag = { 0x1000, 1 } },
    A(7, FMT_FN_MALLOC, 128, 127, 500),
    F(7, 24, 3),
    F(7, 128, 127),
    A(7, FMT_FN_PVALLOC, 0, 0, 500 + (uint64_t)INT64_MAX),
    /* chunk 2 */
    F(0, 16, 2),
    A(0, FMT_FN_REALLOC, 16, 2, 1000),
    { .type = FMT_REC_MODULE_UNLOAD, .u.id = 9 },
};
#define NV1_WANT (sizeof v1_want / sizeof v1_want[0])

START_TEST(test_read_v1)
{
    const struct op ops[] = {
        { .kind = OP_RAW, .raw = v1_chunk1, .raw_len = sizeof v1_chunk1 },
        CHUNK,
        { .kind = OP_RAW, .raw = v1_chunk2, .raw_len = sizeof v1_chunk2 },
    };
    static struct trace t;
    build_trace(&t, ops, sizeof ops / sizeof ops[0], 0);
    ck_assert_uint_eq(t.nchunks, 2);
    ck_assert_uint_eq(t.nexp, 0);
    /* the header of a version 1 file */
    set_version(t.data, 1);
    ck_assert_mem_eq(t.data, ((const uint8_t[]){ 'H', 'E', 'A', 'P', 'S', 'C', 'P', '1', 1, 0, 0, 0,
                                                 0, 0, 0, 0 }),
                     FMT_FILE_HEADER_SIZE);
    memcpy(t.exp, v1_want, sizeof v1_want);
    t.nexp = NV1_WANT;
    for (size_t i = 0; i < t.nexp; i++)
        t.exp_end[i] = t.ends[i < 6 ? 0 : 1];
    const char *path = tmp_path("v1.hst");
    write_file(path, t.data, t.len);

    /* field by field, by hand */
    char err[256] = "";
    struct fmt_reader *r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "a version 1 trace is refused: %s", err);
    struct fmt_record rec;
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ALLOC);
    REQ_EQ(rec.tid, 7);
    REQ_EQ(rec.u.alloc.fn, FMT_FN_CALLOC);
    REQ_EQ(rec.u.alloc.size, 24);
    REQ_EQ(rec.u.alloc.stack_id, 3);
    REQ_EQ(rec.u.alloc.time_ns, 1000);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_TAG);
    REQ_EQ(rec.u.tag.addr, 0x1000);
    REQ_EQ(rec.u.tag.type_id, 1);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ALLOC);
    REQ_EQ(rec.u.alloc.fn, FMT_FN_MALLOC);
    REQ_EQ(rec.u.alloc.size, 128);
    REQ_EQ(rec.u.alloc.stack_id, 127);
    REQ_EQ(rec.u.alloc.time_ns, 500);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_FREE);
    REQ_EQ(rec.tid, 7);
    REQ_EQ(rec.u.free.size, 24);
    REQ_EQ(rec.u.free.stack_id, 3);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_FREE);
    REQ_EQ(rec.u.free.size, 128);
    REQ_EQ(rec.u.free.stack_id, 127);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ALLOC);
    REQ_EQ(rec.u.alloc.fn, FMT_FN_PVALLOC);
    REQ_EQ(rec.u.alloc.size, 0);
    REQ_EQ(rec.u.alloc.stack_id, 0);
    REQUIRE(rec.u.alloc.time_ns == 500 + (uint64_t)INT64_MAX, "time %#" PRIx64, rec.u.alloc.time_ns);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_FREE);
    REQ_EQ(rec.tid, 0);
    REQ_EQ(rec.u.free.size, 16);
    REQ_EQ(rec.u.free.stack_id, 2);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ALLOC);
    REQ_EQ(rec.u.alloc.fn, FMT_FN_REALLOC);
    REQ_EQ(rec.u.alloc.size, 16);
    REQ_EQ(rec.u.alloc.stack_id, 2);
    REQ_EQ(rec.u.alloc.time_ns, 1000);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_MODULE_UNLOAD);
    REQ_EQ(rec.u.id, 9);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    ck_assert_ptr_null(fmt_reader_damage(r));
    ck_assert_uint_eq(fmt_reader_offset(r), t.len);

    /* a rewind keeps reading it as version 1 */
    ck_assert_int_eq(fmt_reader_rewind(r), 0);
    ck_assert_uint_eq(read_n(r, &t, 0, SIZE_MAX, "v1 after a rewind"), t.nexp);
    ck_assert_ptr_null(fmt_reader_damage(r));
    fmt_reader_close(r);

    /* all of it through rec_diff, and cut short at every offset */
    char dmg[256];
    ck_assert_uint_eq(read_check(path, &t, t.nexp, dmg, sizeof dmg, "v1 trace"), t.nexp);
    REQUIRE(dmg[0] == 0, "v1 trace: damage %s", dmg);
    check_every_cut(&t, "v1_cut.hst");

    /* the header decides: the same bytes in a version 2 file are read
     * without the address, so its first ALLOC has the address delta as its
     * size (0x2000) and the size as its stack id, and its time (3, -2) is
     * followed by 0xd0, not a record type */
    set_version(t.data, FMT_VERSION);
    write_file(path, t.data, t.len);
    r = fmt_reader_open(path, err, sizeof err);
    REQUIRE(r != NULL, "open: %s", err);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 1);
    REQ_EQ(rec.type, FMT_REC_ALLOC);
    REQ_EQ(rec.u.alloc.fn, FMT_FN_CALLOC);
    REQ_EQ(rec.u.alloc.size, 0x2000);
    REQ_EQ(rec.u.alloc.stack_id, 24);
    REQUIRE(rec.u.alloc.time_ns == (uint64_t)-2, "time %#" PRIx64, rec.u.alloc.time_ns);
    ck_assert_int_eq(fmt_reader_next(r, &rec), 0);
    ck_assert_ptr_nonnull(fmt_reader_damage(r));
    REQUIRE(strstr(fmt_reader_damage(r), "unknown record type") != NULL, "damage: %s",
            fmt_reader_damage(r));
    fmt_reader_close(r);
    free_trace(&t);
}
END_TEST

static Suite *format_suite(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("format");
    tcase_add_unchecked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_encoders);
    tcase_add_test(tc, test_chunk_encode);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_snapshot_layout);
    tcase_add_test(tc, test_record_layout);
    tcase_add_test(tc, test_thread_ids);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_header_only);
    tcase_add_test(tc, test_truncated_every_offset);
    tcase_add_test(tc, test_bit_flips);
    tcase_add_test(tc, test_garbage_chunk);
    tcase_add_loop_test(tc, test_malformed_record, 0, NBAD);
    tcase_add_test(tc, test_over_limits);
    tcase_add_test(tc, test_empty_chunk);
    tcase_add_test(tc, test_long_string_cut);
    tcase_add_test(tc, test_rewind);
    tcase_add_test(tc, test_zigzag);
    tcase_add_test(tc, test_delta_encoder);
    tcase_add_test(tc, test_delta_layout);
    tcase_add_test(tc, test_delta_round_trip);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_read_v1);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    init_data();
    SRunner *sr = srunner_create(format_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

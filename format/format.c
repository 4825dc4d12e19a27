/*
 * Encoding helpers and the reader of the heapscope trace format
 * (trace_format.h, docs/FORMAT.md).
 *
 * The reader must never crash or loop on a damaged file: every length is
 * checked against what is left, and any inconsistency ends the trace with a
 * description of the damage (the records before it stay usable).
 */
#include "trace_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static const char *const alloc_fn_names[FMT_FN_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc",
};

static const char *const rc_op_names[FMT_RC_OP_COUNT] = {
    "new", "retain", "release", "free", "weak_new", "weak_clear",
    "misuse_retain", "misuse_release", "misuse_weak", "misuse",
};

const char *fmt_rc_op_name(unsigned op) { return op < FMT_RC_OP_COUNT ? rc_op_names[op] : "?"; }

const char *fmt_alloc_fn_name(unsigned fn)
{
    return fn < FMT_FN_COUNT ? alloc_fn_names[fn] : "?";
}

void fmt_put_bytes(struct fmt_buf *b, const void *p, size_t n)
{
    fmt_put_varint(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void fmt_put_str(struct fmt_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > FMT_MAX_STRING)
        n = FMT_MAX_STRING;
    fmt_put_bytes(b, s ? s : "", n);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p) { return get_le32(p) | (uint64_t)get_le32(p + 4) << 32; }

void fmt_file_header(uint8_t out[FMT_FILE_HEADER_SIZE])
{
    memcpy(out, FMT_MAGIC, 8);
    put_le32(out + 8, FMT_VERSION);
    put_le32(out + 12, 0);
}

size_t fmt_chunk_bound(size_t n) { return FMT_CHUNK_HEADER_SIZE + ZSTD_compressBound(n); }

size_t fmt_chunk_encode(void *cctx, int level, const void *raw, size_t n, void *out, size_t room)
{
    ZSTD_CCtx *c = cctx;
    uint8_t *o = out;
    if (n > FMT_CHUNK_MAX_RAW || room < FMT_CHUNK_HEADER_SIZE)
        return 0;
    ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    size_t z = ZSTD_compress2(c, o + FMT_CHUNK_HEADER_SIZE, room - FMT_CHUNK_HEADER_SIZE, raw, n);
    if (ZSTD_isError(z))
        return 0;
    put_le32(o, FMT_CHUNK_MAGIC);
    put_le32(o + 4, (uint32_t)z);
    put_le32(o + 8, (uint32_t)n);
    return FMT_CHUNK_HEADER_SIZE + z;
}

/* ---------------------------------------------------------------- reader */

struct fmt_reader {
    const uint8_t *map;   /* the whole file */
    size_t size;
    size_t off;           /* next chunk header */
    uint8_t *raw;         /* the current chunk, decompressed */
    size_t raw_len, raw_cap, pos;
    ZSTD_DCtx *dctx;
    uint32_t tid;
    /* a BLOCKS, EDGES or OBJECTS record being handed out one item at a time */
    unsigned list_type;
    uint64_t list_left, block_addr, block_birth;
    uint64_t prev_time; /* ALLOC's time delta: reset per chunk */
    uint32_t version;
    uint64_t *frames;
    char damage[160];
    int done;
    /* the journal beside the trace, read after the trace's chunks */
    char *journal_path;
    uint8_t *seen;        /* bit per chunk number (SEQ) the trace holds */
    size_t seen_bits;
    int in_journal;
    const uint8_t *jmap;  /* the journal, mapped */
    size_t jsize, region_size;
    uint64_t *regions;    /* offsets of the regions still to read, in seq order */
    size_t n_regions, next_region;
};

struct fmt_reader *fmt_reader_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((size_t)st.st_size < FMT_FILE_HEADER_SIZE) {
        snprintf(err, errlen, "%s: not a heapscope trace (%s)", path,
                 st.st_size == 0 ? "empty file" : "too short for a header");
        close(fd);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
        return NULL;
    }
    const uint8_t *m = map;
    if (memcmp(m, FMT_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a heapscope trace (bad magic)", path);
        munmap(map, (size_t)st.st_size);
        return NULL;
    }
    uint32_t version = get_le32(m + 8);
    if (version < FMT_VERSION_OLDEST || version > FMT_VERSION) {
        snprintf(err, errlen, "%s: trace format version %u, this heapscope reads %u to %u", path,
                 version, FMT_VERSION_OLDEST, FMT_VERSION);
        munmap(map, (size_t)st.st_size);
        return NULL;
    }
    struct fmt_reader *r = calloc(1, sizeof *r);
    uint64_t *frames = malloc(FMT_MAX_FRAMES * sizeof *frames);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!r || !frames || !d) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(r); free(frames); ZSTD_freeDCtx(d);
        munmap(map, (size_t)st.st_size);
        return NULL;
    }
    r->journal_path = malloc(strlen(path) + sizeof FMT_JOURNAL_SUFFIX);
    if (r->journal_path)
        sprintf(r->journal_path, "%s%s", path, FMT_JOURNAL_SUFFIX);
    r->map = m;
    r->size = (size_t)st.st_size;
    r->off = FMT_FILE_HEADER_SIZE;
    r->dctx = d;
    r->frames = frames;
    r->version = version;
    return r;
}

static void journal_close(struct fmt_reader *r);

void fmt_reader_close(struct fmt_reader *r)
{
    if (!r)
        return;
    munmap((void *)r->map, r->size);
    journal_close(r);
    ZSTD_freeDCtx(r->dctx);
    free(r->raw);
    free(r->frames);
    free(r->seen);
    free(r->journal_path);
    free(r);
}

int fmt_reader_rewind(struct fmt_reader *r)
{
    journal_close(r);
    if (r->seen)
        memset(r->seen, 0, (r->seen_bits + 7) / 8);
    r->off = FMT_FILE_HEADER_SIZE;
    r->raw_len = r->pos = 0;
    r->list_left = 0;
    r->tid = 0;
    r->done = 0;
    r->damage[0] = 0;
    return 0;
}

const char *fmt_reader_damage(const struct fmt_reader *r) { return r->damage[0] ? r->damage : NULL; }
uint64_t fmt_reader_offset(const struct fmt_reader *r) { return r->off; }
uint64_t fmt_reader_size(const struct fmt_reader *r) { return r->size; }

static int damaged(struct fmt_reader *r, const char *what)
{
    if (r->in_journal && r->next_region) /* where in the journal, not the trace's end */
        snprintf(r->damage, sizeof r->damage, "%s in the journal's region at byte %llu", what,
                 (unsigned long long)r->regions[r->next_region - 1]);
    else
        snprintf(r->damage, sizeof r->damage, "%s at byte %zu", what, r->off);
    r->done = 1;
    return 0;
}

/* Gives back the mapped pages wholly inside [from, to) of the file, once read:
 * a reader's memory follows its chunk, not the trace's size (a rewind maps
 * them again from the file). */
static void drop_pages(struct fmt_reader *r, uint64_t from, uint64_t to)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = (from + page - 1) / page * page, end = to / page * page;
    if (end > start)
        madvise((void *)(r->map + start), (size_t)(end - start), MADV_DONTNEED);
}

/* Room for a chunk of n raw bytes; 0 if out of memory. */
static int raw_room(struct fmt_reader *r, size_t n)
{
    if (n <= r->raw_cap)
        return 1;
    uint8_t *p = realloc(r->raw, n);
    if (!p)
        return 0;
    r->raw = p;
    r->raw_cap = n;
    return 1;
}

/* The raw records of a chunk are in place: read them from the start. */
static void chunk_loaded(struct fmt_reader *r, size_t n)
{
    r->raw_len = n;
    r->pos = 0;
    r->tid = 0;
    r->list_left = 0;
    r->prev_time = 0;
}

/* ---- the journal ---- */

static void journal_close(struct fmt_reader *r)
{
    if (r->jmap)
        munmap((void *)r->jmap, r->jsize);
    free(r->regions);
    r->jmap = NULL;
    r->regions = NULL;
    r->n_regions = r->next_region = 0;
    r->in_journal = 0;
}

static void mark_seen(struct fmt_reader *r, uint64_t seq)
{
    if (seq >= (uint64_t)1 << 40)
        return; /* not a number a journal has: ignore */
    if (seq >= r->seen_bits) {
        size_t bits = r->seen_bits ? r->seen_bits : 4096;
        while (bits <= seq)
            bits *= 2;
        uint8_t *p = realloc(r->seen, bits / 8);
        if (!p)
            return;
        memset(p + r->seen_bits / 8, 0, (bits - r->seen_bits) / 8);
        r->seen = p;
        r->seen_bits = bits;
    }
    r->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
}

static int was_seen(const struct fmt_reader *r, uint64_t seq)
{
    return seq < r->seen_bits && (r->seen[seq / 8] >> (seq % 8) & 1);
}

static uint64_t region_seq(const struct fmt_reader *r, uint64_t off) { return get_le64(r->jmap + off + 8); }

/* Maps the journal, if there is one, and lists the regions whose chunk the
 * trace did not hold, in seq order. A damaged journal adds nothing. */
static void journal_open(struct fmt_reader *r)
{
    r->in_journal = 1;
    int fd = r->journal_path ? open(r->journal_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size >= FMT_JOURNAL_HEADER_SIZE)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    r->jmap = map;
    r->jsize = (size_t)st.st_size;
    uint32_t region = get_le32(r->jmap + 12);
    if (memcmp(r->jmap, FMT_JOURNAL_MAGIC, 8) != 0 || get_le32(r->jmap + 8) != FMT_JOURNAL_VERSION ||
        region % 4096 || region <= FMT_REGION_HEADER_SIZE || region > FMT_REGION_MAX)
        return;
    r->region_size = region;
    size_t max = (r->jsize - FMT_JOURNAL_HEADER_SIZE) / region;
    r->regions = malloc((max ? max : 1) * sizeof *r->regions);
    if (!r->regions)
        return;
    for (size_t i = 0; i < max; i++) {
        uint64_t off = FMT_JOURNAL_HEADER_SIZE + (uint64_t)i * region;
        uint32_t used = get_le32(r->jmap + off + 4);
        uint64_t seq = region_seq(r, off);
        if (get_le32(r->jmap + off) != FMT_REGION_MAGIC || !seq || !used ||
            used > region - FMT_REGION_HEADER_SIZE || was_seen(r, seq))
            continue;
        size_t k = r->n_regions++; /* insertion sort: a journal has few regions */
        while (k && region_seq(r, r->regions[k - 1]) > seq) {
            r->regions[k] = r->regions[k - 1];
            k--;
        }
        r->regions[k] = off;
    }
}

/* Loads the journal's next region as the current chunk; 0 if none is left.
 * A region the process rewrites while we copy it is skipped. */
static int next_region(struct fmt_reader *r)
{
    while (r->next_region < r->n_regions) {
        uint64_t off = r->regions[r->next_region++];
        uint64_t seq = region_seq(r, off);
        uint32_t used = get_le32(r->jmap + off + 4);
        if (used > r->region_size - FMT_REGION_HEADER_SIZE || used > FMT_CHUNK_MAX_RAW)
            continue;
        if (!raw_room(r, used))
            return 0;
        memcpy(r->raw, r->jmap + off + FMT_REGION_HEADER_SIZE, used);
        if (region_seq(r, off) != seq)
            continue;
        chunk_loaded(r, used);
        return 1;
    }
    r->done = 1;
    return 0;
}

/* The trace's chunks are done (its end, or damage that ends them: a process
 * killed while writing one): what is left is in the journal. */
static int end_of_chunks(struct fmt_reader *r, const char *damage)
{
    if (damage)
        snprintf(r->damage, sizeof r->damage, "%s at byte %zu", damage, r->off);
    if (!r->in_journal)
        journal_open(r);
    return next_region(r);
}

/* Loads the next chunk. 1 on success, 0 at the end (clean or damaged). */
static int next_chunk(struct fmt_reader *r)
{
    if (r->in_journal)
        return next_region(r);
    if (r->off == r->size)
        return end_of_chunks(r, NULL);
    if (r->size - r->off < FMT_CHUNK_HEADER_SIZE)
        return end_of_chunks(r, "trace cut short (partial chunk header)");
    const uint8_t *h = r->map + r->off;
    uint32_t magic = get_le32(h), z = get_le32(h + 4), n = get_le32(h + 8);
    if (magic != FMT_CHUNK_MAGIC)
        return end_of_chunks(r, "damaged trace (bad chunk header)");
    if (n > FMT_CHUNK_MAX_RAW || z > ZSTD_compressBound(FMT_CHUNK_MAX_RAW))
        return end_of_chunks(r, "damaged trace (impossible chunk size)");
    if (r->size - r->off - FMT_CHUNK_HEADER_SIZE < z)
        return end_of_chunks(r, "trace cut short (partial chunk)");
    if (!raw_room(r, n))
        return damaged(r, "out of memory for a chunk");
    size_t got = ZSTD_decompressDCtx(r->dctx, r->raw, n, h + FMT_CHUNK_HEADER_SIZE, z);
    if (ZSTD_isError(got) || got != n)
        return end_of_chunks(r, "damaged trace (chunk does not decompress)");
    drop_pages(r, r->off, r->off + FMT_CHUNK_HEADER_SIZE + z);
    r->off += FMT_CHUNK_HEADER_SIZE + z;
    chunk_loaded(r, n);
    return 1;
}

/* Field decoding within the current chunk; any overrun sets *bad. */
struct cursor {
    const uint8_t *p, *end;
    int bad;
};

static uint64_t get_varint(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) {
            c->bad = 1;
            return 0;
        }
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}

/* A string field, copied NUL-terminated into place: we shift the bytes one
 * back over their length prefix, which is always at least one byte. */
static const char *get_str(struct cursor *c, size_t *lenp)
{
    uint8_t *start = (uint8_t *)c->p;
    uint64_t n = get_varint(c);
    if (c->bad || n > FMT_MAX_STRING || n > (uint64_t)(c->end - c->p)) {
        c->bad = 1;
        return "";
    }
    memmove(start, c->p, n);
    start[n] = 0;
    c->p += n;
    if (lenp)
        *lenp = n;
    return (const char *)start;
}

unsigned fmt_reader_version(const struct fmt_reader *r) { return r->version; }

int fmt_reader_next(struct fmt_reader *r, struct fmt_record *rec)
{
    for (;;) {
        if (r->done)
            return 0;
        if (r->pos >= r->raw_len && r->list_left == 0) {
            if (!next_chunk(r))
                return 0;
            continue;
        }
        struct cursor c = { r->raw + r->pos, r->raw + r->raw_len, 0 };
        memset(rec, 0, sizeof *rec);
        rec->tid = r->tid;
        if (r->list_left) {
            rec->type = r->list_type;
            if (r->list_type == FMT_REC_BLOCKS) {
                r->block_addr += get_varint(&c);
                rec->u.block.addr = r->block_addr;
                rec->u.block.size = get_varint(&c);
                rec->u.block.stack_id = get_varint(&c);
                rec->u.block.type_id = get_varint(&c);
                if (r->version == 1)
                    rec->u.block.birth_ns = get_varint(&c);
                else
                    rec->u.block.birth_ns = r->block_birth += (uint64_t)fmt_unzigzag(get_varint(&c));
                rec->u.block.flags = get_varint(&c);
                rec->u.block.hash = get_varint(&c);
                rec->u.block.word0 = get_varint(&c);
            } else if (r->list_type == FMT_REC_OBJECTS) {
                r->block_addr += get_varint(&c);
                rec->u.object.addr = r->block_addr;
                rec->u.object.what = get_varint(&c);
                rec->u.object.refcount = get_varint(&c);
                rec->u.object.value = get_varint(&c);
            } else {
                uint64_t src = get_varint(&c);
                rec->u.edge.src = src >> 1;
                rec->u.edge.src_is_root = src & 1;
                rec->u.edge.src_off = get_varint(&c);
                rec->u.edge.dst = get_varint(&c);
                rec->u.edge.dst_off = get_varint(&c);
                if (r->version >= 3)
                    rec->u.edge.rules = get_varint(&c);
            }
            r->list_left--;
            if (c.bad)
                return damaged(r, "damaged trace (malformed block, edge or object list)");
            r->pos = (size_t)(c.p - r->raw);
            return 1;
        }
        unsigned type = *c.p++;
        rec->type = type;
        switch (type) {
        case FMT_REC_PROCESS:
            rec->u.process.pid = get_varint(&c);
            rec->u.process.ppid = get_varint(&c);
            rec->u.process.start_unix_ns = get_varint(&c);
            rec->u.process.max_frames = get_varint(&c);
            rec->u.process.program = get_str(&c, NULL);
            rec->u.process.exe = get_str(&c, NULL);
            rec->u.process.cmdline = get_str(&c, NULL);
            break;
        case FMT_REC_MODULE_LOAD:
            rec->u.module.id = get_varint(&c);
            rec->u.module.bias = get_varint(&c);
            rec->u.module.start = get_varint(&c);
            rec->u.module.end = get_varint(&c);
            rec->u.module.path = get_str(&c, NULL);
            rec->u.module.build_id = (const uint8_t *)get_str(&c, &rec->u.module.build_id_len);
            break;
        case FMT_REC_MODULE_UNLOAD:
        case FMT_REC_SNAPSHOT_END:
            rec->u.id = get_varint(&c);
            break;
        case FMT_REC_SEQ:
            rec->u.id = get_varint(&c);
            if (!r->in_journal && !c.bad)
                mark_seen(r, rec->u.id);
            break;
        case FMT_REC_STACK: {
            rec->u.stack.id = get_varint(&c);
            uint64_t n = get_varint(&c);
            if (n > FMT_MAX_FRAMES) {
                c.bad = 1;
                break;
            }
            for (uint64_t i = 0; i < n && !c.bad; i++)
                r->frames[i] = get_varint(&c);
            rec->u.stack.n = n;
            rec->u.stack.frames = r->frames;
            break;
        }
        case FMT_REC_THREAD:
            r->tid = (uint32_t)get_varint(&c);
            r->pos = (size_t)(c.p - r->raw);
            if (c.bad)
                return damaged(r, "damaged trace (malformed thread record)");
            continue;
        case FMT_REC_ALLOC:
            rec->u.alloc.fn = get_varint(&c);
            if (r->version == 1)
                get_varint(&c); /* the address delta */
            rec->u.alloc.size = get_varint(&c);
            rec->u.alloc.stack_id = get_varint(&c);
            rec->u.alloc.time_ns = r->prev_time += (uint64_t)fmt_unzigzag(get_varint(&c));
            break;
        case FMT_REC_FREE_FLAGGED:
        case FMT_REC_FREE_FLAGGED + 1:
        case FMT_REC_FREE_FLAGGED + 2:
        case FMT_REC_FREE_FLAGGED + 3:
        case FMT_REC_FREE_FLAGGED + 4:
            if (r->version < 4)
                return damaged(r, "damaged trace (unknown record type)");
            /* fall through */
        case FMT_REC_FREE:
            if (r->version == 1)
                get_varint(&c);
            rec->u.free.size = get_varint(&c);
            rec->u.free.stack_id = get_varint(&c);
            rec->u.free.flags = type == FMT_REC_FREE ? 0 : type - FMT_REC_FREE_FLAGGED + 1;
            rec->type = FMT_REC_FREE;
            break;
        case FMT_REC_TYPE:
            rec->u.type.id = get_varint(&c);
            rec->u.type.name = get_str(&c, NULL);
            break;
        case FMT_REC_TAG:
            rec->u.tag.addr = get_varint(&c);
            rec->u.tag.type_id = get_varint(&c);
            break;
        case FMT_REC_SNAPSHOT_BEGIN:
            rec->u.snapshot.index = get_varint(&c);
            rec->u.snapshot.name = get_str(&c, NULL);
            rec->u.snapshot.time_ns = get_varint(&c);
            rec->u.snapshot.blocks = get_varint(&c);
            rec->u.snapshot.bytes = get_varint(&c);
            rec->u.snapshot.scanned = get_varint(&c);
            rec->u.snapshot.rc_seq = get_varint(&c);
            break;
        case FMT_REC_BLOCKS:
        case FMT_REC_EDGES:
        case FMT_REC_OBJECTS:
            /* the header of a list: hand out its items one by one */
            r->list_type = type;
            r->list_left = get_varint(&c);
            r->block_addr = r->block_birth = 0;
            if (c.bad || r->list_left > (uint64_t)(c.end - c.p))
                return damaged(r, "damaged trace (malformed block, edge or object list)");
            r->pos = (size_t)(c.p - r->raw);
            continue;
        case FMT_REC_RC:
            rec->u.rc.op = get_varint(&c);
            rec->u.rc.addr = get_varint(&c);
            rec->u.rc.count = (int64_t)(get_varint(&c) - 1); /* unsigned: no overflow on damage */
            rec->u.rc.stack_id = get_varint(&c);
            rec->u.rc.seq = get_varint(&c);
            rec->u.rc.type_id = get_varint(&c);
            rec->u.rc.id = get_varint(&c);
            break;
        case FMT_REC_SUPPRESSIONS:
            rec->u.text = get_str(&c, NULL);
            break;
        case FMT_REC_ALLOCATOR:
            rec->u.allocator.malloc_ours = get_varint(&c);
            rec->u.allocator.name = get_str(&c, NULL);
            rec->u.allocator.module = get_str(&c, NULL);
            break;
        case FMT_REC_ROOT:
            rec->u.root.id = get_varint(&c);
            rec->u.root.kind = get_varint(&c);
            rec->u.root.start = get_varint(&c);
            rec->u.root.end = get_varint(&c);
            rec->u.root.tid = get_varint(&c);
            break;
        case FMT_REC_HEAP_STAT:
            rec->u.heap_stat.time_ns = get_varint(&c);
            rec->u.heap_stat.live_bytes = get_varint(&c);
            rec->u.heap_stat.live_blocks = get_varint(&c);
            rec->u.heap_stat.allocs = get_varint(&c);
            rec->u.heap_stat.bytes_allocated = get_varint(&c);
            rec->u.heap_stat.rss_bytes = r->version >= 4 ? get_varint(&c) : 0;
            break;
        case FMT_REC_PROCESS_END:
            rec->u.end.time_ns = get_varint(&c);
            rec->u.end.reason = get_varint(&c);
            rec->u.end.allocs = get_varint(&c);
            rec->u.end.frees = get_varint(&c);
            rec->u.end.bytes_allocated = get_varint(&c);
            rec->u.end.peak_bytes = get_varint(&c);
            rec->u.end.peak_time_ns = get_varint(&c);
            break;
        default:
            return damaged(r, "damaged trace (unknown record type)");
        }
        if (c.bad)
            return damaged(r, "damaged trace (malformed record)");
        r->pos = (size_t)(c.p - r->raw);
        return 1;
    }
}

/*
 * Getting records from the hot path into the trace, so that nothing recorded
 * is lost whatever becomes of the process, and without a thread of ours in a
 * process that has only one of its own.
 *
 * Every buffer is a region of the journal, a file beside the trace mapped
 * shared (trace_format.h describes it): a record is in the kernel's page
 * cache as soon as it is written, and stays there if the process is killed.
 * Each thread appends its events to its own region under that buffer's own
 * lock (only the owner takes it, except for the flush and exit), and after
 * each record says in the region's header how many bytes are whole. A full
 * region is queued; whoever writes the queue compresses it into a zstd chunk,
 * appends the chunk to the trace, and only then frees the region for reuse.
 * Records that are not one thread's events (modules, snapshots) go through
 * one process-wide buffer. Chunks are written in queue order, under the file
 * lock, so what one producer writes stays in order in the file. At a clean
 * end every region has been written and the journal is removed.
 *
 * Who writes the queue: while the program has one thread, that thread, as
 * soon as a region fills; the periodic work (heap statistics, snapshots asked
 * for by signal or by interval) runs from its allocations, on the coarse
 * clock. Once a second thread of the program records, a writer thread takes
 * both over, off the hot path.
 *
 * The trace and its journal are created with the first record: a forked
 * child that only execs writes no trace of its own. A write error stops
 * tracing with one warning; what was written before stays readable.
 *
 * Never allocates through the hooks; the writer thread runs with its guard set.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem */
#include <zstd.h>

#define QUEUE_MAX 16          /* full regions waiting to be written */
#define TICK_NS 100000000ull
#define ZSTD_LEVEL 1
#define REGION_SIZE OUT_BUF_SIZE /* a multiple of the page size: regions are mapped one by one */
#define REGION_DATA (REGION_SIZE - FMT_REGION_HEADER_SIZE)

struct out_buf {
    struct plat_lock lock;
    struct fmt_buf fb;        /* data: the region's records */
    struct fmt_region_header *reg; /* its journal region, NULL if none yet */
    struct out_counters counters;
    void *stack_cache;
    struct stack_memo *memo;  /* the owner's previous stack walk */
    uint32_t tid;
    int owned;                /* a live thread uses it */
    struct out_buf *next_all; /* every buffer ever made */
};

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;   /* the files, the cctx, chunk order */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;  /* queue, spare, registry */
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;    /* queue changed */

struct queued {
    struct fmt_region_header *reg;
    size_t len;
};
static struct queued queue[QUEUE_MAX];
static unsigned queue_head, queue_len;
static struct fmt_region_header *spare[QUEUE_MAX + 8]; /* free regions to reuse */
static unsigned spare_len;
static struct out_buf *all_bufs;
static unsigned threads_seen; /* distinct program threads that recorded */

static struct out_buf global_buf, preamble_buf;
static out_preamble_fn preamble;

static int fd = -1;
static struct plat_file_id fd_id; /* what fd was opened on: a program that closes all its
                                     descriptors may be given our number for a file of its own */
static int jfd = -1;  /* the journal */
static struct plat_file_id jfd_id;
static uint64_t journal_size, next_seq = 1;
static atomic_int failed;       /* the trace is dead: stop recording */
static ZSTD_CCtx *cctx;
static uint8_t *chunk_out;      /* compressed chunk scratch */
static size_t chunk_room;
static char path[4200];

static atomic_int writer_running, writer_stop;
static atomic_int writer_wanted; /* the constructor ran: a thread may start */
static _Atomic uint64_t next_tick_ns;
static pthread_key_t retire_key;
static __thread struct out_buf *my_buf;

static int start_writer(void);
static int write_one_queued(void);
static int open_files(void);

/* ------------------------------------------------------------ regions */

static void fail(const char *what, int err);

/* Where no journal can be (a trace written to a pipe or a device path, a
 * file system without shared mappings), buffers are the process's own
 * memory, as they were before the journal: what a killed process had not
 * written yet is lost. */
static int journal_impossible;
static int journal_made; /* this process made a journal, to remove at the end */

static struct fmt_region_header *private_region(void)
{
    struct fmt_region_header *r = plat_map(REGION_SIZE);
    if (r)
        r->magic = FMT_REGION_MAGIC;
    return r;
}

/* Whether descriptor d is still the file we opened as `want`. */
static int is_ours(int d, const struct plat_file_id *want)
{
    struct plat_file_id id;
    return d >= 0 && plat_file_id(d, &id) == 0 && id.dev == want->dev && id.ino == want->ino;
}

/* A program that closes every descriptor (a daemon after fork) closes ours
 * too: the file is opened again by its path, high, if it is still the same
 * file; else *d is -1 (never closed: the number may be the program's now).
 * 0 if *d is ours. */
static int reopen(int *d, const struct plat_file_id *want, const char *file, int flags)
{
    if (is_ours(*d, want))
        return 0;
    int again = plat_open(file, flags, plat_fd_floor());
    if (again >= 0 && !is_ours(again, want)) { /* removed, or another file there now */
        plat_close(again);
        again = -1;
    }
    *d = again;
    return again >= 0 ? 0 : -1;
}

/* The journal's path, made with it (file_lock held), read where it is open:
 * not on the stack, whose every 4 KiB a coroutine's small one may miss. */
static char jpath[sizeof path + sizeof FMT_JOURNAL_SUFFIX];

/* A free region, from the spare list or a new one at the journal's end.
 * queue_lock held; opens the trace and journal first if need be (which
 * takes file_lock: the caller holds no queue_lock then, see take_region). */
__attribute__((noinline, cold)) /* once a MiB: not in the hot path's prologue (lock_with_room's) */
static struct fmt_region_header *new_region(void)
{
    if (spare_len)
        return spare[--spare_len];
    if (jfd >= 0) {
        if (reopen(&jfd, &jfd_id, jpath, O_RDWR) != 0)
            journal_impossible = 1; /* (its regions stay mapped, and it is removed at the end) */
    }
    if (jfd < 0)
        return private_region();
    uint64_t off = journal_size;
    int err = plat_file_reserve(jfd, off, REGION_SIZE); /* on disk now: else SIGBUS, not an error */
    if (err) {
        pthread_mutex_unlock(&queue_lock); /* fail takes no lock, but says it once */
        fail("cannot write journal for", -err);
        pthread_mutex_lock(&queue_lock);
        return NULL;
    }
    struct fmt_region_header *r = plat_map_file(jfd, (off_t)off, REGION_SIZE);
    if (!r) /* a file system that cannot map it: (the next region takes the same place) */
        return private_region();
    journal_size = off + REGION_SIZE;
    r->magic = FMT_REGION_MAGIC;
    return r;
}

static struct fmt_region_header *take_region(void)
{
    if ((fd < 0 || (jfd < 0 && !journal_impossible)) && !atomic_load(&failed)) {
        pthread_mutex_lock(&file_lock);
        open_files();
        pthread_mutex_unlock(&file_lock);
    }
    pthread_mutex_lock(&queue_lock);
    struct fmt_region_header *r = atomic_load(&failed) ? NULL : new_region();
    if (r)
        r->seq = next_seq++;
    pthread_mutex_unlock(&queue_lock);
    return r;
}

static void give_region(struct fmt_region_header *r) /* queue_lock held */
{
    __atomic_store_n(&r->used, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&r->seq, 0, __ATOMIC_RELEASE);
    if (spare_len < sizeof spare / sizeof spare[0])
        spare[spare_len++] = r;
    else
        plat_unmap(r, REGION_SIZE); /* free in the journal: a reader skips it */
}

/* Points b at region r, empty; its chunk starts with its number. */
static void attach(struct out_buf *b, struct fmt_region_header *r)
{
    b->reg = r;
    b->fb.data = (uint8_t *)r + FMT_REGION_HEADER_SIZE;
    b->fb.cap = REGION_DATA;
    fmt_buf_clear(&b->fb);
}

/* Queues b's region to be written; b takes a fresh one when it next
 * records. b's lock is held. */
static void hand_off(struct out_buf *b)
{
    if (!b->reg)
        return;
    if (b->fb.len == 0) /* nothing in it: keep it */
        return;
    pthread_mutex_lock(&queue_lock);
    while (queue_len == QUEUE_MAX && !atomic_load(&failed)) {
        /* The writer is behind: write the oldest chunk ourselves (lose
         * nothing, slow the program down). Never wait for the writer: it may
         * itself be waiting for a buffer lock this thread holds (a peak
         * snapshot holds the global buffer while it writes). */
        pthread_mutex_unlock(&queue_lock);
        write_one_queued();
        pthread_mutex_lock(&queue_lock);
    }
    if (!atomic_load(&failed)) /* (else what it holds stays in the journal) */
        queue[(queue_head + queue_len++) % QUEUE_MAX] = (struct queued){ b->reg, b->fb.len };
    b->reg = NULL;
    b->fb.data = NULL;
    b->fb.cap = 0;
    fmt_buf_clear(&b->fb);
    pthread_cond_broadcast(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
    if (!atomic_load(&writer_running)) /* no writer: this thread writes, now */
        while (write_one_queued())
            ;
}

static void begin_chunk(struct out_buf *b)
{
    if (b->fb.len == 0) {
        fmt_put_seq(&b->fb, b->reg->seq);
        if (b->tid)
            fmt_put_thread(&b->fb, b->tid);
    }
}

static struct out_buf *lock_with_room(struct out_buf *b, size_t need)
{
    plat_lock(&b->lock);
    if (b->reg && b->fb.len + need + 32 > b->fb.cap)
        hand_off(b);
    if (!b->reg) {
        struct fmt_region_header *r = take_region();
        if (!r) {
            plat_unlock(&b->lock);
            return NULL;
        }
        attach(b, r);
    }
    begin_chunk(b);
    if (b->fb.len + need > b->fb.cap) {
        plat_unlock(&b->lock);
        return NULL;
    }
    return b;
}

static struct out_buf *new_thread_buf(void)
{
    struct out_buf *b = NULL;
    pthread_mutex_lock(&queue_lock);
    for (struct out_buf *o = all_bufs; o; o = o->next_all)
        if (!o->owned) {
            b = o;
            break;
        }
    if (!b && (b = plat_map(sizeof *b))) {
        b->next_all = all_bufs;
        all_bufs = b;
    }
    if (b)
        b->owned = 1;
    unsigned seen = ++threads_seen;
    pthread_mutex_unlock(&queue_lock);
    if (b) {
        b->tid = (uint32_t)plat_gettid();
        pthread_setspecific(retire_key, b);
    }
    /* the program has threads of its own now: one more is no change */
    if (seen > 1 && atomic_load(&writer_wanted))
        start_writer();
    return b;
}

struct out_buf *out_acquire(size_t need)
{
    if (HS_UNLIKELY(atomic_load_explicit(&failed, memory_order_relaxed)))
        return NULL;
    struct out_buf *b = my_buf;
    if (HS_UNLIKELY(!b) && !(b = my_buf = new_thread_buf()))
        return NULL;
    return lock_with_room(b, need);
}

struct fmt_buf *out_fmt(struct out_buf *b) { return &b->fb; }
struct out_counters *out_counters(struct out_buf *b) { return &b->counters; }
void **out_stack_cache(struct out_buf *b) { return &b->stack_cache; }

struct stack_memo *out_stack_memo(void)
{
    struct out_buf *b = my_buf;
    if (HS_UNLIKELY(!b) && !(b = my_buf = new_thread_buf()))
        return NULL;
    if (HS_UNLIKELY(!b->memo))
        b->memo = stack_memo_new(hs_opt.max_frames);
    return b->memo;
}

void out_sum_counters(struct out_counters *sum)
{
    *sum = (struct out_counters){ 0 };
    pthread_mutex_lock(&queue_lock);
    struct out_buf *list = all_bufs;
    pthread_mutex_unlock(&queue_lock);
    for (struct out_buf *b = list; b; b = b->next_all) {
        sum->allocs += b->counters.allocs;
        sum->frees += b->counters.frees;
        sum->bytes += b->counters.bytes;
    }
}

/* The records are whole: say so in the region, for a reader after a kill. */
void out_release(struct out_buf *b)
{
    if (HS_LIKELY(b->reg != NULL))
        __atomic_store_n(&b->reg->used, (uint32_t)b->fb.len, __ATOMIC_RELEASE);
    plat_unlock(&b->lock);
}

struct out_buf *out_global_acquire(size_t need)
{
    if (atomic_load(&failed))
        return NULL;
    return lock_with_room(&global_buf, need);
}

/* A thread is ending: queue what it wrote, and let another thread reuse its
 * buffer. Events it makes after this get a buffer again. Called by glibc
 * (the key's destructor), not through a rec_* entry point, so it holds the
 * guard itself: without it the snapshot signal, landing while it holds
 * queue_lock, took a snapshot in its handler, which needs queue_lock (or
 * waits on snapshot_lock, held by a snapshot waiting on queue_lock), and
 * the pause signal paused it holding tracer locks. */
static void retire(void *arg)
{
    struct rec_guard g = rec_guard_enter();
    struct out_buf *b = arg;
    plat_lock(&b->lock);
    hand_off(b);
    plat_unlock(&b->lock);
    pthread_mutex_lock(&queue_lock);
    b->owned = 0;
    pthread_mutex_unlock(&queue_lock);
    my_buf = NULL;
    rec_guard_leave(g);
}

/* The periodic work, from the hot path while no writer thread runs. */
void out_tick(uint64_t now)
{
    if (atomic_load_explicit(&writer_running, memory_order_relaxed))
        return;
    uint64_t due = atomic_load_explicit(&next_tick_ns, memory_order_relaxed);
    if (HS_LIKELY(now < due) || !atomic_compare_exchange_strong(&next_tick_ns, &due, now + TICK_NS))
        return;
    rec_tick(plat_now_ns());
    atomic_store_explicit(&next_tick_ns, plat_coarse_ns() + TICK_NS, memory_order_relaxed); /* from its end */
}

/* --------------------------------------------------------------- file */

static void expand_pattern(char *out, size_t room)
{
    const char *p = hs_opt.output;
    size_t n = 0;
    int had_pid = 0;
    while (*p && n + 32 < room) {
        if (p[0] == '%' && p[1] == 'p') {
            n += (size_t)snprintf(out + n, room - n, "%d", (int)getpid());
            had_pid = 1;
            p += 2;
        } else if (p[0] == '%' && p[1] == 'e') {
            n += (size_t)snprintf(out + n, room - n, "%.200s", plat_program_name());
            p += 2;
        } else if (p[0] == '%' && p[1] == '%') {
            out[n++] = '%';
            p += 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    if (!had_pid && !hs_opt.first_process)
        snprintf(out + n, room - n, ".%d", (int)getpid());
}

static void log_to_run(void)
{
    if (!hs_opt.run_log)
        return;
    char line[sizeof path + 2];
    int n = snprintf(line, sizeof line, "%s\n", path);
    plat_append_file(hs_opt.run_log, line, (size_t)n);
}

static int write_chunk_locked(const uint8_t *raw, size_t len);

static void fail(const char *what, int err)
{
    if (atomic_exchange(&failed, 1))
        return;
    atomic_store(&rec_on, 0);
    plat_warn_once("%s %s: %s; tracing stopped, the trace holds what came before", what,
                   path[0] ? path : hs_opt.output, strerror(err));
}

/* Creates the journal beside the trace. file_lock held. */
static int open_journal(void)
{
    snprintf(jpath, sizeof jpath, "%s%s", path, FMT_JOURNAL_SUFFIX);
    struct plat_file_id id;
    int j = plat_file_id(fd, &id) == 0 && id.regular ? plat_open(jpath, O_RDWR | O_CREAT | O_TRUNC, fd + 1)
                                                     : -1; /* beside the trace's, high */
    if (j >= 0 && plat_file_id(j, &jfd_id) != 0) {
        plat_close(j);
        j = -1;
    }
    if (j < 0) {
        journal_impossible = 1;
        return 0;
    }
    uint8_t header[FMT_JOURNAL_HEADER_SIZE] = { 0 };
    memcpy(header, FMT_JOURNAL_MAGIC, 8);
    uint32_t words[3] = { FMT_JOURNAL_VERSION, REGION_SIZE, (uint32_t)getpid() };
    memcpy(header + 8, words, sizeof words); /* little-endian, as x86-64 */
    if (plat_write_all(j, header, sizeof header) != 0) {
        plat_close(j);
        plat_unlink(jpath);
        journal_impossible = 1;
        return 0;
    }
    jfd = j;
    journal_made = 1;
    journal_size = FMT_JOURNAL_HEADER_SIZE;
    return 0;
}

/* Removes the journal once every region is in the trace. file_lock held. */
static void close_journal(void)
{
    if (!journal_made)
        return;
    plat_unlink(jpath);
    if (is_ours(jfd, &jfd_id))
        plat_close(jfd);
    jfd = -1;
    journal_made = 0;
}

/* Opens the trace and writes its header and preamble. file_lock held. */
static int open_trace(void)
{
    char base[sizeof path - 8];
    expand_pattern(base, sizeof base);
    int flags = O_WRONLY | O_CREAT | (hs_opt.first_process ? O_TRUNC : O_EXCL);
    /* Keep the trace on a high descriptor number: a program that closes
     * every descriptor and opens files again gets the lowest free numbers,
     * so ours is not handed out between our identity check and our write. */
    int lowest = plat_fd_floor();
    snprintf(path, sizeof path, "%s", base);
    int opened = plat_open(path, flags, lowest);
    for (int i = 1; opened == -EEXIST && i < 1000; i++) {
        snprintf(path, sizeof path, "%s.%d", base, i);
        opened = plat_open(path, flags, lowest);
    }
    if (opened < 0) {
        fail("cannot create trace", -opened);
        return -1;
    }
    fd = opened;
    plat_file_id(fd, &fd_id);
    uint8_t header[FMT_FILE_HEADER_SIZE];
    fmt_file_header(header);
    int err = plat_write_all(fd, header, sizeof header);
    if (err) {
        fail("cannot write trace", -err);
        return -1;
    }
    log_to_run();
    if (open_journal() != 0)
        return -1;
    if (preamble) {
        preamble();
        if (preamble_buf.fb.len && write_chunk_locked(preamble_buf.fb.data, preamble_buf.fb.len))
            return -1;
        fmt_buf_clear(&preamble_buf.fb);
    }
    return 0;
}

/* The trace and its journal, if not open yet (a failed exec closed the
 * journal, not the trace). file_lock held. */
static int open_files(void)
{
    if (fd < 0)
        return open_trace();
    return jfd < 0 && !journal_impossible ? open_journal() : 0;
}

/* zstd's memory is the tracer's own (plat_map lists it): from malloc, a
 * large workspace would be a mapping of its own that a heap scan took for
 * the program's. Each allocation keeps its size in front, for the unmap. */
static void *zstd_alloc(void *opaque, size_t size)
{
    (void)opaque;
    uint64_t *p = plat_map(size + 16);
    if (!p)
        return NULL;
    p[0] = size + 16;
    return p + 2;
}

static void zstd_free(void *opaque, void *address)
{
    (void)opaque;
    if (address) {
        uint64_t *p = (uint64_t *)address - 2;
        plat_unmap(p, p[0]);
    }
}

static const ZSTD_customMem zstd_mem = { zstd_alloc, zstd_free, NULL };

/* Compresses one buffer into a chunk and writes it. file_lock held. */
static int write_chunk_locked(const uint8_t *raw, size_t len)
{
    if (atomic_load(&failed))
        return -1;
    if (fd < 0 && open_trace() != 0)
        return -1;
    if (!len)
        return 0;
    if (!cctx && !(cctx = ZSTD_createCCtx_advanced(zstd_mem))) {
        fail("out of memory for", ENOMEM);
        return -1;
    }
    size_t need = fmt_chunk_bound(len);
    if (need > chunk_room) {
        plat_unmap(chunk_out, chunk_room);
        chunk_room = need > fmt_chunk_bound(OUT_BUF_SIZE) ? need : fmt_chunk_bound(OUT_BUF_SIZE);
        if (!(chunk_out = plat_map(chunk_room))) {
            chunk_room = 0;
            fail("out of memory for", ENOMEM);
            return -1;
        }
    }
    size_t n = fmt_chunk_encode(cctx, ZSTD_LEVEL, raw, len, chunk_out, chunk_room);
    if (!n) {
        fail("cannot compress", EIO);
        return -1;
    }
    if (reopen(&fd, &fd_id, path, O_WRONLY | O_APPEND) != 0) { /* the program may have closed it */
        fail("lost the trace file (the program closed its descriptor, and the file is gone)", EBADF);
        return -1;
    }
    int err = plat_write_all(fd, chunk_out, n);
    if (err) {
        fail("cannot write trace", -err);
        return -1;
    }
    return 0;
}

struct out_buf *out_preamble_acquire(size_t need)
{
    struct out_buf *b = &preamble_buf;
    if (!b->fb.data) {
        if (!(b->fb.data = plat_map(OUT_BUF_SIZE)))
            return NULL;
        b->fb.cap = OUT_BUF_SIZE;
    }
    if (b->fb.len + need > b->fb.cap) {
        if (write_chunk_locked(b->fb.data, b->fb.len))
            return NULL;
        fmt_buf_clear(&b->fb);
    }
    return b->fb.len + need <= b->fb.cap ? b : NULL;
}

void out_set_preamble(out_preamble_fn fn) { preamble = fn; }

/* Writes the oldest queued buffer; 0 if the queue was empty. */
static int write_one_queued(void)
{
    pthread_mutex_lock(&file_lock);
    pthread_mutex_lock(&queue_lock);
    if (!queue_len) {
        pthread_mutex_unlock(&queue_lock);
        pthread_mutex_unlock(&file_lock);
        return 0;
    }
    struct queued item = queue[queue_head];
    queue_head = (queue_head + 1) % QUEUE_MAX;
    queue_len--;
    pthread_mutex_unlock(&queue_lock);
    int err = write_chunk_locked((const uint8_t *)item.reg + FMT_REGION_HEADER_SIZE, item.len);
    pthread_mutex_unlock(&file_lock);
    pthread_mutex_lock(&queue_lock);
    if (!err) /* in the trace now; else it stays in the journal */
        give_region(item.reg);
    pthread_cond_broadcast(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
    return 1;
}

/* Queues the partial contents of every buffer. */
static void hand_off_all(void)
{
    pthread_mutex_lock(&queue_lock);
    struct out_buf *list = all_bufs;
    pthread_mutex_unlock(&queue_lock);
    for (struct out_buf *b = list; b; b = b->next_all) { /* the list only grows at its head */
        plat_lock(&b->lock);
        hand_off(b);
        plat_unlock(&b->lock);
    }
    plat_lock(&global_buf.lock);
    hand_off(&global_buf);
    plat_unlock(&global_buf.lock);
}

void out_flush_all(void)
{
    hand_off_all();
    while (write_one_queued())
        ;
}

static atomic_int writer_tid;

pid_t out_writer_tid(void) { return atomic_load(&writer_running) ? atomic_load(&writer_tid) : 0; }

static void *writer_main(void *arg)
{
    (void)arg;
    atomic_store(&writer_tid, plat_gettid());
    rec_self.guard = 1; /* whatever this thread allocates is the tracer's own */
    uint64_t last_tick = 0;
    while (!atomic_load(&writer_stop)) {
        pthread_mutex_lock(&queue_lock);
        if (!queue_len && !atomic_load(&writer_stop)) {
            uint64_t until = plat_unix_now_ns() + TICK_NS;
            struct timespec ts = { (time_t)(until / 1000000000u), (long)(until % 1000000000u) };
            pthread_cond_timedwait(&queue_cond, &queue_lock, &ts);
        }
        pthread_mutex_unlock(&queue_lock);
        /* a bounded drain: under a steady load the queue never empties, and
         * the tick (timed and signalled snapshots, the flush) must still come */
        for (int i = 0; i < QUEUE_MAX && write_one_queued(); i++)
            ;
        uint64_t now = plat_now_ns();
        if (now - last_tick >= TICK_NS) { /* each tick takes the loader's lock */
            rec_tick(now);
            last_tick = plat_now_ns(); /* the next a tick from its end */
        }

    }
    pthread_mutex_lock(&queue_lock);
    atomic_store(&writer_running, 0);
    atomic_store(&writer_tid, 0);
    pthread_cond_broadcast(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
    return NULL;
}

#define WRITER_STACK_SIZE (512u << 10)

static int start_writer(void)
{
    if (atomic_exchange(&writer_running, 1))
        return 0;
    /* Its stack is the tracer's own memory (plat_map lists it), so a heap
     * scan does not take it for the program's. Never unmapped: a detached
     * thread may still be on it. Named before it runs: a scan skips it by
     * name even then. It takes none of the program's signals. */
    void *stack = plat_map(WRITER_STACK_SIZE);
    int err = plat_thread_spawn(writer_main, stack, WRITER_STACK_SIZE, OUT_WRITER_NAME);
    if (err) {
        atomic_store(&writer_running, 0);
        return err; /* buffers are then written at exit, or when the queue fills */
    }
    return 0;
}

int out_init(void)
{
    return -pthread_key_create(&retire_key, retire);
}

void out_start_writer(void)
{
    atomic_store(&writer_wanted, 1);
    pthread_mutex_lock(&queue_lock);
    unsigned seen = threads_seen;
    pthread_mutex_unlock(&queue_lock);
    if (seen > 1) /* threads recorded before our constructor ran */
        start_writer();
}

int out_failed(void) { return atomic_load(&failed); }

void out_finish(int closing)
{
    if (closing)
        atomic_store(&writer_stop, 1);
    out_flush_all();
    pthread_mutex_lock(&file_lock);
    pthread_mutex_lock(&queue_lock);
    int all_written = queue_len == 0;
    pthread_mutex_unlock(&queue_lock);
    if (all_written && !atomic_load(&failed))
        close_journal(); /* (an exec that fails opens another with the next region) */
    pthread_mutex_unlock(&file_lock);
    if (closing) {
        pthread_mutex_lock(&queue_lock);
        pthread_cond_broadcast(&queue_cond);
        pthread_mutex_unlock(&queue_lock);
    }
}

/* ------------------------------------------------------------------ fork */

/* Lock order everywhere: a buffer's lock, then file_lock, then queue_lock. */

/* In a forked child, before anything else runs: the region is the parent's. */
static void detach_parent_region(struct out_buf *b)
{
    if (b->reg)
        plat_unmap(b->reg, REGION_SIZE);
    b->reg = NULL;
    b->fb.data = NULL;
    b->fb.cap = 0;
    fmt_buf_clear(&b->fb);
}
void out_fork_prepare(void)
{
    plat_lock(&global_buf.lock);
    pthread_mutex_lock(&file_lock);
    pthread_mutex_lock(&queue_lock);
}

void out_fork_parent(void)
{
    pthread_mutex_unlock(&queue_lock);
    pthread_mutex_unlock(&file_lock);
    plat_unlock(&global_buf.lock);
}

void out_fork_child(void)
{
    pthread_mutex_init(&file_lock, NULL);
    pthread_mutex_init(&queue_lock, NULL);
    pthread_cond_init(&queue_cond, NULL);
    /* What the parent had not written yet is the parent's to write, and its
     * journal's regions are shared with it: the child lets go of them all
     * and makes its own journal with its trace. */
    queue_head = queue_len = 0;
    while (spare_len)
        plat_unmap(spare[--spare_len], REGION_SIZE);
    threads_seen = 0;
    for (struct out_buf *b = all_bufs; b; b = b->next_all) {
        b->lock.held = 0;
        b->counters = (struct out_counters){ 0 }; /* the child counts its own */
        b->owned = (b == my_buf);
        threads_seen += b->owned;
    }
    for (struct out_buf *b = all_bufs; b; b = b->next_all)
        detach_parent_region(b);
    detach_parent_region(&global_buf);
    if (my_buf)
        my_buf->tid = (uint32_t)plat_gettid();
    plat_unlock(&global_buf.lock);
    if (is_ours(jfd, &jfd_id)) /* the parent's journal */
        plat_close(jfd);
    jfd = -1;
    journal_impossible = 0;
    journal_made = 0;
    next_seq = 1;
    if (is_ours(fd, &fd_id)) /* the parent's trace */
        plat_close(fd);
    fd = -1;
    path[0] = 0;
    atomic_store(&writer_running, 0);
    atomic_store(&writer_tid, 0);
    atomic_store(&writer_stop, 0);
}

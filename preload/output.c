/*
 * Getting records from the hot path into the trace file.
 *
 * Each thread appends its events to its own buffer under that buffer's own
 * lock (only the owner takes it, except for the once-a-second flush and exit).
 * A full buffer is handed to a FIFO queue; the writer thread compresses queued
 * buffers into zstd chunks and writes them, off the hot path. Records that are
 * not one thread's events (modules, snapshots) go through one process-wide
 * buffer. Chunks are written in queue order, under the file lock, so what one
 * producer writes stays in order in the file.
 *
 * The file is opened when there is first something to write: a forked child
 * that only execs writes no trace of its own. A write error stops tracing with
 * one warning; what was written before stays readable.
 *
 * Never allocates through the hooks; the writer thread runs with its guard set.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define QUEUE_MAX 64          /* full buffers waiting for the writer */
#define FLUSH_PERIOD_NS 1000000000ull
#define TICK_MS 100
#define ZSTD_LEVEL 1

struct out_buf {
    struct plat_lock lock;
    struct fmt_buf fb;
    struct out_counters counters;
    void *stack_cache;
    uint32_t tid;
    int owned;                /* a live thread uses it */
    struct out_buf *next_all; /* every buffer ever made */
};

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;   /* the fd, the cctx, chunk order */
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;  /* queue, spare, registry */
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;    /* queue changed */

static struct fmt_buf queue[QUEUE_MAX];
static unsigned queue_head, queue_len;
static uint8_t *spare[QUEUE_MAX + 8]; /* empty buffers to reuse */
static unsigned spare_len;
static struct out_buf *all_bufs;

static struct out_buf global_buf, preamble_buf;
static out_preamble_fn preamble;

static int fd = -1;
static dev_t fd_dev;  /* what fd was opened on: a program that closes all its */
static ino_t fd_ino;  /* descriptors may be given our number for a file of its own */
static atomic_int failed;       /* the trace is dead: stop recording */
static ZSTD_CCtx *cctx;
static uint8_t *chunk_out;      /* compressed chunk scratch */
static size_t chunk_room;
static char path[4200];

static pthread_t writer;
static atomic_int writer_running, writer_stop;
static atomic_int writer_wanted; /* the constructor ran: a thread may start */
static pthread_key_t retire_key;
static __thread struct out_buf *my_buf;

/* ------------------------------------------------------------ buffers */

static uint8_t *take_spare(void) /* queue_lock held */
{
    return spare_len ? spare[--spare_len] : plat_map(OUT_BUF_SIZE);
}

static void give_spare(uint8_t *d) /* queue_lock held */
{
    if (spare_len < sizeof spare / sizeof spare[0])
        spare[spare_len++] = d;
    else
        plat_unmap(d, OUT_BUF_SIZE);
}

static int start_writer(void);
static int write_one_queued(void);

/* Queues b's contents and gives b an empty buffer. b's lock is held. */
static void hand_off(struct out_buf *b)
{
    if (b->fb.len == 0)
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
    if (atomic_load(&failed)) {
        fmt_buf_clear(&b->fb);
        pthread_mutex_unlock(&queue_lock);
        return;
    }
    uint8_t *fresh = take_spare();
    if (!fresh) {
        fmt_buf_clear(&b->fb);
        pthread_mutex_unlock(&queue_lock);
        return;
    }
    queue[(queue_head + queue_len++) % QUEUE_MAX] = b->fb;
    b->fb.data = fresh;
    fmt_buf_clear(&b->fb);
    pthread_cond_broadcast(&queue_cond);
    pthread_mutex_unlock(&queue_lock);
    if (atomic_load(&writer_wanted) && !atomic_load(&writer_running) && !atomic_load(&writer_stop))
        start_writer();
}

static void begin_chunk(struct out_buf *b)
{
    if (b->fb.len == 0 && b->tid) {
        fmt_put_u8(&b->fb, FMT_REC_THREAD);
        fmt_put_varint(&b->fb, b->tid);
    }
}

static struct out_buf *lock_with_room(struct out_buf *b, size_t need)
{
    plat_lock(&b->lock);
    if (!b->fb.data) {
        pthread_mutex_lock(&queue_lock);
        b->fb.data = take_spare();
        pthread_mutex_unlock(&queue_lock);
        if (!b->fb.data) {
            plat_unlock(&b->lock);
            return NULL;
        }
        b->fb.cap = OUT_BUF_SIZE;
    }
    if (b->fb.len + need + 16 > b->fb.cap)
        hand_off(b);
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
    pthread_mutex_unlock(&queue_lock);
    if (b) {
        b->tid = (uint32_t)plat_gettid();
        pthread_setspecific(retire_key, b);
    }
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
void out_release(struct out_buf *b) { plat_unlock(&b->lock); }

struct out_buf *out_global_acquire(size_t need)
{
    if (atomic_load(&failed))
        return NULL;
    return lock_with_room(&global_buf, need);
}

/* A thread is ending: queue what it wrote, and let another thread reuse its
 * buffer. Events it makes after this get a buffer again. */
static void retire(void *arg)
{
    struct out_buf *b = arg;
    plat_lock(&b->lock);
    hand_off(b);
    plat_unlock(&b->lock);
    pthread_mutex_lock(&queue_lock);
    b->owned = 0;
    pthread_mutex_unlock(&queue_lock);
    my_buf = NULL;
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
    int lfd = open(hs_opt.run_log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (lfd < 0)
        return;
    char line[sizeof path + 2];
    int n = snprintf(line, sizeof line, "%s\n", path);
    plat_write_all(lfd, line, (size_t)n);
    close(lfd);
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

/* Opens the trace and writes its header and preamble. file_lock held. */
static int open_trace(void)
{
    char base[sizeof path - 8];
    expand_pattern(base, sizeof base);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (hs_opt.first_process ? O_TRUNC : O_EXCL);
    snprintf(path, sizeof path, "%s", base);
    fd = open(path, flags, 0644);
    for (int i = 1; fd < 0 && errno == EEXIST && i < 1000; i++) {
        snprintf(path, sizeof path, "%s.%d", base, i);
        fd = open(path, flags, 0644);
    }
    if (fd < 0) {
        fail("cannot create trace", errno);
        return -1;
    }
    /* Keep the trace on a high descriptor number: a program that closes
     * every descriptor and opens files again gets the lowest free numbers,
     * so ours is not handed out between our identity check and our write. */
    struct rlimit rl;
    int lowest = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 ? (int)rl.rlim_cur * 3 / 4 : 768;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, lowest);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    struct stat st;
    if (fstat(fd, &st) == 0) {
        fd_dev = st.st_dev;
        fd_ino = st.st_ino;
    }
    uint8_t header[FMT_FILE_HEADER_SIZE];
    fmt_file_header(header);
    int err = plat_write_all(fd, header, sizeof header);
    if (err) {
        fail("cannot write trace", -err);
        return -1;
    }
    log_to_run();
    if (preamble) {
        preamble();
        if (preamble_buf.fb.len && write_chunk_locked(preamble_buf.fb.data, preamble_buf.fb.len))
            return -1;
        fmt_buf_clear(&preamble_buf.fb);
    }
    return 0;
}

/* Compresses one buffer into a chunk and writes it. file_lock held. */
static int write_chunk_locked(const uint8_t *raw, size_t len)
{
    if (atomic_load(&failed))
        return -1;
    if (fd < 0 && open_trace() != 0)
        return -1;
    if (!cctx && !(cctx = ZSTD_createCCtx())) {
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
    struct stat st; /* still our file? (the program may have closed it) */
    if (fstat(fd, &st) != 0 || st.st_dev != fd_dev || st.st_ino != fd_ino) {
        fd = -1; /* not ours to write to, nor to close */
        fail("lost the trace file (the program closed its descriptor)", EBADF);
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
    struct fmt_buf item = queue[queue_head];
    queue_head = (queue_head + 1) % QUEUE_MAX;
    queue_len--;
    pthread_mutex_unlock(&queue_lock);
    write_chunk_locked(item.data, item.len);
    pthread_mutex_unlock(&file_lock);
    pthread_mutex_lock(&queue_lock);
    give_spare(item.data);
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
    uint64_t last_flush = plat_now_ns(), last_tick = 0;
    while (!atomic_load(&writer_stop)) {
        pthread_mutex_lock(&queue_lock);
        if (!queue_len && !atomic_load(&writer_stop)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += TICK_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&queue_cond, &queue_lock, &ts);
        }
        pthread_mutex_unlock(&queue_lock);
        /* a bounded drain: under a steady load the queue never empties, and
         * the tick (timed and signalled snapshots, the flush) must still come */
        for (int i = 0; i < QUEUE_MAX && write_one_queued(); i++)
            ;
        uint64_t now = plat_now_ns();
        if (now - last_tick >= TICK_MS * 1000000ull) { /* each tick takes the loader's lock */
            rec_tick(now);
            last_tick = now;
        }
        if (now - last_flush >= FLUSH_PERIOD_NS) {
            out_flush_all();
            last_flush = now;
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
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Its stack is the tracer's own memory (plat_map lists it), so a heap
     * scan does not take it for the program's. Never unmapped: a detached
     * thread may still be on it. */
    void *stack = plat_map(WRITER_STACK_SIZE);
    if (stack)
        pthread_attr_setstack(&attr, stack, WRITER_STACK_SIZE);
    /* The writer must not take the program's signals. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&writer, &attr, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!err) /* named before it runs: a scan skips it by name even then */
        pthread_setname_np(writer, OUT_WRITER_NAME);
    pthread_attr_destroy(&attr);
    if (err) {
        atomic_store(&writer_running, 0);
        return -err; /* buffers are then written at exit, or when the queue fills */
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
    start_writer();
}

int out_failed(void) { return atomic_load(&failed); }

void out_finish(int closing)
{
    if (closing)
        atomic_store(&writer_stop, 1);
    out_flush_all();
    if (closing) {
        pthread_mutex_lock(&queue_lock);
        pthread_cond_broadcast(&queue_cond);
        pthread_mutex_unlock(&queue_lock);
    }
}

/* ------------------------------------------------------------------ fork */

/* Lock order everywhere: a buffer's lock, then file_lock, then queue_lock. */
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
    /* What the parent had not written yet is the parent's to write. */
    while (queue_len) {
        give_spare(queue[queue_head].data);
        queue_head = (queue_head + 1) % QUEUE_MAX;
        queue_len--;
    }
    for (struct out_buf *b = all_bufs; b; b = b->next_all) {
        b->lock.held = 0;
        fmt_buf_clear(&b->fb);
        b->counters = (struct out_counters){ 0 }; /* the child counts its own */
        b->owned = (b == my_buf);
    }
    if (my_buf)
        my_buf->tid = (uint32_t)plat_gettid();
    fmt_buf_clear(&global_buf.fb);
    plat_unlock(&global_buf.lock);
    struct stat st; /* the parent's trace: close it if it is still ours */
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == fd_dev && st.st_ino == fd_ino)
        close(fd);
    fd = -1;
    path[0] = 0;
    atomic_store(&writer_running, 0);
    atomic_store(&writer_tid, 0);
    atomic_store(&writer_stop, 0);
}

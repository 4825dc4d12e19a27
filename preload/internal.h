/*
 * Internal interfaces of libheapscope.so. Not installed; nothing outside
 * preload/ includes this. Prototypes are grouped under the file that defines
 * them. Functions that can fail return 0 or a negative errno.
 *
 * Rules for everything behind this header: never allocate through the hooks
 * (memory comes from plat_map), never take a lock shared by all threads on the
 * allocation hot path, never write to stdout.
 */
#ifndef HEAPSCOPE_PRELOAD_INTERNAL_H
#define HEAPSCOPE_PRELOAD_INTERNAL_H

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "trace_format.h"

#define HS_HIDDEN __attribute__((visibility("hidden")))
#define HS_LIKELY(x) __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The stack pointer of the calling program thread, with its callee-saved
 * registers spilled below it first, so a stack scan from here sees them. */
#define HS_CALLER_SP()                                        \
    __extension__({                                           \
        __builtin_unwind_init();                              \
        uintptr_t sp_;                                        \
        __asm__ volatile("mov %%rsp, %0" : "=r"(sp_));        \
        sp_;                                                  \
    })

/* ---- platform.c: every system call, and what is Linux's or glibc's ----
 * Each function's contract (what it needs, its errors as -errno) is written
 * above it in platform.c. */

/* A small lock: spins briefly, then yields. Zero-initialised is unlocked. */
struct plat_lock {
    atomic_int held;
};
void plat_lock(struct plat_lock *l);
static inline void plat_unlock(struct plat_lock *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* memory: the tracer's own, listed so that a heap scan leaves it out */
void *plat_map(size_t size);
void *plat_map_filled(size_t size);
void *plat_map_file(int fd, off_t off, size_t size);
void plat_unmap(void *p, size_t size);
struct plat_range {
    uintptr_t start, end;
};
size_t plat_own_mappings(struct plat_range *out, size_t max);
void plat_own_lock(void);
void plat_own_unlock(void);

/* clocks */
uint64_t plat_now_ns(void);       /* CLOCK_MONOTONIC */
uint64_t plat_coarse_ns(void);    /* CLOCK_MONOTONIC_COARSE: a few ns to read, ms resolution */
uint64_t plat_unix_now_ns(void);  /* CLOCK_REALTIME */

/* files */
int plat_open(const char *path, int oflags, int lowest);
int plat_fd_floor(void);
void plat_close(int fd);
void plat_unlink(const char *path);
int plat_write_all(int fd, const void *p, size_t n);
int plat_append_file(const char *path, const void *p, size_t n);
ssize_t plat_read_file(const char *path, char *buf, size_t size);
uint64_t plat_rss_bytes(void);
struct plat_file_id {
    uint64_t dev, ino;
    int regular;
};
int plat_file_id(int fd, struct plat_file_id *id);
/* The two lowest descriptor numbers free now (where a pipe made next lands). */
void plat_free_fds(int fds[2]);
/* Closes fds[0] and fds[1] if they are the two ends of one pipe, both
 * close-on-exec and non-blocking; 1 if it did. */
int plat_close_pipe(const int fds[2]);
/* Whether len (at most 16) bytes at addr can be read, asked of the kernel
 * (unmapped or PROT_NONE memory fails there with EFAULT where a load would
 * fault): 1, 0, or -1 when the kernel will not say. Never faults. */
int plat_readable(uintptr_t addr, size_t len);
int64_t plat_file_size(const char *path);
int plat_file_reserve(int fd, uint64_t off, size_t n);
/* One line of /proc/self/maps. */
enum { PLAT_PROT_READ = 1, PLAT_PROT_WRITE = 2, PLAT_PROT_EXEC = 4 };
struct plat_mapping {
    uintptr_t start, end;
    uint64_t offset;   /* into the file */
    unsigned prot;     /* PLAT_PROT_* */
    const char *path;  /* "" if none; valid during the callback only */
};
int plat_maps_foreach(void (*fn)(const struct plat_mapping *m, void *arg), void *arg);

/* the process */
const char *plat_program_name(void);
ssize_t plat_exe_path(char *out, size_t room);
ssize_t plat_cmdline(char *out, size_t room);
ssize_t plat_fd_path(int fd, char *out, size_t room);
void plat_warn_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same line, said whatever was said before. */
void plat_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void plat_warn_reset(void);

/* threads */
pid_t plat_gettid(void);
uintptr_t plat_thread_pointer(void);
int plat_threads_foreach(int (*fn)(pid_t tid, void *arg), void *arg);
ssize_t plat_thread_name(pid_t tid, char *out, size_t room);
int plat_thread_blocked_sp(pid_t tid, uintptr_t *sp);
int plat_tgkill(pid_t tid, int sig);
int plat_futex_wait(atomic_uint *word, unsigned expected, uint64_t timeout_ns);
int plat_futex_wake(atomic_uint *word, int waiters);
int plat_thread_spawn(void *(*fn)(void *), void *stack, size_t stack_size, const char *name);

/* signals */
typedef void (*plat_signal_fn)(int sig, siginfo_t *info, void *context);
int plat_signal_claim(int sig, plat_signal_fn fn, int block_all);
int plat_signal_claim_unused(plat_signal_fn fn, int block_all);
#define PLAT_REGS 23 /* general registers in a signal context (x86-64's NGREG) */
void plat_signal_context(const void *context, uintptr_t *sp, uint64_t regs[PLAT_REGS]);

/* modules, as the loader sees them */
struct plat_module {
    uintptr_t bias, start, end; /* load bias, lowest and highest mapped address */
    const char *path;           /* valid during the callback only */
    uint8_t build_id[64];
    size_t build_id_len;
};
void plat_modules_foreach(void (*fn)(const struct plat_module *m, void *arg), void *arg);
void plat_modules_counts(uint64_t *loaded, uint64_t *unloaded);
struct plat_segment {
    uintptr_t start, end;
    int writable;
    int ours; /* a segment of libheapscope */
};
void plat_segments_foreach(void (*fn)(const struct plat_segment *seg, void *arg), void *arg);
void *plat_program_function(const char *name);
void *plat_symbol(const char *name);
int plat_symbol_definer(const char *name, void **addr, const void **base);
/* The code of function name as plat_symbol_definer finds it, [*start,
 * *end) from its symbol's size; -ENOENT if not found or of no size. */
int plat_function_range(const char *name, uintptr_t *start, uintptr_t *end);
struct plat_symbol {
    const char *module;
    uintptr_t module_base;
    const char *name; /* NULL if no exported symbol covers the address */
    uintptr_t address;
};
int plat_symbolize(uintptr_t addr, struct plat_symbol *out);
int plat_module_range(const void *addr, uintptr_t *start, uintptr_t *end);
int plat_module_path(const void *addr, const void **base, char *out, size_t room);
uintptr_t plat_eh_frame_hdr(uintptr_t addr, size_t *size);
size_t plat_static_tls_size(void);
int plat_malloc_is_glibc(void);

/* ---- options.c: the HEAPSCOPE_* environment, one table, read once ---- */

/* The values, read by options_init, for the hot path to load directly. */
struct hs_options {
    const char *output;      /* HEAPSCOPE_OUTPUT pattern, made absolute */
    int snapshot_signal;     /* HEAPSCOPE_SNAPSHOT_SIGNAL, 0 for none */
    unsigned interval_ms;    /* HEAPSCOPE_SNAPSHOT_INTERVAL_MS, 0 for off */
    unsigned max_frames;     /* HEAPSCOPE_MAX_FRAMES */
    int follow;              /* HEAPSCOPE_FOLLOW */
    int scan;                /* HEAPSCOPE_SCAN */
    unsigned check_stacks;   /* HEAPSCOPE_CHECK_STACKS: every Nth walk against libunwind, 0 for off */
    const char *run_log;     /* HEAPSCOPE_RUN_LOG: set by `heapscope run` */
    int first_process;       /* no traced process came before this one */
};
extern struct hs_options hs_opt HS_HIDDEN;
/* Reads the options; takes no lock (getenv only). */
void options_init(void) HS_HIDDEN;
/* The i-th option of the table, as documented; 0, or -ENOENT past the last.
 * For the test that holds docs/SPEC.md to the table. */
struct option_info {
    const char *name;       /* the variable */
    char default_text[64];  /* the default as docs/SPEC.md shows it ("off", "USR2") */
    const char *doc;        /* one line */
    int internal;           /* set for traced processes, not by the user: not in SPEC's table */
};
int options_info(size_t i, struct option_info *out) HS_HIDDEN;
/* Marks this process as the first traced one in the environment its
 * children inherit (setenv: takes the environment's lock). */
void options_mark_root(void) HS_HIDDEN;
/* Removes libheapscope from LD_PRELOAD in this process's environment, in
 * place (no allocation), so that children are not traced. */
void options_unpreload(void) HS_HIDDEN;

/* ---- cfi.c: unwind rules from the binaries' .eh_frame ---- */

/* How to find the caller's frame from a frame at one code address, in the
 * common forms only: the canonical frame address (CFA, the caller's stack
 * pointer) is rsp or rbp plus a constant, the return address is at CFA-8,
 * and rbp is either unchanged or saved at CFA plus a constant. Anything else
 * (expressions, signal frames, other registers) is CFI_FAIL, left to the
 * general unwinder. */
enum { CFI_NONE, CFI_RSP, CFI_RBP, CFI_STOP, CFI_FAIL, CFI_NOFDE };
struct cfi_rule {
    int32_t cfa_off;
    int16_t rbp_off;  /* where rbp is saved, from the CFA, when rbp_saved */
    uint8_t kind;     /* CFI_RSP, CFI_RBP: CFA = that register + cfa_off;
                         CFI_STOP: no caller (the return address is undefined);
                         CFI_NOFDE: in a module with an .eh_frame_hdr, but no
                         FDE covers it (glibc's __start_context, where
                         makecontext's coroutines return) */
    uint8_t rbp_saved;
};
/* The rule in effect at code address pc (for a return address, pass the
 * address minus one: the call instruction). Never fails: unknown code is
 * CFI_FAIL. Reads only the loaded binaries' own .eh_frame. */
struct cfi_rule cfi_rule_at(uintptr_t pc) HS_HIDDEN;

/* ---- unwind.c: stack capture ---- */

void stack_capture_init(void) HS_HIDDEN;
/* Where a walk starts: a frame's code address (a return address), its stack
 * pointer and rbp. HS_CALLER_ORIGIN() is the caller of the function it is
 * used in, read through that function's frame pointer (libheapscope is built
 * with frame pointers): a hook passes it down so that the walk skips the
 * tracer's own frames without unwinding them. */
struct stack_origin {
    uintptr_t pc, sp, bp;
};
#define HS_CALLER_ORIGIN()                                                              \
    ((struct stack_origin){ (uintptr_t)__builtin_return_address(0),                     \
                            (uintptr_t)__builtin_frame_address(0) + 16,                 \
                            *(const uintptr_t *)__builtin_frame_address(0) })
/* A thread's previous walk, which the next one reuses where the stack is
 * unchanged (unwind.c says how that stays exact). Made for walks of up to
 * cap frames; it may pass to another thread. NULL when out of memory. */
struct stack_memo;
struct stack_memo *stack_memo_new(unsigned cap) HS_HIDDEN;
/* Fills frames with return addresses, the caller of the interposed function
 * first, walking from `from` (NULL: from here); returns how many (at most
 * max), and their stack_hash in *hash. With a memo (or NULL), reuses the
 * previous walk and leaves this one there. */
unsigned stack_capture(const struct stack_origin *from, struct stack_memo *memo, uintptr_t *frames,
                       unsigned max, uint64_t *hash) HS_HIDDEN;
/* Forgets the cached unwind rules (code was unloaded). */
void stack_capture_forget(void) HS_HIDDEN;
/* With HEAPSCOPE_CHECK_STACKS: the walks compared with libunwind's
 * unw_backtrace, how many of them differed, the rules derived from CFI
 * (the rule cache's misses), and the walks left to libunwind. */
void stack_check_counts(uint64_t *compared, uint64_t *differ, uint64_t *derived, uint64_t *fallbacks) HS_HIDDEN;
/* The stack pointer of the caller of the innermost frame running code in
 * [start, end), or 0 if none is on the stack. */
uintptr_t stack_caller_sp(uintptr_t start, uintptr_t end) HS_HIDDEN;

/* ---- stack_table.c: stack deduplication ---- */

/* The id of this stack (ids are dense, from 1); *is_new says whether it was
 * first seen now, in which case the caller writes its definition. 0 when
 * out of memory. */
uint32_t stack_table_intern(const uintptr_t *frames, unsigned n, int *is_new) HS_HIDDEN;
/* The same, for a caller that hashed (stack_hash) and wants the table's
 * own copy of the frames (stable for the life of the process). A stack's
 * hash takes its frames outermost first, so a walk that reuses the outer
 * part of the previous one reuses its hash as well. */
uint64_t stack_hash(const uintptr_t *frames, unsigned n) HS_HIDDEN;
#define STACK_HASH_SEED 0x9e3779b97f4a7c15ull
static inline uint64_t stack_hash_step(uint64_t h, uintptr_t frame)
{
    h ^= frame;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}
static inline uint64_t stack_hash_finish(uint64_t h, unsigned n)
{
    h = stack_hash_step(h, n);
    return h ? h : 1;
}
uint32_t stack_table_intern_hashed(const uintptr_t *frames, unsigned n, uint64_t hash, int *is_new,
                                   const uintptr_t **stored) HS_HIDDEN;
void stack_table_foreach(void (*fn)(uint32_t id, const uintptr_t *frames, unsigned n, void *arg),
                         void *arg) HS_HIDDEN;
/* Copies stack id's frames into out; how many (0 if unknown). */
unsigned stack_table_get(uint32_t id, uintptr_t *out, unsigned max) HS_HIDDEN;
void stack_table_lock_all(void) HS_HIDDEN;
void stack_table_unlock_all(void) HS_HIDDEN;

/* ---- type_table.c: type tag names -> ids ---- */

/* The id of a type name (dense, from 1; at most 2^22 - 1 types); *is_new
 * says whether the caller must write its TYPE record. 0 if the table is full. */
uint32_t type_table_intern(const char *name, int *is_new) HS_HIDDEN;
void type_table_foreach(void (*fn)(uint32_t id, const char *name, void *arg), void *arg) HS_HIDDEN;
void type_table_lock(void) HS_HIDDEN;
void type_table_unlock(void) HS_HIDDEN;

/* ---- live.c: the live blocks ---- */

struct live_block {
    uintptr_t addr;
    uint64_t size;
    uint32_t stack_id;
    uint32_t type_id : 22; /* FMT_NO_TYPE or an id from type_table_intern */
    uint32_t py_head : 2;  /* at a snapshot: a CPython GC object this many 16-byte units in (python.c) */
    uint32_t flags : 2;    /* FMT_BLOCK_IGNORED */
    uint32_t gen : 6;      /* the process that made it: forks since the first traced one */
    uint64_t birth_ns;
};
/* A block smaller than LIVE_TAG_MAX keeps its record in a tag, the last
 * LIVE_TAG bytes of its usable size (live.c says why). */
#define LIVE_TAG 16
#define LIVE_TAG_MAX (64 * 1024)
/* The real allocator's malloc_usable_size, which tagging needs (NULL: no
 * block is tagged). Before any block is. */
void live_init(size_t (*usable)(void *)) HS_HIDDEN;
/* Learns how glibc marks a block it holds freed (its tcache key), so that
 * a snapshot can tell one freed where the hooks did not see it. */
void live_learn_free_mark(void *(*real_malloc)(size_t), void (*real_free)(void *)) HS_HIDDEN;
/* How many bytes to ask the real allocator for, for a traced block of n. */
size_t live_request(size_t n) HS_HIDDEN;
/* The usable size of block p to tell the program, from the real one: a
 * tagged block's is LIVE_TAG less. */
size_t live_usable(const void *p, size_t usable) HS_HIDDEN;
/* Records a block just allocated (with live_request's size, if tagged), of
 * no type. Scalars, not a live_block: the hot path built one with narrow
 * stores that the wider loads reading it could not be forwarded from (half
 * of the insert's time under python3). */
int live_add(uintptr_t addr, uint64_t size, uint32_t stack_id, uint64_t birth_ns, unsigned gen) HS_HIDDEN;
/* Puts back a block live_remove took out (a realloc that failed). */
int live_insert(const struct live_block *b) HS_HIDDEN;
/* Removes addr; 1 and *out filled (if out) if it was live, 0 if not. */
int live_remove(uintptr_t addr, struct live_block *out) HS_HIDDEN;
/* A free the tracer does not record (recording off, or inside the tracer:
 * a signal handler's): clears addr's tag bit, no lock taken (this thread
 * may hold the tables' locks already); whether it was set. */
int live_forget(uintptr_t addr) HS_HIDDEN;
/* Sets a live block's type (type_id != 0) and ORs flags in; 1 if addr is live. */
int live_update(uintptr_t addr, uint32_t type_id, uint32_t flags) HS_HIDDEN;
/* Copies the live blocks into out (room for cap), the tagged ones (below
 * LIVE_TAG_MAX) first, in address order; returns how many there are (if
 * more than cap, out holds the first cap). The program's threads must be
 * paused (scan_pause): a tag is read from the block. */
size_t live_collect(struct live_block *out, size_t cap) HS_HIDDEN;
void live_lock_all(void) HS_HIDDEN;
void live_unlock_all(void) HS_HIDDEN;

/* ---- output.c: per-thread buffers, the writer thread, the trace file ---- */

struct out_buf;
/* The calling thread's buffer, locked, with room for need more bytes; NULL if
 * the trace is off. Release with out_release. */
struct out_buf *out_acquire(size_t need) HS_HIDDEN;
struct fmt_buf *out_fmt(struct out_buf *b) HS_HIDDEN;
/* The owner's counters and stack cache, kept with its buffer (reused by the
 * next thread: counters add up, cached stacks stay valid). */
struct out_counters {
    uint64_t allocs, frees, bytes;
};
struct out_counters *out_counters(struct out_buf *b) HS_HIDDEN;
void **out_stack_cache(struct out_buf *b) HS_HIDDEN;
/* The calling thread's stack memo, made on first use; NULL if it cannot be
 * (no buffer, no memory). Needs no lock: only the owner uses it. */
struct stack_memo *out_stack_memo(void) HS_HIDDEN;
/* Sums every buffer's counters (exact once threads are quiet). */
void out_sum_counters(struct out_counters *sum) HS_HIDDEN;
void out_release(struct out_buf *b) HS_HIDDEN;
/* The process-wide buffer for records that are not one thread's events
 * (modules, snapshots); same contract. Records written between one acquire
 * and its release stay in order and in one chunk. */
struct out_buf *out_global_acquire(size_t need) HS_HIDDEN;
#define OUT_BUF_SIZE (1u << 20)
/* Ready to record (no thread yet); 0 or -errno. */
int out_init(void) HS_HIDDEN;
/* The periodic work (rec_tick), from the hot path at coarse clock time now:
 * while no writer thread runs, the thread that records when a tick is due
 * does it. */
void out_tick(uint64_t now) HS_HIDDEN;
/* Starts the writer thread; until then full buffers wait, and are written by
 * their producer when the queue is full, or at the end. */
void out_start_writer(void) HS_HIDDEN;
/* Hands every buffer to the file and waits until it is written. */
void out_flush_all(void) HS_HIDDEN;
/* Stops the writer thread and closes the trace (exit); keeps it open but
 * flushed (exec). */
void out_finish(int closing) HS_HIDDEN;
void out_fork_prepare(void) HS_HIDDEN;
void out_fork_parent(void) HS_HIDDEN;
void out_fork_child(void) HS_HIDDEN;
int out_failed(void) HS_HIDDEN;
pid_t out_writer_tid(void) HS_HIDDEN; /* 0 if no writer thread runs */
#define OUT_WRITER_NAME "heapscope-out" /* the writer thread's name (comm) */
/* Called by the file opener to write what a new trace starts with. */
typedef void (*out_preamble_fn)(void);
void out_set_preamble(out_preamble_fn fn) HS_HIDDEN;
/* Used by the preamble: a buffer written straight to the new file. */
struct out_buf *out_preamble_acquire(size_t need) HS_HIDDEN;

/* ---- scan.c: the heap graph of a snapshot ---- */

#define SCAN_THREADS_MAX 1024

struct scan_edge {
    uint32_t src;        /* block index, or root index when src_is_root */
    uint8_t src_is_root;
    uint8_t rules;       /* FMT_HEUR_* that explain an interior pointer */
    uint32_t dst;        /* block index */
    uint64_t src_off, dst_off;
};

struct scan_root {
    unsigned kind;       /* FMT_ROOT_* */
    uintptr_t start, end;
    pid_t tid;
};

struct scan_result {
    struct scan_edge *edges;
    size_t n_edges, edges_cap;
    struct scan_root *roots;
    size_t n_roots, roots_cap;
    uint64_t *hashes;    /* per block: content hash */
    uintptr_t *word0;    /* per block: its first word if it points into a module */
    struct {
        pid_t tid[SCAN_THREADS_MAX];
        unsigned n;
    } late;              /* threads that did not pause */
};

void scan_init(void) HS_HIDDEN;
/* Pauses the program's other threads (not the tracer's). */
void scan_pause(struct scan_result *out) HS_HIDDEN;
/* Scans roots and blocks (sorted by address) while threads are paused. */
int scan_heap(const struct live_block *blocks, size_t n, uintptr_t caller_sp, struct scan_result *out) HS_HIDDEN;
void scan_resume(void) HS_HIDDEN;
void scan_result_free(struct scan_result *r, size_t n_blocks) HS_HIDDEN;
/* A thread leaving the tracer pauses here if a scan asked it to (rec_unguard). */
void scan_pause_deferred(void) HS_HIDDEN;
/* The program moved the break itself (sbrk, brk) from old_end to new_end:
 * what it took is its own memory, among malloc's in [heap], and a root. */
void scan_program_brk(uintptr_t old_end, uintptr_t new_end) HS_HIDDEN;

/* ---- python.c: CPython's objects as such ---- */

/* Finds the interpreter, if this process is CPython of a version whose
 * layout python.c knows (says so in one line if it is CPython of another).
 * From the constructor. */
void python_init(void) HS_HIDDEN;
/* At a snapshot, the program's threads paused: gives each block (sorted by
 * address) that is a Python object its type's name as its type, and those
 * an object owns ("list items", "dict keys") theirs; marks GC objects.
 * scanned: the snapshot is to be scanned, and each object's refcount and
 * a list's or tuple's value (a hash of its items) are read for its OBJECTS
 * (a snapshot not scanned has none: what reads them reads the graph too). */
void python_type_blocks(struct live_block *blocks, size_t n, int scanned) HS_HIDDEN;
/* For the scan of the same snapshot: FMT_EDGE_NOT_REF if the word off
 * bytes into block src (an index), which points into block dst, is no
 * reference to CPython (a weak reference's pointer, a list's items past its
 * size, a dead object's but its free list's link), else 0. */
unsigned python_edge_rules(size_t src, uint64_t off, size_t dst) HS_HIDDEN;
/* For the scan of the same snapshot: gives skip each part of the
 * interpreter's data stacks above their top (CPython 3.11), which holds
 * what popped frames left, no reference. */
void python_dead_stacks(void (*skip)(uintptr_t lo, uintptr_t hi, void *arg), void *arg) HS_HIDDEN;
/* For the scan of the same snapshot: FMT_HEUR_PYGC if a pointer off bytes
 * into block dst (an index) is where an instance points at its managed
 * values (past their prefix), else 0. */
unsigned python_interior_rules(size_t dst, uint64_t off) HS_HIDDEN;
/* Writes the snapshot's OBJECTS records (after its BLOCKS): each object's
 * refcount, read at python_type_blocks (none for a snapshot not scanned);
 * then forgets the snapshot. */
void python_put_objects(void) HS_HIDDEN;

/* ---- rc.c: refcount events ---- */

/* Records a refcount event; ret is the return address into the shim, whose
 * frame is cut from the stack. */
void rc_event(unsigned op, const void *obj, uint64_t id, long count, const char *type, uintptr_t ret) HS_HIDDEN;
/* Reports a misuse on stderr with stacks, and records it. */
void rc_misuse(unsigned op, const void *obj, uint64_t id, const char *type, uintptr_t ret) HS_HIDDEN;
/* How many refcount events were numbered so far. */
uint64_t rc_sequence(void) HS_HIDDEN;

/* ---- notes.c: what the trace cannot show by itself ---- */

/* Finds the allocators heapscope does not see (malloc that is not ours;
 * another allocator's API beside ours) and records them. From the
 * constructor, while recording is on. */
void notes_allocator(void) HS_HIDDEN;
/* Whether malloc is not ours: nothing the program allocates reaches us. */
int notes_malloc_foreign(void) HS_HIDDEN;
/* Records them again in each forked child's trace. Call after the
 * recorder's fork handlers are registered (they reset the child's output). */
void notes_follow_forks(void) HS_HIDDEN;
/* Tells `heapscope run` the program an exec is about to run: file as
 * passed, or fexecve's fd (>= 0), searched along PATH when search (execvp)
 * and file has no '/'. Safe in a vfork child. */
void notes_exec(const char *file, int fd, int search) HS_HIDDEN;
/* Tells `heapscope run` (its run log) that this process reaped child, which
 * ended with a wait status; async-signal-safe (a SIGCHLD handler may reap). */
void notes_child(pid_t child, int status) HS_HIDDEN;

/* ---- recorder.c: each allocation and free (the hot path) ---- */

/* Per-thread state; the hooks read guard on every call. */
struct rec_thread {
    int guard;         /* inside the tracer: allocations pass through untraced */
    int pause_pending; /* a scan asked this thread to pause while it was inside the tracer */
    int64_t pending_bytes, pending_blocks; /* live-heap change not yet published */
    uintptr_t last_alloc; /* ~ the thread's latest block, until its next allocation or free */
    uintptr_t daemon_sp;  /* inside daemon(): its caller's stack pointer (process.c) */
};
extern __thread struct rec_thread rec_self HS_HIDDEN;
/* Leaves the tracer: drops the guard, and pauses here if a scan asked. */
static inline void rec_unguard(void)
{
    if (--rec_self.guard == 0 && HS_UNLIKELY(rec_self.pause_pending))
        scan_pause_deferred();
}
/* Every rec_* entry point holds the guard while it runs, so that what the
 * tracer allocates passes through untraced, and gives errno back. */
struct rec_guard {
    int saved_errno;
};
static inline struct rec_guard rec_guard_enter(void)
{
    rec_self.guard++;
    return (struct rec_guard){ errno };
}
static inline void rec_guard_leave(struct rec_guard g)
{
    errno = g.saved_errno;
    rec_unguard();
}
/* The live heap, published by each thread in batches (exact to within 16
 * KiB per thread). */
struct rec_heap {
    atomic_long live_bytes, live_blocks, peak_bytes;
    _Atomic uint64_t peak_time_ns;
};
extern struct rec_heap rec_heap HS_HIDDEN;
void rec_alloc(unsigned fn, void *ptr, size_t size, const struct stack_origin *from) HS_HIDDEN;
void rec_free(void *ptr) HS_HIDDEN;
/* realloc: take the old block out before the real call, then settle. */
int rec_realloc_take(void *old, struct live_block *saved) HS_HIDDEN;
void rec_realloc_done(void *old, int had, const struct live_block *saved, void *ptr, size_t size,
                      unsigned fn, const struct stack_origin *from) HS_HIDDEN;
/* Publishes this thread's pending change to the live heap (at the end). */
void rec_publish_live(uint64_t when) HS_HIDDEN;

/* ---- process.c: start, the preamble, fork, exec, exit ---- */

extern atomic_int rec_on HS_HIDDEN;        /* recording is live */
extern uint64_t rec_epoch_ns HS_HIDDEN;    /* CLOCK_MONOTONIC at the start: trace times count from it */
/* Counts forks down from the first traced process (modulo 64): a block made
 * by another generation was inherited, and is its maker's to judge. */
extern unsigned rec_generation HS_HIDDEN;
static inline uint64_t rec_now(void) { return plat_now_ns() - rec_epoch_ns; }
/* For every allocation's time: the coarse clock costs a few ns, not 20. */
static inline uint64_t rec_now_coarse(void)
{
    uint64_t t = plat_coarse_ns();
    return t > rec_epoch_ns ? t - rec_epoch_ns : 0;
}
/* Starts recording if it was not started (from the first allocation, which
 * may come before our constructor); 1 if this call started it and recording
 * is on. Cheap once started. */
int rec_start(void) HS_HIDDEN;
/* The rest of the start, from the constructor, where no caller's lock can be
 * held: the environment for children, fork handlers, the snapshot signal,
 * the writer thread. */
void rec_start_late(void) HS_HIDDEN;
void rec_exit(uintptr_t caller_sp) HS_HIDDEN;
/* Before exec: everything written, as if the process ended. */
void rec_exec(uintptr_t caller_sp) HS_HIDDEN;
void rec_exec_failed(void) HS_HIDDEN;
pid_t rec_pid(void) HS_HIDDEN;
/* daemon(): the parent's trace ends in its fork (glibc's daemon leaves the
 * parent by an _exit no hook sees); goes on if daemon fails there. */
int rec_daemon(int (*real_daemon)(int, int), int nochdir, int noclose, uintptr_t caller_sp) HS_HIDDEN;

/* ---- snapshot.c: snapshots (blocks and heap graph) ---- */

/* A snapshot; caller_sp is the stack pointer of the program thread that
 * asked (its stack is a root), or 0 from the tracer's own thread. */
void rec_snapshot(const char *name, uintptr_t caller_sp) HS_HIDDEN;
/* The same, named KIND-N, N the number of snapshots taken so far. */
void rec_snapshot_numbered(const char *kind, uintptr_t caller_sp) HS_HIDDEN;
/* Snapshots are serialised: rec_snapshot_write with the lock held. */
void rec_snapshot_lock(void) HS_HIDDEN;
void rec_snapshot_unlock(void) HS_HIDDEN;
void rec_snapshot_write(const char *name, int scan, uintptr_t caller_sp) HS_HIDDEN;
/* Live bytes at which the next "peak" snapshot is due; the hot path reads it. */
extern _Atomic uint64_t rec_next_peak HS_HIDDEN;
void rec_snapshot_peak(uint64_t live) HS_HIDDEN;
/* The snapshot signal's handler, if the program left the signal alone; and
 * whether it asked for a snapshot since the last call (for the tick). */
void rec_snapshot_signal_claim(void) HS_HIDDEN;
int rec_snapshot_requested(void) HS_HIDDEN;
/* In a forked child: a fresh lock, counting from 0, the next peak above the
 * inherited heap. */
void rec_snapshot_fork_child(void) HS_HIDDEN;

/* ---- tick.c: the periodic work ---- */

/* Every 100 ms, from the writer thread or out_tick: heap statistics, the
 * module map, timed and requested snapshots. */
void rec_tick(uint64_t now_ns) HS_HIDDEN;
void rec_tick_fork_child(void) HS_HIDDEN;
void rec_totals(uint64_t *allocs, uint64_t *frees, uint64_t *bytes) HS_HIDDEN;

/* ---- client.c: the client API's requests ---- */

void rec_tag(const void *block, const char *type) HS_HIDDEN;
void rec_ignore(const void *block) HS_HIDDEN;
/* A refcount event from the shim (called from the client API). */
void rec_rc(unsigned op, const void *obj, uint64_t id, long count, const char *type, uintptr_t ret,
            int misuse) HS_HIDDEN;

/* ---- modules.c: the module map ---- */

/* Its memory; 0 or -ENOMEM. */
int rec_modules_init(void) HS_HIDDEN;
/* Brings the map up to date, recording what was loaded and unloaded; cheap
 * while the loader's counts stay the same. */
void rec_modules_changed(void) HS_HIDDEN;
/* Every module's record, into a new trace's preamble. */
void rec_modules_preamble(void) HS_HIDDEN;
void rec_modules_lock(void) HS_HIDDEN;   /* across fork */
void rec_modules_unlock(void) HS_HIDDEN;

#endif

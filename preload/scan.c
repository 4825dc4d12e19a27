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

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define THREADS_MAX SCAN_THREADS_MAX
#define PAUSE_TIMEOUT_NS 500000000ull
#define TCB_SIZE 4096 /* room above the thread pointer for glibc's struct pthread */
#define MODULE_RANGES_MAX 4096

/* ---------------------------------------------------------------- maps */

struct range {
    uintptr_t start, end;
};

struct maps {
    struct range *r; /* readable mappings, sorted */
    size_t n, cap;
};

static void maps_free(struct maps *m) { plat_unmap(m->r, m->cap * sizeof *m->r); }

static int maps_read(struct maps *m)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    m->cap = 4096;
    m->n = 0;
    if (!(m->r = plat_map(m->cap * sizeof *m->r))) {
        close(fd);
        return -ENOMEM;
    }
    char buf[8192];
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
            *nl = 0;
            unsigned long s, e;
            char perms[8];
            if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && perms[0] == 'r' &&
                !strstr(line, "[vvar]") && !strstr(line, "[vsyscall]")) {
                if (m->n == m->cap) { /* grow */
                    struct range *r = plat_map(2 * m->cap * sizeof *r);
                    if (!r)
                        break;
                    memcpy(r, m->r, m->n * sizeof *r);
                    plat_unmap(m->r, m->cap * sizeof *m->r);
                    m->r = r;
                    m->cap *= 2;
                }
                if (m->n && m->r[m->n - 1].end == s)
                    m->r[m->n - 1].end = e; /* merge neighbours */
                else
                    m->r[m->n++] = (struct range){ s, e };
            }
            line = nl + 1;
        }
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
    }
    close(fd);
    return 0;
}

/* The readable mapping holding addr, or NULL. */
static const struct range *maps_find(const struct maps *m, uintptr_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->r[mid].end <= addr)
            lo = mid + 1;
        else if (m->r[mid].start > addr)
            hi = mid;
        else
            return &m->r[mid];
    }
    return NULL;
}

/* Clips [*s, *e) to the readable part that starts at *s. 0 if nothing is. */
static int maps_clip(const struct maps *m, uintptr_t *s, uintptr_t *e)
{
    const struct range *r = maps_find(m, *s);
    if (!r)
        return 0;
    if (*e > r->end)
        *e = r->end;
    return *e > *s;
}

/* ------------------------------------------------------ pausing threads */

struct paused {
    pid_t tid;
    int has_regs;
    uintptr_t sp, tp;
    uint64_t regs[NGREG];
};

static int pause_sig;
static struct paused slots[THREADS_MAX];
static atomic_uint n_slots, arrived;
static atomic_uint release_gen;
static atomic_int pausing; /* a scan wants threads paused */
static size_t tls_static_size;

static long futex(atomic_uint *addr, int op, unsigned val)
{
    return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

static uintptr_t thread_pointer(void)
{
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

static void pause_here(const ucontext_t *uc)
{
    /* the generation first: if the scan ends after this, we see it below */
    unsigned gen = atomic_load(&release_gen);
    if (!atomic_load(&pausing))
        return;
    unsigned i = atomic_fetch_add(&n_slots, 1);
    if (i < THREADS_MAX) {
        struct paused *p = &slots[i];
        p->tid = plat_gettid();
        p->tp = thread_pointer();
        if (uc) {
            p->has_regs = 1;
            p->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
            memcpy(p->regs, uc->uc_mcontext.gregs, sizeof p->regs);
        } else {
            /* leaving the tracer: our callee-saved registers are spilled
             * into this frame, which the stack scan covers */
            __builtin_unwind_init();
            p->has_regs = 0;
            p->sp = (uintptr_t)__builtin_frame_address(0);
        }
    }
    atomic_fetch_add(&arrived, 1);
    futex(&arrived, FUTEX_WAKE_PRIVATE, 1);
    while (atomic_load(&release_gen) == gen)
        futex(&release_gen, FUTEX_WAIT_PRIVATE, gen);
}

static void on_pause_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    if (!atomic_load(&pausing))
        return;
    int saved = errno;
    if (rec_self.guard)
        rec_self.pause_pending = 1; /* pause on the way out of the tracer */
    else
        pause_here(uc);
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
    char path[64], comm[32];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    if (plat_read_file(path, comm, sizeof comm) <= 0)
        return 0;
    comm[strcspn(comm, "\n")] = 0;
    return strcmp(comm, OUT_WRITER_NAME) == 0;
}

/* A real-time signal nobody uses, from the top down; 0 if none. */
static int pick_signal(void)
{
    for (int sig = SIGRTMAX - 2; sig > SIGRTMIN + 4; sig--) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO)) {
            struct sigaction sa = { .sa_sigaction = on_pause_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
            sigfillset(&sa.sa_mask);
            if (sigaction(sig, &sa, NULL) == 0)
                return sig;
        }
    }
    return 0;
}

/* The stack pointer of a thread blocked in a system call, from /proc. */
static uintptr_t proc_sp(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    if (plat_read_file(path, buf, sizeof buf) <= 0)
        return 0;
    /* "nr a1 a2 a3 a4 a5 a6 sp pc", or "running" */
    char *p = buf;
    for (int field = 0; field < 7; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return (uintptr_t)strtoull(p, NULL, 16);
}

/* Pauses every thread but ours and the tracer's own. Threads that do not
 * arrive in time are listed in *late. */
static void pause_others(__typeof__(((struct scan_result *)0)->late) *late)
{
    late->n = 0;
    atomic_store(&n_slots, 0);
    atomic_store(&arrived, 0);
    if (!pause_sig && !(pause_sig = pick_signal()))
        return;
    atomic_store(&pausing, 1);
    pid_t self = plat_gettid(), writer = out_writer_tid();
    pid_t pid = getpid();
    unsigned sent = 0;
    pid_t sent_to[THREADS_MAX];
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && sent < THREADS_MAX) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self || tid == writer || is_tracer_thread(tid))
            continue;
        if (syscall(SYS_tgkill, pid, tid, pause_sig) == 0)
            sent_to[sent++] = tid;
    }
    closedir(d);
    uint64_t deadline = plat_now_ns() + PAUSE_TIMEOUT_NS;
    unsigned got;
    while ((got = atomic_load(&arrived)) < sent && plat_now_ns() < deadline) {
        struct timespec ts = { 0, 1000000 };
        syscall(SYS_futex, &arrived, FUTEX_WAIT_PRIVATE, got, &ts, NULL, 0);
    }
    unsigned n = atomic_load(&n_slots);
    for (unsigned i = 0; i < sent; i++) {
        int found = 0;
        for (unsigned k = 0; k < n && k < THREADS_MAX && !found; k++)
            found = slots[k].tid == sent_to[i];
        if (!found)
            late->tid[late->n++] = sent_to[i];
    }
}

static void resume_others(void)
{
    atomic_store(&pausing, 0);
    atomic_fetch_add(&release_gen, 1);
    futex(&release_gen, FUTEX_WAKE_PRIVATE, INT32_MAX);
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
};

static int grow_edges(struct scan_result *r)
{
    size_t cap = r->edges_cap ? r->edges_cap * 2 : 65536;
    struct scan_edge *e = plat_map(cap * sizeof *e);
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

static int add_edge(struct scan *s, uint32_t src, int src_is_root, uint64_t src_off, size_t dst, uint64_t dst_off)
{
    struct scan_result *r = s->out;
    if (r->n_edges == r->edges_cap && grow_edges(r) != 0)
        return -1;
    r->edges[r->n_edges++] = (struct scan_edge){ .src = src, .src_is_root = (uint8_t)src_is_root,
                                                 .src_off = src_off, .dst = (uint32_t)dst, .dst_off = dst_off };
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
        if (b >= 0 && !allocator_header(&s->blocks[b], w))
            add_edge(s, src, is_root, a - start, (size_t)b, w - s->blocks[b].addr);
    }
    for (; a < end; a++)
        h = (h ^ *(const uint8_t *)a) * 0x100000001b3ull;
    return h;
}

static uint32_t add_root(struct scan_result *r, unsigned kind, uintptr_t start, uintptr_t end, pid_t tid)
{
    if (r->n_roots == SCAN_ROOTS_MAX)
        return UINT32_MAX;
    r->roots[r->n_roots] = (struct scan_root){ .kind = kind, .start = start, .end = end, .tid = tid };
    return (uint32_t)r->n_roots++;
}

static void scan_root_region(struct scan *s, unsigned kind, uintptr_t start, uintptr_t end, pid_t tid)
{
    if (!maps_clip(s->maps, &start, &end))
        return;
    uint32_t id = add_root(s->out, kind, start, end, tid);
    if (id != UINT32_MAX)
        scan_words(s, start, end, id, 1);
}

/* Writable segments of every module but ours are roots; every module's
 * loaded range is remembered, to keep only block first words that point
 * into a module (a C++ vtable pointer, possibly). */
static int segments_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct scan *s = arg;
    int ours = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (uintptr_t)&pause_sig >= start && (uintptr_t)&pause_sig < end)
            ours = 1;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (s->n_mods < MODULE_RANGES_MAX)
            s->mods[s->n_mods++] = (struct range){ start, end };
        if (ours || !(ph->p_flags & PF_W))
            continue;
        start &= ~(uintptr_t)7;
        /* a segment may span several mappings (RELRO): scan each readable piece */
        for (uintptr_t p = start; p < end;) {
            uintptr_t e = end;
            if (!maps_clip(s->maps, &p, &e)) {
                p = (p | 4095) + 1;
                continue;
            }
            uint32_t id = add_root(s->out, FMT_ROOT_GLOBAL, p, e, 0);
            if (id != UINT32_MAX)
                scan_words(s, p, e, id, 1);
            p = e;
        }
    }
    return 0;
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
    /* the stack, from the stack pointer to the end of its mapping */
    const struct range *st = sp ? maps_find(s->maps, sp) : NULL;
    if (st)
        scan_root_region(s, FMT_ROOT_STACK, sp & ~(uintptr_t)7, st->end, tid);
    /* static TLS and the TCB around the thread pointer, unless the stack
     * scan already covered them (threads other than the first keep them at
     * the top of their stack mapping) */
    if (tp && !(st && tp >= sp && tp < st->end)) {
        uintptr_t below = tls_static_size ? tls_static_size : 4096;
        scan_root_region(s, FMT_ROOT_TLS, (tp - below) & ~(uintptr_t)7, tp + TCB_SIZE, tid);
    }
    if (regs) {
        uint32_t id = add_root(s->out, FMT_ROOT_REGISTERS, 0, NGREG * 8, tid);
        for (int i = 0; id != UINT32_MAX && i < NGREG; i++) {
            ssize_t b = block_at(s, (uintptr_t)regs[i]);
            if (b >= 0)
                add_edge(s, id, 1, (uint64_t)i * 8, (size_t)b, regs[i] - s->blocks[b].addr);
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
    if (n) {
        s.lo = blocks[0].addr;
        s.hi = blocks[n - 1].addr + blocks[n - 1].size + 1;
    }
    out->hashes = plat_map((n ? n : 1) * sizeof *out->hashes);
    out->word0 = plat_map((n ? n : 1) * sizeof *out->word0);
    if (!out->hashes || !out->word0) {
        maps_free(&maps);
        return -ENOMEM;
    }
    /* roots: module data, then threads */
    dl_iterate_phdr(segments_cb, &s);
    if (caller_sp)
        thread_roots(&s, plat_gettid(), caller_sp, thread_pointer(), NULL);
    unsigned np = atomic_load(&n_slots);
    for (unsigned i = 0; i < np && i < THREADS_MAX; i++)
        thread_roots(&s, slots[i].tid, slots[i].sp, slots[i].tp, slots[i].has_regs ? slots[i].regs : NULL);
    for (unsigned i = 0; i < out->late.n; i++)
        thread_roots(&s, out->late.tid[i], proc_sp(out->late.tid[i]), 0, NULL);
    /* blocks, in address order */
    for (size_t i = 0; i < n; i++) {
        uintptr_t start = blocks[i].addr, end = start + blocks[i].size;
        out->word0[i] = 0;
        if (!maps_clip(&maps, &start, &end) || start != blocks[i].addr || end != blocks[i].addr + blocks[i].size) {
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
    maps_free(&maps);
    return 0;
}

void scan_pause(struct scan_result *out) { pause_others(&out->late); }

void scan_init(void)
{
    void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    tls_static_size = size;
}

void scan_resume(void) { resume_others(); }

void scan_result_free(struct scan_result *r, size_t n_blocks)
{
    plat_unmap(r->edges, r->edges_cap * sizeof *r->edges);
    plat_unmap(r->hashes, (n_blocks ? n_blocks : 1) * sizeof *r->hashes);
    plat_unmap(r->word0, (n_blocks ? n_blocks : 1) * sizeof *r->word0);
    r->edges = NULL;
    r->hashes = NULL;
    r->word0 = NULL;
}

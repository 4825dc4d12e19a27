/*
 * The platform layer of the preload: every system call libheapscope makes,
 * and every interface that is Linux's or glibc's (/proc, futexes, signals,
 * the loader's dl_* functions, a signal context's registers), is here, each
 * function behind a contract written above it: what it needs, what it
 * returns, its errors as a negative errno.
 *
 * Outside this file the preload uses ISO C, POSIX threads, getpid, getppid,
 * getcwd and the environment, and three things each of one file: hooks.c
 * looks up the real functions (dlsym RTLD_NEXT: interposing is that),
 * unwind.c calls libunwind, scan.c asks glibc's malloc_usable_size (it reads
 * glibc's heap layout). test_platform_layer holds the rest of preload/ to it.
 *
 * Nothing here allocates through the C library's malloc (dlsym, dladdr and
 * the loader may, behind the hooks' guard), and nothing writes to stdout.
 */
#include "internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

_Static_assert(PLAT_REGS == NGREG, "a signal context's general registers");

/* ------------------------------------------------------------- locks */

/* Takes l, spinning briefly, then yielding the CPU until it is free. Never
 * fails; not reentrant (a thread that holds l and takes it again waits
 * forever). */

void plat_lock(struct plat_lock *l)
{
    for (unsigned spins = 0;; spins++) {
        if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        if (spins < 64)
            __builtin_ia32_pause();
        else
            sched_yield();
    }
}

/* ------------------------------------------------------------ memory */

/* Every mapping plat_map made and plat_unmap has not undone, so that a heap
 * scan can leave the tracer's own memory out of the program's roots (it
 * holds every live block's address). The list lives in memory of its own,
 * listed in itself. */
static struct plat_lock own_lock;
static struct plat_range *own;
static size_t n_own, cap_own;

/* [start, end) is listed as the whole pages that hold it: the rest of its
 * last page is the tracer's too. Listed to the byte, that rest was scanned
 * as the program's memory, and if another of the tracer's threads unmapped
 * the mapping meanwhile, the scan faulted there (a program's exit snapshot
 * while the writer let go of a buffer of 31 KiB). */
static int own_add(uintptr_t start, uintptr_t end)
{
    uintptr_t page = (uintptr_t)getpagesize();
    end = (end + page - 1) & ~(page - 1);
    if (n_own == cap_own) {
        size_t cap = cap_own ? cap_own * 2 : 256;
        void *p = mmap(NULL, cap * sizeof *own, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -ENOMEM;
        struct plat_range *old = own;
        size_t old_cap = cap_own;
        if (old)
            memcpy(p, old, n_own * sizeof *own);
        own = p;
        cap_own = cap;
        if (old) { /* the old list's own entry becomes the new list's */
            for (size_t i = 0; i < n_own; i++)
                if (own[i].start == (uintptr_t)old)
                    own[i] = (struct plat_range){ (uintptr_t)p, (uintptr_t)p + cap * sizeof *own };
            munmap(old, old_cap * sizeof *own);
        } else {
            own[n_own++] = (struct plat_range){ (uintptr_t)p, (uintptr_t)p + cap * sizeof *own };
        }
    }
    own[n_own++] = (struct plat_range){ start, end };
    return 0;
}

/* size bytes (a multiple of the page size, or rounded up to one) of zeroed
 * memory from the kernel, listed as the tracer's own (plat_own_mappings)
 * until plat_unmap. NULL when out of memory; never through malloc. Takes the
 * list's lock: not from a signal handler. */
static void *map_anon(size_t size, int flags)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    plat_lock(&own_lock);
    int err = own_add((uintptr_t)p, (uintptr_t)p + size);
    plat_unlock(&own_lock);
    if (err) { /* unlisted memory would be scanned as the program's: go without */
        munmap(p, size);
        return NULL;
    }
    return p;
}

void *plat_map(size_t size) { return map_anon(size, 0); }

/* As plat_map, for memory about to be written whole (a snapshot's arrays):
 * its pages are made in one call, and from 2 MiB on they are huge pages.
 * Under this machine's hypervisor the first write to each 4 KiB page cost
 * about 1.4 us even after MAP_POPULATE (10 MiB: 14 ms; in huge pages
 * 0.4 ms), and a peak snapshot of 256,000 blocks spent half its time
 * there. The mapping is cut to whole huge pages; plat_unmap takes its
 * length from the list. Without transparent huge pages it is as below. */
#define HUGE_PAGE (2ul << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
void *plat_map_filled(size_t size)
{
    if (size < HUGE_PAGE)
        return map_anon(size, MAP_POPULATE);
    size_t len = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    char *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + len < p + len + HUGE_PAGE)
        munmap(a + len, (size_t)(p + len + HUGE_PAGE - (a + len)));
    madvise(a, len, MADV_HUGEPAGE); /* (may fail: then small pages) */
    if (madvise(a, len, MADV_POPULATE_WRITE) != 0) /* (an older kernel: as MAP_POPULATE) */
        for (size_t off = 0; off < len; off += 4096)
            a[off] = 0;
    plat_lock(&own_lock);
    int err = own_add((uintptr_t)a, (uintptr_t)a + len);
    plat_unlock(&own_lock);
    if (err) {
        munmap(a, len);
        return NULL;
    }
    return a;
}

/* A file's bytes [off, off + size) (off page-aligned), mapped shared: what
 * is written there is the file's, even if the process dies. Listed like
 * plat_map's. NULL if the file cannot be mapped (a pipe, a file system
 * without shared mappings) or out of memory. The file must already hold
 * those bytes (plat_file_reserve): a page past its end is SIGBUS. */
void *plat_map_file(int fd, off_t off, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    if (p == MAP_FAILED)
        return NULL;
    plat_lock(&own_lock);
    int err = own_add((uintptr_t)p, (uintptr_t)p + size);
    plat_unlock(&own_lock);
    if (err) {
        munmap(p, size);
        return NULL;
    }
    return p;
}

/* Undoes plat_map, plat_map_filled or plat_map_file (the same size; the
 * length mapped is the list's); NULL is nothing. */
void plat_unmap(void *p, size_t size)
{
    if (!p)
        return;
    plat_lock(&own_lock);
    for (size_t i = 0; i < n_own; i++)
        if (own[i].start == (uintptr_t)p) {
            size = own[i].end - own[i].start;
            own[i] = own[--n_own];
            break;
        }
    munmap(p, size);
    plat_unlock(&own_lock);
}

/* Copies up to max of the tracer's own mappings into out; returns how many
 * there are (more than max: call again with more room). The list includes
 * its own memory. */
size_t plat_own_mappings(struct plat_range *out, size_t max)
{
    plat_lock(&own_lock);
    size_t n = n_own < max ? n_own : max;
    memcpy(out, own, n * sizeof *out);
    size_t all = n_own;
    plat_unlock(&own_lock);
    return all;
}

/* The list's lock, held across fork so that the child's list is whole. */
void plat_own_lock(void) { plat_lock(&own_lock); }
void plat_own_unlock(void) { plat_unlock(&own_lock); }

/* ------------------------------------------------------------ clocks */


static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds: CLOCK_MONOTONIC; CLOCK_MONOTONIC_COARSE (a few ns to read, of
 * the scheduler tick's resolution); CLOCK_REALTIME, since 1970. Never fail;
 * async-signal-safe. */
uint64_t plat_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t plat_coarse_ns(void) { return clock_ns(CLOCK_MONOTONIC_COARSE); }
uint64_t plat_unix_now_ns(void) { return clock_ns(CLOCK_REALTIME); }

/* ------------------------------------------------------------- files */


/* A write past RLIMIT_FSIZE raises SIGXFSZ, whose default action ends the
 * program (a traced program that lowered the limit was killed by its
 * trace): around the tracer's writes it is blocked, and one a write raised
 * is taken back, so that the write fails with EFBIG and tracing stops with
 * one line. Async-signal-safe. */
static void xfsz_hold(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static int xfsz_release(const sigset_t *old, int err)
{
    if (err == -EFBIG && !sigismember(old, SIGXFSZ)) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGXFSZ);
        struct timespec now = { 0, 0 };
        sigtimedwait(&s, NULL, &now); /* the one the write raised */
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
    return err;
}

/* Writes all n bytes of p to fd, retrying short writes and EINTR. 0, or
 * -errno (-EIO if the file takes nothing). Async-signal-safe. */
int plat_write_all(int fd, const void *p, size_t n)
{
    sigset_t old;
    xfsz_hold(&old);
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return xfsz_release(&old, -errno);
        }
        if (w == 0)
            return xfsz_release(&old, -EIO);
        c += w;
        n -= (size_t)w;
    }
    return xfsz_release(&old, 0);
}

/* The program's short name (argv[0]'s basename), "program" if it has none.
 * Never fails. */
const char *plat_program_name(void)
{
    extern char *program_invocation_short_name;
    return program_invocation_short_name && *program_invocation_short_name
               ? program_invocation_short_name : "program";
}

/* Reads up to size - 1 bytes of a small file (a /proc file) into buf, NUL
 * terminated (size > 0). Its length, or -errno if it cannot be opened (a
 * read error ends it early). Async-signal-safe. */
ssize_t plat_read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t r = read(fd, buf + got, size - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    return (ssize_t)got;
}

/* The process's resident set in bytes (/proc/self/statm), 0 if unknown. */
uint64_t plat_rss_bytes(void)
{
    char buf[128];
    if (plat_read_file("/proc/self/statm", buf, sizeof buf) <= 0)
        return 0;
    const char *p = buf;
    while (*p && *p != ' ')
        p++;
    uint64_t pages = 0;
    for (p++; *p >= '0' && *p <= '9'; p++)
        pages = pages * 10 + (uint64_t)(*p - '0');
    return pages * (uint64_t)getpagesize();
}

static atomic_int spoke;

/* One line on stderr, "heapscope: " before it and the newline after, at
 * most 511 bytes. Leaves errno as it was. */
static void say(const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "heapscope: ");
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    int saved = errno;
    (void)!write(STDERR_FILENO, line, len);
    errno = saved;
}

/* At most one line per process, the first (plat_warn_reset forgets it). */
void plat_warn_once(const char *fmt, ...)
{
    if (atomic_exchange(&spoke, 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

void plat_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

/* Forgets that this process spoke (a forked child speaks for itself). */
void plat_warn_reset(void) { atomic_store(&spoke, 0); }

/* ----------------------------------------------------------- modules */

/* The GNU build id, from the module's PT_NOTE segments in memory. */
static size_t find_build_id(const struct dl_phdr_info *info, uint8_t *out, size_t room)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            size_t name = (n->n_namesz + 3u) & ~3u, desc = (n->n_descsz + 3u) & ~3u;
            const char *d = p + sizeof *n + name;
            if (d + desc > end)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                memcmp(p + sizeof *n, "GNU", 4) == 0 && n->n_descsz <= room) {
                memcpy(out, d, n->n_descsz);
                return n->n_descsz;
            }
            p = d + desc;
        }
    }
    return 0;
}

static int first_module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr; /* the first is the main program */
    return 1;
}

static uintptr_t main_bias(void)
{
    uintptr_t bias = 0;
    dl_iterate_phdr(first_module_cb, &bias);
    return bias;
}

struct foreach_ctx {
    void (*fn)(const struct plat_module *m, void *arg);
    void *arg;
    char exe[4096];
    int exe_taken;
};

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct foreach_ctx *c = arg;
    struct plat_module m = { .bias = info->dlpi_addr, .start = UINTPTR_MAX, .end = 0 };
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (s < m.start)
            m.start = s;
        if (e > m.end)
            m.end = e;
    }
    if (m.end == 0)
        return 0;
    m.path = info->dlpi_name;
    if (!m.path || !*m.path) {
        /* the main program has no name here; the vDSO has none either */
        if (c->exe_taken || c->exe[0] == 0)
            return 0;
        m.path = c->exe;
        c->exe_taken = 1; /* only the first nameless module is the program */
    }
    m.build_id_len = find_build_id(info, m.build_id, sizeof m.build_id);
    c->fn(&m, c->arg);
    return 0;
}

/* Calls fn for every loaded module with its load bias, mapped range, path
 * (the program's real path for the program; valid during the call only) and
 * build id; not for the vDSO. Takes the loader's lock: fn must not dlopen. */
void plat_modules_foreach(void (*fn)(const struct plat_module *m, void *arg), void *arg)
{
    struct foreach_ctx c = { .fn = fn, .arg = arg };
    plat_exe_path(c.exe, sizeof c.exe);
    dl_iterate_phdr(module_cb, &c);
}

/* A function symbol of the main program from its .symtab on disk (programs
 * do not export their functions), at its runtime address; NULL if none. */
static void *exe_symbol(const char *name)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(ElfW(Ehdr)))
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return NULL;
    const char *base = map;
    size_t size = (size_t)st.st_size;
    void *found = NULL;
    const ElfW(Ehdr) *eh = map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_shoff >= size ||
        eh->e_shnum * sizeof(ElfW(Shdr)) > size - eh->e_shoff)
        goto out;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum && !found; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size || strs->sh_offset + strs->sh_size > size)
            continue;
        const ElfW(Sym) *sym = (const ElfW(Sym) *)(base + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++)
            if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_value && sym[k].st_name < strs->sh_size &&
                strcmp(base + strs->sh_offset + sym[k].st_name, name) == 0) {
                found = (void *)(main_bias() + sym[k].st_value);
                break;
            }
    }
out:
    munmap(map, size);
    return found;
}

/* A symbol the loaded objects export (a variable too), as dlsym finds it;
 * NULL if none. */
void *plat_symbol(const char *name) { return dlsym(RTLD_DEFAULT, name); }

/* A function of the program by name: from the executable's symbol table
 * (programs do not export their functions), else as dlsym finds it; NULL if
 * none. Reads the executable from disk: not for a hot path. */
void *plat_program_function(const char *name)
{
    /* the program's own first: a preloaded runtime (UBSan's, say) may carry
     * a weak stub of the same name that dlsym would find */
    void *f = exe_symbol(name);
    return f ? f : dlsym(RTLD_DEFAULT, name);
}

struct range_ctx {
    uintptr_t addr, start, end;
    int found;
};

static int range_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct range_ctx *c = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        if (c->addr >= s && c->addr < e) {
            c->start = s;
            c->end = e;
            c->found = 1;
            return 1;
        }
    }
    return 0;
}

/* The executable segment of a loaded module that contains addr: 0 and
 * [*start, *end), or -ENOENT if no module's code does. */
int plat_module_range(const void *addr, uintptr_t *start, uintptr_t *end)
{
    struct range_ctx c = { .addr = (uintptr_t)addr };
    dl_iterate_phdr(range_cb, &c);
    if (!c.found)
        return -ENOENT;
    *start = c.start;
    *end = c.end;
    return 0;
}

/* The module that holds addr: its base in *base (to tell modules apart) and,
 * when out is not NULL, its path in out (room > 0), the program's real path
 * for the program. 0, or -ENOENT if no module holds addr. */
int plat_module_path(const void *addr, const void **base, char *out, size_t room)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return -ENOENT;
    *base = info.dli_fbase;
    if (!out)
        return 0;
    if (lm->l_name && lm->l_name[0])
        snprintf(out, room, "%s", lm->l_name);
    else
        plat_exe_path(out, room); /* the program's own map has no name */
    return 0;
}

struct eh_ctx {
    uintptr_t addr, hdr;
    size_t size;
};

static int eh_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct eh_ctx *c = arg;
    uintptr_t hdr = 0;
    size_t hdr_size = 0;
    int inside = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && c->addr >= s && c->addr < s + ph->p_memsz)
            inside = 1;
        else if (ph->p_type == PT_GNU_EH_FRAME) {
            hdr = s;
            hdr_size = ph->p_memsz;
        }
    }
    if (!inside)
        return 0;
    c->hdr = hdr;
    c->size = hdr_size;
    return 1;
}

/* The .eh_frame_hdr (PT_GNU_EH_FRAME) of the module whose code contains
 * addr, and its size in *size; 0 if no module's code does, or it has none.
 * Takes the loader's lock. */
uintptr_t plat_eh_frame_hdr(uintptr_t addr, size_t *size)
{
    struct eh_ctx c = { .addr = addr };
    dl_iterate_phdr(eh_cb, &c);
    *size = c.size;
    return c.hdr;
}

struct segments_ctx {
    void (*fn)(const struct plat_segment *seg, void *arg);
    void *arg;
};

static int segments_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct segments_ctx *c = arg;
    int ours = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (uintptr_t)&spoke >= start && (uintptr_t)&spoke < end)
            ours = 1;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        struct plat_segment seg = { start, start + ph->p_memsz, (ph->p_flags & PF_W) != 0, ours };
        c->fn(&seg, c->arg);
    }
    return 0;
}

/* Calls fn for every PT_LOAD segment of every loaded module; ours is set for
 * libheapscope's own. Takes the loader's lock: fn must not dlopen. */
void plat_segments_foreach(void (*fn)(const struct plat_segment *seg, void *arg), void *arg)
{
    struct segments_ctx c = { fn, arg };
    dl_iterate_phdr(segments_cb, &c);
}

static int counts_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uint64_t *c = arg;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1;
}

/* How many modules the loader has loaded and unloaded since the process
 * started: while both stay the same, the module map has not changed. Takes
 * the loader's lock; a few hundred ns. */
void plat_modules_counts(uint64_t *loaded, uint64_t *unloaded)
{
    uint64_t c[2] = { 0, 0 };
    dl_iterate_phdr(counts_cb, c);
    *loaded = c[0];
    *unloaded = c[1];
}

/* The definition dlsym finds for name through handle, with its symbol;
 * NULL if none: a program built without -fPIE that takes a function's
 * address (python3) has a PLT stub that dlsym finds in its place, named by
 * an undefined symbol, and that is no definition. */
static void *definition(void *handle, const char *name, Dl_info *info, const ElfW(Sym) **sym)
{
    void *f = dlsym(handle, name);
    *sym = NULL;
    return f && dladdr1(f, info, (void **)sym, RTLD_DL_SYMENT) && *sym && (*sym)->st_shndx != SHN_UNDEF ? f : NULL;
}

/* What the program's calls to the function name bind to: its address in
 * *addr and the base of the module that defines it in *base. 0, or -ENOENT if
 * no module defines it. */
int plat_symbol_definer(const char *name, void **addr, const void **base)
{
    Dl_info info;
    const ElfW(Sym) *sym;
    void *f = definition(RTLD_DEFAULT, name, &info, &sym);
    if (!f)
        return -ENOENT;
    *addr = f;
    *base = info.dli_fbase;
    return 0;
}

int plat_function_range(const char *name, uintptr_t *start, uintptr_t *end)
{
    Dl_info info;
    const ElfW(Sym) *sym;
    void *f = definition(RTLD_DEFAULT, name, &info, &sym);
    if (!f || !sym->st_size)
        return -ENOENT;
    *start = (uintptr_t)f;
    *end = *start + sym->st_size;
    return 0;
}

/* The symbol and module that hold code address addr, as the loader knows
 * them (exported symbols only): 0, or -ENOENT if no module holds it. The
 * strings stay valid while the module is loaded. */
int plat_symbolize(uintptr_t addr, struct plat_symbol *out)
{
    Dl_info info;
    if (!dladdr((void *)addr, &info) || !info.dli_fname)
        return -ENOENT;
    *out = (struct plat_symbol){ .module = info.dli_fname, .module_base = (uintptr_t)info.dli_fbase,
                                 .name = info.dli_sname, .address = (uintptr_t)info.dli_saddr };
    return 0;
}

/* The size of the static TLS block the loader gives each thread (below the
 * thread pointer), or 0 if glibc does not say. */
size_t plat_static_tls_size(void)
{
    void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    return size;
}

/* Whether the malloc the hooks call (the next one after ours) is glibc's,
 * whose chunk and heap layout scan.c knows. */
int plat_malloc_is_glibc(void)
{
    void *real_malloc = dlsym(RTLD_NEXT, "malloc");
    Dl_info di;
    return real_malloc && dladdr(real_malloc, &di) && di.dli_fname && strstr(di.dli_fname, "/libc.so");
}

/* ----------------------------------------------------------- process */

/* The program's real path (/proc/self/exe) into out (room > 0), NUL
 * terminated, cut to fit. Its length, or -errno (out is "" then). */
ssize_t plat_exe_path(char *out, size_t room)
{
    ssize_t n = readlink("/proc/self/exe", out, room - 1);
    out[n > 0 ? n : 0] = 0;
    return n < 0 ? -errno : n;
}

/* The path of the file open as fd (room > 0), NUL terminated, cut to fit:
 * its length, or -errno (out is "" then). Async-signal-safe, and safe in a
 * vfork child: formats on the stack, calls readlink only. */
ssize_t plat_fd_path(int fd, char *out, size_t room)
{
    char link[32] = "/proc/self/fd/", digits[12], *d = digits + sizeof digits;
    *--d = 0;
    for (unsigned u = (unsigned)fd;; u /= 10) {
        *--d = (char)('0' + u % 10);
        if (u < 10)
            break;
    }
    memcpy(link + 14, d, (size_t)(digits + sizeof digits - d));
    ssize_t n = readlink(link, out, room - 1);
    out[n > 0 ? n : 0] = 0;
    return n < 0 ? -errno : n;
}

/* The command line (/proc/self/cmdline) into out (room > 0), arguments
 * separated by spaces, NUL terminated, cut to fit. Its length, or -errno. */
ssize_t plat_cmdline(char *out, size_t room)
{
    ssize_t n = plat_read_file("/proc/self/cmdline", out, room);
    for (ssize_t i = 0; i + 1 < n; i++)
        if (!out[i])
            out[i] = ' ';
    return n;
}

/* ------------------------------------------------------------- files */

/* Opens path with oflags (O_CLOEXEC added; mode 0644 when it creates) and,
 * when lowest >= 0, moves it to a descriptor number >= lowest if it can (a
 * program that closes every descriptor and opens files again is given the
 * lowest free numbers, not ours). The descriptor, or -errno. */
int plat_open(const char *path, int oflags, int lowest)
{
    int fd = open(path, oflags | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (lowest >= 0) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, lowest);
        if (high >= 0) {
            close(fd);
            fd = high;
        }
    }
    return fd;
}

/* A descriptor number programs are unlikely to be given: three quarters of
 * the descriptor limit when it is under 1024, else 768. */
int plat_fd_floor(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 ? (int)rl.rlim_cur * 3 / 4 : 768;
}

void plat_free_fds(int fds[2])
{
    int n = 0;
    for (int fd = 0; n < 2 && fd < 1 << 20; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            fds[n++] = fd;
}

int plat_close_pipe(const int fds[2])
{
    struct stat a, b;
    int fl[2], fd[2];
    for (int i = 0; i < 2; i++) {
        fd[i] = fcntl(fds[i], F_GETFD);
        fl[i] = fcntl(fds[i], F_GETFL);
        if (fd[i] == -1 || fl[i] == -1 || !(fd[i] & FD_CLOEXEC) || !(fl[i] & O_NONBLOCK))
            return 0;
    }
    if (fstat(fds[0], &a) != 0 || fstat(fds[1], &b) != 0 || !S_ISFIFO(a.st_mode) || !S_ISFIFO(b.st_mode) ||
        a.st_ino != b.st_ino || a.st_dev != b.st_dev || (fl[0] & O_ACCMODE) != O_RDONLY ||
        (fl[1] & O_ACCMODE) != O_WRONLY)
        return 0;
    close(fds[0]);
    close(fds[1]);
    return 1;
}

int plat_readable(uintptr_t addr, size_t len)
{
    char buf[16];
    if (len > sizeof buf)
        return -1;
    struct iovec here = { buf, len }, there = { (void *)addr, len };
    ssize_t n = process_vm_readv(getpid(), &here, 1, &there, 1, 0);
    if (n == (ssize_t)len)
        return 1;
    return n >= 0 || errno == EFAULT ? 0 : -1;
}

/* Closes fd; unlinks path. Errors are not the caller's concern (nothing to
 * do about them). Async-signal-safe. */
void plat_close(int fd) { close(fd); }
void plat_unlink(const char *path) { unlink(path); }

/* Which file fd is (so that a descriptor the program closed and reused can
 * be told from ours), and whether it is a regular file. 0 or -errno. */
int plat_file_id(int fd, struct plat_file_id *id)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    *id = (struct plat_file_id){ (uint64_t)st.st_dev, (uint64_t)st.st_ino, S_ISREG(st.st_mode) };
    return 0;
}

/* The size of the regular file at path: its size, or -errno (-EINVAL if it
 * is not a regular file). */
int64_t plat_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISREG(st.st_mode) ? (int64_t)st.st_size : -EINVAL;
}

/* Gives fd's file its bytes [off, off + n) on disk now (n a multiple of 64
 * KiB): a write through a shared mapping to a page the disk has no room for
 * would kill the program (SIGBUS) where a write(2) fails. Writes zeros on a
 * file system without fallocate. 0, or -errno (-ENOSPC: the disk is full). */
int plat_file_reserve(int fd, uint64_t off, size_t n)
{
    sigset_t old;
    xfsz_hold(&old);
    if (fallocate(fd, 0, (off_t)off, (off_t)n) == 0)
        return xfsz_release(&old, 0);
    if (errno != EOPNOTSUPP)
        return xfsz_release(&old, -errno);
    static const uint8_t zeros[65536];
    for (size_t done = 0; done < n; done += sizeof zeros) {
        ssize_t w = pwrite(fd, zeros, sizeof zeros, (off_t)(off + done));
        if (w != (ssize_t)sizeof zeros)
            return xfsz_release(&old, w < 0 ? -errno : -ENOSPC);
    }
    return xfsz_release(&old, 0);
}

/* Appends n bytes to the existing file at path (never creates it), in one
 * write: lines that processes append at once stay whole. 0, or -errno.
 * Async-signal-safe, and safe in a vfork child. */
int plat_append_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int err = plat_write_all(fd, p, n);
    close(fd);
    return err;
}

/* A hexadecimal number at p, then the character sep; past them, or NULL. */
static const char *maps_hex(const char *p, unsigned long *v, char sep)
{
    unsigned long x = 0;
    const char *start = p;
    for (;; p++) {
        unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0') : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 16;
        if (d == 16)
            break;
        x = x << 4 | d;
    }
    *v = x;
    return p > start && *p == sep ? p + 1 : NULL;
}

/* One line of /proc/self/maps, "start-end perms offset dev inode   path",
 * parsed by hand (sscanf was a tenth of a short process's exit). */
static int maps_line(const char *line, struct plat_mapping *m)
{
    unsigned long s, e, off;
    const char *p = maps_hex(line, &s, '-');
    if (!p || !(p = maps_hex(p, &e, ' ')) || !p[0] || !p[1] || !p[2] || !p[3] || p[4] != ' ')
        return 0;
    const char *perms = p;
    if (!(p = maps_hex(p + 5, &off, ' ')))
        return 0;
    for (int field = 0; field < 2; field++) { /* dev, inode */
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    *m = (struct plat_mapping){ .start = s, .end = e, .offset = off, .path = p };
    m->prot |= perms[0] == 'r' ? PLAT_PROT_READ : 0;
    m->prot |= perms[1] == 'w' ? PLAT_PROT_WRITE : 0;
    m->prot |= perms[2] == 'x' ? PLAT_PROT_EXEC : 0;
    return 1;
}

/* Calls fn for each mapping of /proc/self/maps, in address order. 0, or
 * -errno if it cannot be read. Never allocates. */
int plat_maps_foreach(void (*fn)(const struct plat_mapping *m, void *arg), void *arg)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char buf[8192];
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
            *nl = 0;
            struct plat_mapping m;
            if (maps_line(line, &m))
                fn(&m, arg);
            line = nl + 1;
        }
        have = (size_t)(buf + have - line);
        memmove(buf, line, have);
    }
    close(fd);
    return 0;
}

/* ----------------------------------------------------------- threads */

/* The calling thread's id (as /proc/self/task and tgkill know it). */
pid_t plat_gettid(void) { return (pid_t)syscall(SYS_gettid); }

/* The calling thread's thread pointer (the fs base on x86-64): glibc's
 * thread control block, with static TLS below it. */
uintptr_t plat_thread_pointer(void)
{
    uintptr_t tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

/* Calls fn for each thread of this process (/proc/self/task) until fn
 * returns non-zero. 0, or -errno if the list cannot be read. Never
 * allocates (no opendir). */
int plat_threads_foreach(int (*fn)(pid_t tid, void *arg), void *arg)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _Alignas(struct dirent64) char buf[4096];
    int err = 0, stop = 0;
    while (!stop) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) {
            err = n < 0 ? -errno : 0;
            break;
        }
        for (long at = 0; at < n && !stop;) {
            const struct dirent64 *d = (const struct dirent64 *)(buf + at);
            at += d->d_reclen;
            pid_t tid = (pid_t)atoi(d->d_name);
            stop = tid > 0 && fn(tid, arg);
        }
    }
    close(fd);
    return err;
}

/* The name of thread tid of this process (its comm, without the newline)
 * into out (room > 0). Its length, or -errno (-ENOENT: it has ended). */
ssize_t plat_thread_name(pid_t tid, char *out, size_t room)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    ssize_t n = plat_read_file(path, out, room);
    if (n > 0)
        out[n = (ssize_t)strcspn(out, "\n")] = 0;
    return n;
}

/* The stack pointer of thread tid of this process while it is blocked in a
 * system call (/proc/self/task/TID/syscall), in *sp. 0; -EAGAIN if it is
 * running; -errno (-ENOENT: it has ended). */
int plat_thread_blocked_sp(pid_t tid, uintptr_t *sp)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    ssize_t n = plat_read_file(path, buf, sizeof buf);
    if (n <= 0)
        return n < 0 ? (int)n : -EAGAIN;
    /* "nr a1 a2 a3 a4 a5 a6 sp pc", or "running" */
    char *p = buf;
    for (int field = 0; field < 7; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EAGAIN;
        p++;
    }
    *sp = (uintptr_t)strtoull(p, NULL, 16);
    return 0;
}

/* Sends sig to thread tid of this process. 0, or -errno (-ESRCH: it has
 * ended). Async-signal-safe. */
int plat_tgkill(pid_t tid, int sig)
{
    return syscall(SYS_tgkill, getpid(), tid, sig) == 0 ? 0 : -errno;
}

/* Waits while *word is expected, for at most timeout_ns (0: no limit), or
 * until plat_futex_wake; may return early for no reason (callers loop on
 * their condition). 0 when woken; -EAGAIN if *word was not expected;
 * -ETIMEDOUT; -EINTR (a signal). Process-private; async-signal-safe. */
int plat_futex_wait(atomic_uint *word, unsigned expected, uint64_t timeout_ns)
{
    struct timespec ts = { (time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u) };
    if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_ns ? &ts : NULL, NULL, 0) == 0)
        return 0;
    return -errno;
}

/* Wakes up to waiters threads waiting on word. How many it woke, or -errno.
 * Async-signal-safe. */
int plat_futex_wake(atomic_uint *word, int waiters)
{
    long n = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, waiters, NULL, NULL, 0);
    return n < 0 ? -errno : (int)n;
}

/* Starts fn(NULL) on a detached thread named name (set before it runs, so
 * that /proc shows the name even then), on stack (stack_size bytes; NULL:
 * the default) and with every signal blocked, so that it never takes the
 * program's. 0, or -errno. */
int plat_thread_spawn(void *(*fn)(void *), void *stack, size_t stack_size, const char *name)
{
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack)
        pthread_attr_setstack(&attr, stack, stack_size);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&thread, &attr, fn, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!err)
        pthread_setname_np(thread, name);
    pthread_attr_destroy(&attr);
    return -err;
}

/* ----------------------------------------------------------- signals */

/* Handles sig with fn (SA_SIGINFO, SA_RESTART; with every other signal
 * blocked while it runs when block_all), but only if the program left sig
 * at its default. 0; -EBUSY if the program handles or ignores sig; -errno
 * (-EINVAL: not a signal one can handle). Not async-signal-safe. */
int plat_signal_claim(int sig, plat_signal_fn fn, int block_all)
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0)
        return -errno;
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
        return -EBUSY;
    struct sigaction sa = { .sa_sigaction = fn, .sa_flags = SA_SIGINFO | SA_RESTART };
    if (block_all)
        sigfillset(&sa.sa_mask);
    else
        sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL) == 0 ? 0 : -errno;
}

/* From a signal handler's context: the interrupted thread's stack pointer
 * and its general registers (PLAT_REGS of them). */
void plat_signal_context(const void *context, uintptr_t *sp, uint64_t regs[PLAT_REGS])
{
    const ucontext_t *uc = context;
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    memcpy(regs, uc->uc_mcontext.gregs, PLAT_REGS * sizeof *regs);
}

/* Claims (as plat_signal_claim) a real-time signal the program leaves at
 * its default, from the top down, past the highest two and the lowest five
 * (threading libraries and profilers take those). The signal, or -EBUSY if
 * every one is taken. */
int plat_signal_claim_unused(plat_signal_fn fn, int block_all)
{
    for (int sig = SIGRTMAX - 2; sig > SIGRTMIN + 4; sig--)
        if (plat_signal_claim(sig, fn, block_all) == 0)
            return sig;
    return -EBUSY;
}

/*
 * The platform layer of the preload: every Linux-specific call the rest of
 * libheapscope makes goes through here. Nothing here allocates through the
 * C library's malloc, and nothing writes to stdout.
 */
#include "internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

/* Every mapping plat_map made and plat_unmap has not undone, so that a heap
 * scan can leave the tracer's own memory out of the program's roots (it
 * holds every live block's address). The list lives in memory of its own,
 * listed in itself. */
static struct plat_lock own_lock;
static struct plat_range *own;
static size_t n_own, cap_own;

static int own_add(uintptr_t start, uintptr_t end)
{
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

void *plat_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

void plat_unmap(void *p, size_t size)
{
    if (!p)
        return;
    plat_lock(&own_lock);
    for (size_t i = 0; i < n_own; i++)
        if (own[i].start == (uintptr_t)p) {
            own[i] = own[--n_own];
            break;
        }
    munmap(p, size);
    plat_unlock(&own_lock);
}

size_t plat_own_mappings(struct plat_range *out, size_t max)
{
    plat_lock(&own_lock);
    size_t n = n_own < max ? n_own : max;
    memcpy(out, own, n * sizeof *out);
    size_t all = n_own;
    plat_unlock(&own_lock);
    return all;
}

void plat_own_lock(void) { plat_lock(&own_lock); }
void plat_own_unlock(void) { plat_unlock(&own_lock); }

pid_t plat_gettid(void) { return (pid_t)syscall(SYS_gettid); }

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t plat_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t plat_coarse_ns(void) { return clock_ns(CLOCK_MONOTONIC_COARSE); }
uint64_t plat_unix_now_ns(void) { return clock_ns(CLOCK_REALTIME); }

int plat_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

const char *plat_program_name(void)
{
    extern char *program_invocation_short_name;
    return program_invocation_short_name && *program_invocation_short_name
               ? program_invocation_short_name : "program";
}

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

static atomic_int spoke;

void plat_warn_once(const char *fmt, ...)
{
    if (atomic_exchange(&spoke, 1))
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "heapscope: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    int saved = errno;
    (void)!write(STDERR_FILENO, line, len);
    errno = saved;
}

void plat_warn_reset(void) { atomic_store(&spoke, 0); }

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

void plat_modules_foreach(void (*fn)(const struct plat_module *m, void *arg), void *arg)
{
    struct foreach_ctx c = { .fn = fn, .arg = arg };
    ssize_t n = readlink("/proc/self/exe", c.exe, sizeof c.exe - 1);
    c.exe[n > 0 ? n : 0] = 0;
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

int plat_module_path(const void *addr, const void **base, char *out, size_t room)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return -ENOENT;
    *base = info.dli_fbase;
    if (lm->l_name && lm->l_name[0]) {
        snprintf(out, room, "%s", lm->l_name);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", out, room - 1); /* the program's own map has no name */
    out[n > 0 ? n : 0] = 0;
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

uintptr_t plat_eh_frame_hdr(uintptr_t addr, size_t *size)
{
    struct eh_ctx c = { .addr = addr };
    dl_iterate_phdr(eh_cb, &c);
    *size = c.size;
    return c.hdr;
}

/*
 * Offline symbolization with elfutils libdw: for a recorded return address,
 * the function, the chain of inlined calls, and file:line of each, from the
 * module's DWARF (or its separate debuginfo found by build id or debuglink),
 * falling back to the ELF symbol table. Each module is opened on first use,
 * each address resolved once, each C++ symbol demangled once (with the C++
 * runtime's __cxa_demangle, the demangler of the compiler that made it). A
 * module whose file on disk has another build id than the traced one is not
 * trusted: its frames get only the module name.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The C++ ABI's demangler (libstdc++): a malloc'd name, or NULL with
 * *status nonzero when the input is not a mangled name. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct mod_state {
    const struct model_module *mod;
    Dwfl *dwfl;
    Dwfl_Module *dm;
    int tried, usable;
};

struct cache_entry {
    uint64_t addr;
    size_t first, n;
};

/* A symbol's printable name, and the symbol itself when that was mangled. */
struct sym_name {
    const char *plain, *mangled;
};

struct vt_entry {
    uint64_t addr;
    const char *name; /* NULL: not a vtable */
    int used;
};

struct symbolizer {
    const struct model *model;
    struct vt_entry *vt; /* vtable pointer -> class, cached */
    size_t vt_cap, vt_n;
    struct mod_state *mods;
    struct cache_entry *cache;
    size_t cache_cap, cache_n;
    struct sym_frame *frames;
    size_t n_frames, cap_frames;
    char **strings;
    size_t n_strings;
    struct strmap name_index; /* symbol -> its entry in names */
    struct sym_name *names;
    size_t n_names;
    char *warning; /* the first module not trusted, in words (sym_warning) */
};

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct symbolizer *sym_open(const struct model *m)
{
    struct symbolizer *s = xcalloc(1, sizeof *s);
    s->model = m;
    s->mods = xcalloc(m->n_modules ? m->n_modules : 1, sizeof *s->mods);
    for (size_t i = 0; i < m->n_modules; i++)
        s->mods[i].mod = &m->modules[i];
    s->cache_cap = 1024;
    s->cache = xcalloc(s->cache_cap, sizeof *s->cache);
    return s;
}

const char *sym_warning(const struct symbolizer *s) { return s->warning; }

void sym_close(struct symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->model->n_modules; i++)
        if (s->mods[i].dwfl)
            dwfl_end(s->mods[i].dwfl);
    for (size_t i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->strings);
    strmap_free(&s->name_index);
    free(s->names);
    free(s->mods);
    free(s->vt);
    free(s->cache);
    free(s->frames);
    free(s->warning);
    free(s);
}

static const char *keep(struct symbolizer *s, const char *str)
{
    if (!str)
        return NULL;
    s->strings = xrealloc(s->strings, (s->n_strings + 1) * sizeof *s->strings);
    return s->strings[s->n_strings++] = xstrdup(str);
}

static struct mod_state *open_module(struct symbolizer *s, uint64_t addr)
{
    const struct model_module *mod = model_module_at(s->model, addr);
    if (!mod)
        return NULL;
    struct mod_state *ms = &s->mods[mod - s->model->modules];
    if (ms->tried)
        return ms;
    ms->tried = 1;
    if (!(ms->dwfl = dwfl_begin(&callbacks)))
        return ms;
    dwfl_report_begin(ms->dwfl);
    ms->dm = dwfl_report_elf(ms->dwfl, mod->path, mod->path, -1, mod->bias, true);
    dwfl_report_end(ms->dwfl, NULL, NULL);
    if (!ms->dm)
        return ms;
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(ms->dm, &bits, &vaddr);
    if (mod->build_id_len && (len != (int)mod->build_id_len || memcmp(bits, mod->build_id, (size_t)len) != 0)) {
        if (!s->warning) {
            char w[4200];
            snprintf(w, sizeof w, "%s changed since the trace was made (build id differs); "
                                  "its frames are not symbolized", mod->path);
            s->warning = xstrdup(w);
        }
        return ms;
    }
    ms->usable = 1;
    return ms;
}

static void push_frame(struct symbolizer *s, const struct sym_frame *f)
{
    if (s->n_frames == s->cap_frames) {
        s->cap_frames = s->cap_frames ? s->cap_frames * 2 : 256;
        s->frames = xrealloc(s->frames, s->cap_frames * sizeof *s->frames);
    }
    s->frames[s->n_frames++] = *f;
}

/* A function's symbol: its linkage name (mangled, so qualified and with its
 * parameters, for C++) when it has one, else its plain name (C). */
static const char *die_symbol(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *name = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
        name = dwarf_formstring(&attr);
    if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
        name = dwarf_formstring(&attr);
    return name;
}

static char *demangle(const char *mangled)
{
    int status = -1;
    char *plain = __cxa_demangle(mangled, NULL, NULL, &status);
    if (status != 0) {
        free(plain);
        return NULL;
    }
    return plain;
}

/* A symbol's names, demangled once per symbol: every frame in a function
 * shares them. */
static struct sym_name name_of(struct symbolizer *s, const char *symbol)
{
    if (!symbol)
        return (struct sym_name){ NULL, NULL };
    size_t *slot = strmap_get(&s->name_index, symbol, 1);
    if (*slot == SIZE_MAX) {
        /* only _Z names: a C name such as "i" is a valid mangled type */
        char *plain = strncmp(symbol, "_Z", 2) == 0 ? demangle(symbol) : NULL;
        s->names = xrealloc(s->names, (s->n_names + 1) * sizeof *s->names);
        s->names[s->n_names] = plain ? (struct sym_name){ keep(s, plain), keep(s, symbol) }
                                     : (struct sym_name){ keep(s, symbol), NULL };
        free(plain);
        *slot = s->n_names++;
    }
    return s->names[*slot];
}

static void set_function(struct symbolizer *s, struct sym_frame *f, const char *symbol)
{
    struct sym_name n = name_of(s, symbol);
    f->function = n.plain;
    f->mangled = n.mangled;
}

static const char *call_file(Dwarf_Die *cu, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    Dwarf_Word idx;
    Dwarf_Files *files;
    size_t nfiles;
    if (!dwarf_attr(die, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &idx) != 0 ||
        dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles)
        return NULL;
    return dwarf_filesrc(files, idx, NULL, NULL);
}

static unsigned call_line(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    Dwarf_Word line;
    if (!dwarf_attr(die, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0)
        return 0;
    return (unsigned)line;
}

/* Appends the frames of one address: inlined calls innermost first, then
 * the function that holds them. */
static void resolve(struct symbolizer *s, uint64_t addr)
{
    struct sym_frame f = { .address = addr };
    struct mod_state *ms = open_module(s, addr);
    if (ms)
        f.module = ms->mod->path;
    if (!ms || !ms->usable) {
        push_frame(s, &f);
        return;
    }
    Dwarf_Addr pc = addr - 1; /* a return address: look up the call */
    Dwfl_Line *line = dwfl_module_getsrc(ms->dm, pc);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    f.file = keep(s, file);
    f.line = lineno > 0 ? (unsigned)lineno : 0;

    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(ms->dm, pc, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
    if (n > 0) {
        /* dwarf_getscopes follows an inlined scope into its abstract
         * definition; the chain of callers is in the concrete tree */
        Dwarf_Die innermost = scopes[0], *chain = NULL;
        free(scopes);
        n = dwarf_getscopes_die(&innermost, &chain);
        scopes = chain;
    }
    size_t before = s->n_frames;
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        set_function(s, &f, die_symbol(&scopes[i]));
        f.inlined = tag == DW_TAG_inlined_subroutine;
        push_frame(s, &f);
        if (tag == DW_TAG_subprogram)
            break;
        /* the caller of an inlined call is at its call site */
        f.file = keep(s, call_file(cu, &scopes[i]));
        f.line = call_line(&scopes[i]);
    }
    free(scopes);
    if (s->n_frames == before) { /* no DWARF scope: the symbol table */
        set_function(s, &f, dwfl_module_addrname(ms->dm, pc));
        f.inlined = 0;
        push_frame(s, &f);
    }
}

static size_t slot_of(const struct symbolizer *s, uint64_t addr)
{
    size_t j = (size_t)(addr * 0x9e3779b97f4a7c15ull >> 20) & (s->cache_cap - 1);
    while (s->cache[j].n && s->cache[j].addr != addr)
        j = (j + 1) & (s->cache_cap - 1);
    return j;
}

size_t sym_resolve(struct symbolizer *s, uint64_t addr, const struct sym_frame **out)
{
    size_t j = slot_of(s, addr);
    if (!s->cache[j].n) {
        if ((s->cache_n + 1) * 2 > s->cache_cap) {
            struct cache_entry *old = s->cache;
            size_t old_cap = s->cache_cap;
            s->cache_cap *= 2;
            s->cache = xcalloc(s->cache_cap, sizeof *s->cache);
            for (size_t i = 0; i < old_cap; i++)
                if (old[i].n)
                    s->cache[slot_of(s, old[i].addr)] = old[i];
            free(old);
            j = slot_of(s, addr);
        }
        size_t first = s->n_frames;
        resolve(s, addr);
        s->cache[j] = (struct cache_entry){ addr, first, s->n_frames - first };
        s->cache_n++;
    }
    *out = &s->frames[s->cache[j].first];
    return s->cache[j].n;
}

int sym_allocator_wrapper(const char *module)
{
    return module && strstr(module, "libheapscope-refcount");
}

size_t sym_site(struct symbolizer *s, const struct model *m, uint32_t stack_id, const struct sym_frame **frames)
{
    const struct model_stack *st = model_stack(m, stack_id);
    for (uint32_t i = 0; st && i < st->n; i++) {
        size_t n = sym_resolve(s, st->frames[i], frames);
        if (!sym_allocator_wrapper((*frames)[0].module) || i + 1 == st->n)
            return n;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Not the program's own code: the system's libraries, the loader (wherever
 * it is installed), heapscope's own libraries (the preload and the refcount
 * shim), and an address in no known module. */
static int system_module(const char *path)
{
    static const char *const dirs[] = { "/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/" };
    if (!path)
        return 1;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (strncmp(path, dirs[i], strlen(dirs[i])) == 0)
            return 1;
    const char *base = base_name(path);
    return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 ||
           strncmp(base, "libheapscope", 12) == 0;
}

/* A glibc function's public name: its debug info and symbols also name it
 * __GI___strdup (internal alias), __libc_malloc, __rtld_malloc (ld.so). */
static const char *glibc_public_name(const char *fn)
{
    static const char *const prefixes[] = { "GI_", "libc_", "rtld_" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0];) {
        while (*fn == '_')
            fn++;
        if (strncmp(fn, prefixes[i], strlen(prefixes[i])) == 0) {
            fn += strlen(prefixes[i]);
            i = 0;
        } else {
            i++;
        }
    }
    return fn;
}

/* The allocator's entry points, every allocation's first frames, which say
 * nothing about who allocated: the C functions (ld.so's inline wrappers in
 * rtld-malloc.h are named malloc, calloc, ...), the C library's allocating
 * string copies, and C++'s operator new. */
static int allocator_frame(const struct sym_frame *f)
{
    static const char *const names[] = { "malloc", "calloc", "realloc", "reallocarray", "free",
                                         "posix_memalign", "aligned_alloc", "memalign", "valloc",
                                         "pvalloc", "strdup", "strndup" };
    if (sym_allocator_wrapper(f->module))
        return 1;
    if (!f->function)
        return 0;
    if (strncmp(f->function, "operator new", 12) == 0 || strncmp(f->function, "operator delete", 15) == 0)
        return 1;
    const char *fn = glibc_public_name(f->function);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(fn, names[i]) == 0)
            return 1;
    return 0;
}

int sym_user_location(struct symbolizer *s, const struct model *m, uint32_t stack_id, struct sym_location *loc)
{
    const struct model_stack *st = model_stack(m, stack_id);
    /* the program's own code; else past the allocator; else the first frame */
    for (int pass = 0; pass < 3; pass++)
        for (uint32_t i = 0; st && i < st->n; i++) {
            const struct sym_frame *f;
            size_t n = sym_resolve(s, st->frames[i], &f);
            for (size_t k = 0; k < n; k++) {
                if (pass == 0 ? system_module(f[k].module) : pass == 1 && allocator_frame(&f[k]))
                    continue;
                const struct model_module *mod = model_module_at(m, f[k].address);
                loc->frame = f[k];
                loc->offset = f[k].address - (mod ? mod->bias : 0);
                return 1;
            }
        }
    return 0;
}

const char *sym_location_text(const struct sym_location *loc, int full_path, char *buf, size_t room)
{
    const struct sym_frame *f = &loc->frame;
    if (f->file && f->line)
        snprintf(buf, room, "%s:%u", full_path ? f->file : base_name(f->file), f->line);
    else if (f->module)
        snprintf(buf, room, "%s+0x%llx%s%s%s", base_name(f->module), (unsigned long long)loc->offset,
                 f->function ? " (" : "", f->function ? f->function : "", f->function ? ")" : "");
    else
        snprintf(buf, room, "0x%llx", (unsigned long long)f->address);
    return buf;
}

/* The ELF symbol holding addr, as the symbol table spells it. */
static const char *data_symbol(struct symbolizer *s, uint64_t addr, uint64_t *offset)
{
    struct mod_state *ms = open_module(s, addr);
    *offset = 0;
    if (!ms || !ms->dm)
        return NULL;
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(ms->dm, addr, &off, &sym, NULL, NULL, NULL);
    if (!name)
        return NULL;
    *offset = off;
    return name;
}

const char *sym_data(struct symbolizer *s, uint64_t addr, uint64_t *offset, const char **mangled)
{
    struct sym_name n = name_of(s, data_symbol(s, addr, offset));
    if (mangled)
        *mangled = n.mangled;
    return n.plain;
}

static const char *vtable_class(struct symbolizer *s, uint64_t addr)
{
    uint64_t off;
    const char *name = data_symbol(s, addr, &off);
    if (!name || strncmp(name, "_ZTV", 4) != 0)
        return NULL;
    char *plain = demangle(name + 4); /* the class is the mangled <type> after _ZTV */
    const char *kept = keep(s, plain ? plain : name);
    free(plain);
    return kept;
}

static struct vt_entry *vt_slot(struct vt_entry *t, size_t cap, uint64_t addr)
{
    size_t j = (size_t)(addr * 0x9e3779b97f4a7c15ull >> 17) & (cap - 1);
    while (t[j].used && t[j].addr != addr)
        j = (j + 1) & (cap - 1);
    return &t[j];
}

const char *sym_vtable_class(struct symbolizer *s, uint64_t addr)
{
    if ((s->vt_n + 1) * 2 > s->vt_cap) {
        size_t cap = s->vt_cap ? s->vt_cap * 2 : 256;
        struct vt_entry *t = xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < s->vt_cap; i++)
            if (s->vt[i].used)
                *vt_slot(t, cap, s->vt[i].addr) = s->vt[i];
        free(s->vt);
        s->vt = t;
        s->vt_cap = cap;
    }
    struct vt_entry *e = vt_slot(s->vt, s->vt_cap, addr);
    if (!e->used) {
        *e = (struct vt_entry){ addr, vtable_class(s, addr), 1 };
        s->vt_n++;
    }
    return e->name;
}

const char *sym_block_type(struct symbolizer *s, const struct model *m, size_t block)
{
    const struct model_block *b = &m->blocks[block];
    const char *t = model_type(m, b->type_id);
    if (t || !b->word0)
        return t;
    return sym_vtable_class(s, b->word0);
}

/*
 * Offline symbolization with elfutils libdw: for a recorded return address,
 * the function, the chain of inlined calls, and file:line of each, from the
 * module's DWARF (or its separate debuginfo found by build id or debuglink),
 * falling back to the ELF symbol table. Each module is opened on first use,
 * each address resolved once, each C++ symbol demangled once (with the C++
 * runtime's __cxa_demangle, the demangler of the compiler that made it). A
 * module whose file on disk has another build id than the traced one is not
 * trusted: its frames get only the module name.
 *
 * libdw looks an address up in the symbol table by reading every symbol
 * (dwfl_module_addrinfo), which on a big program (node: 180,000 symbols) costs
 * seconds per thousand addresses. So each module's table is read once, sorted
 * by address, and searched by bisection, with libdw's own rules for which
 * symbol holds an address (symtab_lookup): the names must stay the ones libdw
 * gives, which the tests compare.
 */
#include "symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The C++ ABI's demangler (libstdc++): a malloc'd name, or NULL with
 * *status nonzero when the input is not a mangled name. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* A symbol an address lookup may return: named, defined, not a section,
 * file or TLS symbol (libdw's filter). Small, as a big program has hundreds
 * of thousands: the rest is libdw's (symtab_entry) for the few compared. */
struct elf_sym {
    uint64_t value;   /* its address in the traced process */
    uint64_t size;    /* 0: a label (handwritten assembly) */
    uint64_t end_max; /* the farthest end of it and the symbols before it */
    uint32_t index;   /* in libdw's table, where locals come before globals */
};

/* One part of a module's symbol table, sorted by value, then index. */
struct sym_part {
    struct elf_sym *syms;
    size_t n;
};

/* libdw scans the global symbols, and the locals only when no global holds
 * the address; labels (size 0) are its last resort. */
enum { PART_GLOBAL_SIZED, PART_GLOBAL_LABELS, PART_LOCAL_SIZED, PART_LOCAL_LABELS, N_PARTS };

struct mod_state {
    const struct model_module *mod;
    Dwfl *dwfl;
    Dwfl_Module *dm;
    int tried, usable;
    int symtab_read;
    struct sym_part parts[N_PARTS];
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
    const struct elf_sym **holders; /* symtab_lookup's scratch */
    size_t cap_holders;
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
    for (size_t i = 0; i < s->model->n_modules; i++) {
        if (s->mods[i].dwfl)
            dwfl_end(s->mods[i].dwfl);
        for (int p = 0; p < N_PARTS; p++)
            free(s->mods[i].parts[p].syms);
    }
    free(s->holders);
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

Dwfl *sym_dwfl_open(const char *path, uint64_t bias, Dwfl_Module **module)
{
    Dwfl *dwfl = dwfl_begin(&callbacks);
    *module = NULL;
    if (!dwfl)
        return NULL;
    dwfl_report_begin(dwfl);
    *module = dwfl_report_elf(dwfl, path, path, -1, bias, true);
    dwfl_report_end(dwfl, NULL, NULL);
    return dwfl;
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
    if (!(ms->dwfl = sym_dwfl_open(mod->path, mod->bias, &ms->dm)) || !ms->dm)
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

/* libdw's order of preference among bindings (binding_value). */
static int binding_value(unsigned bind)
{
    switch (bind) {
    case STB_GLOBAL:
        return 3;
    case STB_WEAK:
        return 2;
    case STB_LOCAL:
        return 1;
    default:
        return 0;
    }
}

static int by_value_then_index(const void *a, const void *b)
{
    const struct elf_sym *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* A symbol's name, and its binding and section index when asked. */
static const char *symtab_entry(const struct mod_state *ms, const struct elf_sym *e, int *binding, GElf_Word *shndx)
{
    GElf_Sym sym;
    GElf_Addr value;
    GElf_Word ndx;
    const char *name = dwfl_module_getsym_info(ms->dm, (int)e->index, &sym, &value, &ndx, NULL, NULL);
    if (binding)
        *binding = binding_value(GELF_ST_BIND(sym.st_info));
    if (shndx)
        *shndx = ndx;
    return name;
}

/* Reads the module's symbol table into its parts, once: the symbols libdw
 * would read (dwfl_module_getsym_info: its symtab, else its dynsym, with the
 * debuginfo's and the MiniDebugInfo's), with the values it compares. */
static void symtab_read(struct mod_state *ms)
{
    ms->symtab_read = 1;
    int n = ms->dm ? dwfl_module_getsymtab(ms->dm) : -1;
    int first_global = n > 0 ? dwfl_module_getsymtab_first_global(ms->dm) : -1;
    if (first_global < 0)
        return;
    size_t cap[N_PARTS] = { 0 };
    for (int i = 1; i < n; i++) { /* 0 is the null symbol */
        GElf_Sym sym;
        GElf_Addr value;
        const char *name = dwfl_module_getsym_info(ms->dm, i, &sym, &value, NULL, NULL, NULL);
        if (!name || !name[0] || sym.st_shndx == SHN_UNDEF)
            continue;
        int type = GELF_ST_TYPE(sym.st_info), local = i < first_global;
        if (type == STT_SECTION || type == STT_FILE || type == STT_TLS)
            continue;
        int part = local ? PART_LOCAL_SIZED : PART_GLOBAL_SIZED;
        struct sym_part *p = &ms->parts[part + (sym.st_size == 0)];
        if (p->n == cap[p - ms->parts]) {
            cap[p - ms->parts] = p->n ? p->n * 2 : 64;
            p->syms = xrealloc(p->syms, cap[p - ms->parts] * sizeof *p->syms);
        }
        p->syms[p->n++] = (struct elf_sym){ .value = value, .size = sym.st_size, .index = (uint32_t)i };
    }
    for (int part = 0; part < N_PARTS; part++) {
        struct sym_part *p = &ms->parts[part];
        if (!p->n)
            continue;
        qsort(p->syms, p->n, sizeof *p->syms, by_value_then_index);
        for (size_t k = 0; k < p->n; k++) {
            uint64_t end = p->syms[k].value + p->syms[k].size;
            p->syms[k].end_max = k && p->syms[k - 1].end_max > end ? p->syms[k - 1].end_max : end;
        }
    }
}

/* How many symbols of a part start at or below addr. */
static size_t part_upto(const struct sym_part *p, uint64_t addr)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->syms[mid].value <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* libdw's choice among the sized symbols of a part that hold addr, taken in
 * the order it meets them: a nearer start, or a stronger binding even for a
 * farther one; for the same start and binding, the smaller. */
static const struct elf_sym *part_holder(struct symbolizer *s, const struct mod_state *ms, const struct sym_part *p,
                                         uint64_t addr)
{
    size_t n = 0;
    for (size_t k = part_upto(p, addr); k-- > 0 && p->syms[k].end_max > addr;) {
        if (addr - p->syms[k].value >= p->syms[k].size)
            continue;
        if (n == s->cap_holders) {
            s->cap_holders = n ? n * 2 : 16;
            s->holders = xrealloc(s->holders, s->cap_holders * sizeof *s->holders);
        }
        size_t at = n++; /* kept in libdw's order: there are a few */
        for (; at > 0 && s->holders[at - 1]->index > p->syms[k].index; at--)
            s->holders[at] = s->holders[at - 1];
        s->holders[at] = &p->syms[k];
    }
    const struct elf_sym *best = NULL;
    int best_binding = 0;
    for (size_t i = 0; i < n; i++) {
        const struct elf_sym *h = s->holders[i];
        int binding;
        symtab_entry(ms, h, &binding, NULL);
        if (!best || best->value < h->value || best_binding < binding ||
            (best->value == h->value && best_binding == binding && best->size > h->size)) {
            best = h;
            best_binding = binding;
        }
    }
    return best;
}

/* Whether libdw takes a label for one in addr's section. */
static int same_section(const struct mod_state *ms, const struct elf_sym *label, uint64_t addr)
{
    GElf_Word shndx;
    symtab_entry(ms, label, NULL, &shndx);
    if (shndx >= SHN_LORESERVE) /* absolute and the like: only exactly */
        return label->value == addr;
    Dwarf_Addr a = addr, v = label->value, bias;
    return dwfl_module_address_section(ms->dm, &a, &bias) == dwfl_module_address_section(ms->dm, &v, &bias);
}

/* libdw's last resort when no sized symbol holds addr, among the globals or
 * also the locals: the highest label at or below addr, unless a sized symbol
 * ends beyond it; of several there, the last it meets in addr's section. */
static const struct elf_sym *label_at(struct mod_state *ms, uint64_t addr, int with_locals)
{
    uint64_t end = 0, top = 0;
    int found = 0;
    for (int l = 0; l <= with_locals; l++) {
        const struct sym_part *sized = &ms->parts[l ? PART_LOCAL_SIZED : PART_GLOBAL_SIZED];
        const struct sym_part *labels = &ms->parts[l ? PART_LOCAL_LABELS : PART_GLOBAL_LABELS];
        size_t k = part_upto(sized, addr);
        if (k && sized->syms[k - 1].end_max > end)
            end = sized->syms[k - 1].end_max;
        k = part_upto(labels, addr);
        if (k && (!found || labels->syms[k - 1].value > top))
            top = labels->syms[k - 1].value;
        found |= k > 0;
    }
    if (!found || top < end)
        return NULL;
    for (int l = with_locals; l >= 0; l--) {
        const struct sym_part *labels = &ms->parts[l ? PART_LOCAL_LABELS : PART_GLOBAL_LABELS];
        for (size_t k = part_upto(labels, addr); k-- > 0 && labels->syms[k].value == top;)
            if (same_section(ms, &labels->syms[k], addr))
                return &labels->syms[k];
    }
    return NULL;
}

/* The ELF symbol holding addr, as dwfl_module_addrinfo picks it (libdw's
 * dwfl_module_addrsym.c, for targets without function descriptors: all but
 * ppc64's ELFv1), with its offset in it; NULL if none. */
static const char *symtab_lookup(struct symbolizer *s, struct mod_state *ms, uint64_t addr, uint64_t *offset)
{
    if (!ms->symtab_read)
        symtab_read(ms);
    const struct elf_sym *found = part_holder(s, ms, &ms->parts[PART_GLOBAL_SIZED], addr);
    if (!found) {
        found = label_at(ms, addr, 0);
        if (!found || found->value != addr) { /* a global label right at addr ends the search */
            const struct elf_sym *local = part_holder(s, ms, &ms->parts[PART_LOCAL_SIZED], addr);
            found = local ? local : label_at(ms, addr, 1);
        }
    }
    *offset = found ? addr - found->value : 0;
    return found ? symtab_entry(ms, found, NULL, NULL) : NULL;
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

static int has_inlined(Dwarf_Die *scopes, int n)
{
    for (int i = 0; i < n; i++)
        if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
            return 1;
    return 0;
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
    /* libdw answers with the nearest unit below pc, which may not hold it
     * (node: a libuv unit for every address in V8); reading that unit's
     * whole tree would find nothing. A unit without ranges is read. */
    int n = cu && dwarf_haspc(cu, pc - bias) != 0 ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
    if (n > 0 && has_inlined(scopes, n)) {
        /* dwarf_getscopes follows an inlined scope into its abstract
         * definition; the chain of callers is in the concrete tree. With
         * no inlined scope, its answer is that chain already. */
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
        uint64_t offset;
        set_function(s, &f, symtab_lookup(s, ms, pc, &offset));
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
    return symtab_lookup(s, ms, addr, offset);
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

/* Helpers shared by the commands (cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "util.h"

const char *const out_format_names[] = { "text", "json", NULL };

/* A damaged trace's warning waits: if an error follows, the two are one line;
 * if not, it is printed when the command ends. */
static char pending_warning[700];

static void print_pending_warning(void)
{
    if (pending_warning[0])
        fprintf(stderr, "heapscope: warning: %s\n", pending_warning);
    pending_warning[0] = 0;
}

void cli_forget_warning(void) { pending_warning[0] = 0; }

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("heapscope: ", stderr);
    if (pending_warning[0]) {
        fprintf(stderr, "%s; then: ", pending_warning);
        pending_warning[0] = 0;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_TRACE_ERROR;
}

void cli_progress(const char *path, int percent)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (percent < 0)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\rheapscope: reading %s %d%%", path, percent);
}

void cli_sym_close(struct symbolizer *s)
{
    static int said; /* once: every symbolizer of a run would say the same */
    if (s && sym_warning(s) && !said++)
        fprintf(stderr, "heapscope: %s\n", sym_warning(s));
    sym_close(s);
}

void cli_model_warning(const struct model *m)
{
    if (m->warning)
        fprintf(stderr, "heapscope: warning: %s\n", m->warning);
}

int cli_load(struct model *m, const char *path, const struct model_load_options *o)
{
    char err[640];
    struct model_load_options lo = *o;
    lo.progress = cli_progress;
    if (model_load(m, path, &lo, err, sizeof err) != 0) {
        cli_error("%s", err);
        return -1;
    }
    cli_model_warning(m);
    if (m->damage) {
        static int registered;
        if (!registered++)
            atexit(print_pending_warning);
        snprintf(pending_warning, sizeof pending_warning, "%s: %s; read up to there", path, m->damage);
    }
    return 0;
}

int cli_load_graph(struct model *m, struct graph *g, const char *path, const struct common_opts *o,
                   int keep_rc_events)
{
    struct model_load_options lo = { .snapshot = o->snapshot, .keep_rc_events = keep_rc_events };
    if (cli_load(m, path, &lo) != 0)
        return -1;
    if (!m->snapshot || !m->snapshot->scanned) {
        if (m->snapshot)
            cli_error("%s: snapshot %s has no heap graph (traced with HEAPSCOPE_SCAN=0?)", path, m->snapshot->name);
        else
            cli_error("%s: the trace has no complete snapshot", path);
        model_free(m);
        return -1;
    }
    graph_build(g, m, o->heuristics);
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

void stack_print_text(FILE *f, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                      const char *indent)
{
    const struct model_stack *st = model_stack(m, stack_id);
    if (!st) {
        fprintf(f, "%s(no stack recorded)\n", indent);
        return;
    }
    int first = 1;
    for (uint32_t i = 0; i < st->n; i++) {
        const struct sym_frame *fr;
        size_t n = sym_resolve(s, st->frames[i], &fr);
        for (size_t k = 0; k < n; k++, first = 0) {
            fprintf(f, "%s%s 0x%llx: %s", indent, first ? "at" : "by",
                    (unsigned long long)fr[k].address, fr[k].function ? fr[k].function : "???");
            if (fr[k].file)
                fprintf(f, " (%s:%u)", base_name(fr[k].file), fr[k].line);
            else if (fr[k].module)
                fprintf(f, " (in %s)", fr[k].module);
            fputs(fr[k].inlined ? " [inlined]\n" : "\n", f);
        }
    }
}

void stack_print_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m,
                      uint32_t stack_id)
{
    json_array(j, key);
    const struct model_stack *st = model_stack(m, stack_id);
    for (uint32_t i = 0; st && i < st->n; i++) {
        const struct sym_frame *fr;
        size_t n = sym_resolve(s, st->frames[i], &fr);
        for (size_t k = 0; k < n; k++) {
            json_object(j, NULL);
            json_hex(j, "address", fr[k].address);
            json_str(j, "function", fr[k].function);
            if (fr[k].mangled)
                json_str(j, "mangled", fr[k].mangled);
            json_str(j, "file", fr[k].file);
            if (fr[k].line)
                json_u64(j, "line", fr[k].line);
            else
                json_null(j, "line");
            json_str(j, "module", fr[k].module);
            json_bool(j, "inlined", fr[k].inlined);
            json_object_end(j);
        }
    }
    json_array_end(j);
}

void block_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, size_t block)
{
    const struct model_block *b = &m->blocks[block];
    json_object(j, key);
    json_hex(j, "address", b->addr);
    json_u64(j, "size", b->size);
    json_str(j, "type", sym_block_type(s, m, block));
    stack_print_json(j, "stack", s, m, b->stack_id);
    json_object_end(j);
}

static const char *const register_names[] = {
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
    "rdx", "rax", "rcx", "rsp", "rip", "eflags", "csgsfs", "err", "trapno", "oldmask", "cr2",
};

static const char *root_kind_name(uint32_t kind)
{
    static const char *const names[FMT_ROOT_KIND_COUNT] = { "global", "stack", "register", "tls", "mapping" };
    return kind < FMT_ROOT_KIND_COUNT ? names[kind] : "?";
}

/* What a root pointer at off names: a global's symbol (and its mangled
 * name, if it had one), or a register. */
static const char *root_symbol(struct symbolizer *s, const struct model_root *r, uint64_t off, uint64_t *sym_off,
                               const char **mangled)
{
    *sym_off = 0;
    *mangled = NULL;
    if (r->kind == FMT_ROOT_GLOBAL)
        return sym_data(s, r->start + off, sym_off, mangled);
    if (r->kind == FMT_ROOT_REGISTERS)
        return off / 8 < sizeof register_names / sizeof register_names[0] ? register_names[off / 8] : NULL;
    return NULL;
}

void root_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, uint32_t root,
               uint64_t off)
{
    const struct model_root *r = &m->roots[root];
    uint64_t sym_off;
    const char *mangled;
    const char *sym = root_symbol(s, r, off, &sym_off, &mangled);
    const struct model_module *mod = r->kind == FMT_ROOT_GLOBAL ? model_module_at(m, r->start) : NULL;
    json_object(j, key);
    json_str(j, "kind", root_kind_name(r->kind));
    json_str(j, "symbol", sym);
    if (mangled)
        json_str(j, "mangled", mangled);
    if (sym && r->kind == FMT_ROOT_GLOBAL)
        json_u64(j, "symbol_offset", sym_off);
    json_str(j, "module", mod ? mod->path : NULL);
    if (r->kind != FMT_ROOT_GLOBAL && r->kind != FMT_ROOT_MAPPING)
        json_u64(j, "tid", r->tid);
    if (r->kind != FMT_ROOT_REGISTERS)
        json_hex(j, "address", r->start + off);
    json_object_end(j);
}

uint64_t root_offset(struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off)
{
    uint64_t sym_off;
    const char *mangled;
    const struct model_root *r = &m->roots[root];
    return r->kind == FMT_ROOT_GLOBAL && root_symbol(s, r, off, &sym_off, &mangled) ? sym_off : off;
}

void root_text(char *buf, size_t room, struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off)
{
    const struct model_root *r = &m->roots[root];
    uint64_t sym_off;
    const char *mangled;
    const char *sym = root_symbol(s, r, off, &sym_off, &mangled);
    const struct model_module *mod = model_module_at(m, r->start);
    switch (r->kind) {
    case FMT_ROOT_GLOBAL:
        if (sym && sym_off)
            snprintf(buf, room, "global %s+%llu in %s", sym, (unsigned long long)sym_off, mod ? mod->path : "?");
        else if (sym)
            snprintf(buf, room, "global %s in %s", sym, mod ? mod->path : "?");
        else
            snprintf(buf, room, "global data at 0x%llx in %s", (unsigned long long)(r->start + off),
                     mod ? mod->path : "?");
        break;
    case FMT_ROOT_REGISTERS:
        snprintf(buf, room, "register %s of thread %llu", sym ? sym : "?", (unsigned long long)r->tid);
        break;
    case FMT_ROOT_MAPPING:
        snprintf(buf, room, "mapped memory at 0x%llx", (unsigned long long)(r->start + off));
        break;
    default:
        snprintf(buf, room, "%s of thread %llu at 0x%llx", r->kind == FMT_ROOT_STACK ? "stack" : "TLS",
                 (unsigned long long)r->tid, (unsigned long long)(r->start + off));
    }
}

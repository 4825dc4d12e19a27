/* Helpers shared by the commands (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "options_names.h"
#include "util.h"

int cli_common_option(int c, const char *arg, struct common_opts *o)
{
    if (c == 'F') {
        if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0) {
            cli_error("--format takes text or json, not '%s'", arg);
            return -1;
        }
        o->format = arg[0] == 'j' ? OUT_JSON : OUT_TEXT;
        return 1;
    }
    if (c == 'S') {
        o->snapshot = arg;
        return 1;
    }
    if (c == 'H') {
        if (heuristics_parse(arg, &o->heuristics) != 0) {
            cli_error("--heuristics takes all, none or a list of stdstring,length64,newarray,"
                      "multipleinheritance,dtv; not '%s'", arg);
            return -1;
        }
        return 1;
    }
    return 0;
}

const char *cli_parse(int argc, char **argv, const char *usage, const struct cli_option *own, struct common_opts *o,
                      int *status)
{
    struct option longopts[32] = { COMMON_LONG_OPTIONS };
    char shorts[64] = "h";
    size_t n = COMMON_LONG_OPTIONS_COUNT, k = 0;
    for (; own && own[k].name && n < 31; k++, n++) {
        longopts[n] = (struct option){ own[k].name, own[k].value ? required_argument : no_argument, NULL,
                                       own[k].letter ? own[k].letter : 256 + (int)k };
        if (own[k].letter && strlen(shorts) < sizeof shorts - 3) {
            size_t l = strlen(shorts);
            shorts[l] = own[k].letter;
            shorts[l + 1] = own[k].value ? ':' : 0;
            shorts[l + 2] = 0;
        }
    }
    longopts[n] = (struct option){ 0 };
    *o = (struct common_opts)COMMON_OPTS_INIT;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: %s\n", usage);
            *status = 0;
            return NULL;
        }
        int r = cli_common_option(c, optarg, o), found = r == 1;
        if (r == -1) {
            *status = EXIT_TRACE_ERROR;
            return NULL;
        }
        for (size_t i = 0; !found && i < k; i++)
            if (c == (own[i].letter ? own[i].letter : 256 + (int)i)) {
                if (own[i].value)
                    *own[i].value = optarg;
                else
                    *own[i].flag = 1;
                found = 1;
            }
        if (!found) {
            *status = cli_error("usage: %s", usage);
            return NULL;
        }
    }
    if (optind != argc - 1) {
        *status = cli_error("usage: %s", usage);
        return NULL;
    }
    return argv[optind];
}

int cli_number(const char *name, const char *s, unsigned long def, unsigned long *out)
{
    if (!s) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || *s == '-') {
        cli_error("--%s takes a whole number, not '%s'", name, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_address(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno) {
        cli_error("--addr takes an address like 0x55d0c0ffee10, not '%s'", s);
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_parse_reader(int argc, char **argv, const char *usage, struct common_opts *o, int *status)
{
    return cli_parse(argc, argv, usage, NULL, o, status);
}

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

int cli_load(struct model *m, const char *path, const char *snapshot)
{
    char err[640];
    if (model_load(m, path, snapshot, err, sizeof err) != 0) {
        cli_error("%s", err);
        return -1;
    }
    if (m->damage) {
        static int registered;
        if (!registered++)
            atexit(print_pending_warning);
        snprintf(pending_warning, sizeof pending_warning, "%s: %s; read up to there", path, m->damage);
    }
    return 0;
}

int cli_load_graph(struct model *m, struct graph *g, const char *path, const struct common_opts *o)
{
    if (cli_load(m, path, o->snapshot) != 0)
        return -1;
    if (!m->snapshot || !m->snapshot->scanned) {
        if (m->snapshot)
            cli_error("%s: snapshot %s has no heap graph (traced with " HS_ENV_SCAN "=0?)", path, m->snapshot->name);
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

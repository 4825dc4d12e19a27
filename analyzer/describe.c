/* Stacks, blocks and roots in words and in JSON (describe.h). */
#include "describe.h"

#include "frames.h"
#include "graph.h"
#include "profile.h"

void stack_print_text(FILE *f, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                      const char *indent)
{
    struct frames fs = { 0 };
    if (!frames_of_stack(&fs, s, m, stack_id) && !model_stack(m, stack_id))
        fprintf(f, "%s%s\n", indent, NO_STACK_TEXT);
    for (size_t k = 0; k < fs.n; k++) {
        const struct sym_frame *fr = &fs.f[k];
        fprintf(f, "%s%s 0x%llx: %s", indent, k == 0 ? "at" : "by", (unsigned long long)fr->address,
                frame_function(fr));
        if (fr->file)
            fprintf(f, " (%s:%u)", base_name(fr->file), fr->line);
        else if (fr->module)
            fprintf(f, " (in %s)", fr->module);
        fputs(fr->inlined ? " [inlined]\n" : "\n", f);
    }
    frames_free(&fs);
}

void stack_print_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m,
                      uint32_t stack_id)
{
    struct frames fs = { 0 };
    frames_of_stack(&fs, s, m, stack_id);
    json_array(j, key);
    for (size_t k = 0; k < fs.n; k++) {
        const struct sym_frame *fr = &fs.f[k];
        json_object(j, NULL);
        json_hex(j, "address", fr->address);
        json_str(j, "function", fr->function);
        if (fr->mangled)
            json_str(j, "mangled", fr->mangled);
        json_str(j, "file", fr->file);
        if (fr->line)
            json_u64(j, "line", fr->line);
        else
            json_null(j, "line");
        json_str(j, "module", fr->module);
        json_bool(j, "inlined", fr->inlined);
        json_object_end(j);
    }
    json_array_end(j);
    frames_free(&fs);
}

void block_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, size_t block)
{
    const struct model_block *b = &m->blocks[block];
    json_object(j, key);
    json_hex(j, "address", b->addr);
    json_u64(j, "size", b->size);
    json_str(j, "type", sym_block_type(s, m, block));
    if (graph_py_refcount(m, block) >= 0) { /* a CPython object: where it starts (its id()), its count */
        json_hex(j, "object", b->addr + graph_object_start(m, block));
        json_i64(j, "refcount", graph_py_refcount(m, block));
    }
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

void referrer_json(struct json *j, struct symbolizer *s, const struct model *m, const struct model_edge *e,
                   int block_whole)
{
    json_object(j, NULL);
    if (e->src_is_root) {
        json_hex(j, "address", m->roots[e->src].start + e->src_off);
        json_u64(j, "offset", e->src_off);
        json_null(j, "block");
        root_json(j, "root", s, m, e->src, e->src_off);
    } else {
        json_hex(j, "address", m->blocks[e->src].addr + e->src_off);
        json_u64(j, "offset", e->src_off);
        if (block_whole)
            block_json(j, "block", s, m, e->src);
        else
            json_hex(j, "block", m->blocks[e->src].addr);
        json_null(j, "root");
    }
    json_u64(j, "target_offset", e->dst_off);
    json_object_end(j);
}

void amount_json(struct json *j, const char *key, uint64_t bytes, uint64_t blocks)
{
    json_object(j, key);
    json_u64(j, "bytes", bytes);
    json_u64(j, "blocks", blocks);
    json_object_end(j);
}

void sizes_lifetimes_json(struct json *j, const struct model *m)
{
    json_array(j, "sizes");
    for (unsigned k = 0; k < 65; k++) {
        if (!m->sizes[k].count)
            continue;
        uint64_t lo, hi;
        profile_size_range(k, &lo, &hi);
        json_object(j, NULL);
        json_u64(j, "min", lo);
        json_u64(j, "max", hi);
        json_u64(j, "count", m->sizes[k].count);
        json_u64(j, "bytes", m->sizes[k].bytes);
        json_object_end(j);
    }
    json_array_end(j);
    if (m->has_lifetimes) {
        json_object(j, "lifetimes");
        for (unsigned a = 0; a < FMT_AGE_COUNT; a++)
            amount_json(j, profile_age_name(a), m->lifetimes[a].bytes, m->lifetimes[a].count);
        json_object_end(j);
    } else {
        json_null(j, "lifetimes");
    }
}

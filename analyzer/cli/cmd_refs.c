/*
 * heapscope refs FILE [--type T] [--addr A]: the refcount history of objects
 * made with the refcount shim: each event with the count after it and its
 * stack; unbalanced objects (alive at the end, or misused) first. For objects
 * alive at the end: which retains have no matching release, grouped by stack
 * (who holds the extra reference?). A release is matched to the latest open
 * retain made from the same function, else to the latest open retain.
 * For CPython, the objects of a snapshot (--snapshot): each refcount and the
 * references found to it, those whose refcount exceeds them first.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "frames.h"
#include "graph.h"
#include "pyobjects.h"
#include "rc_objects.h"
#include "util.h"

static struct {
    struct common_opts common;
    const char *type;
    int by_addr;
    uint64_t addr, limit;
} env = { COMMON_OPTS_INIT, NULL, 0, 0, 1000 };

struct holder;

struct refs {
    const struct model *m;
    struct rc_objects objs;
    struct symbolizer *sym;
    struct frames frames; /* room for a stack's */
    size_t *sel, n_sel;   /* the objects asked for, unbalanced first */
    uint64_t alive, unbalanced, inconsistent, by_op[FMT_RC_OP_COUNT];
    struct holder *h;     /* who holds the extra references, most first */
    size_t n_h, cap_h;
};

static const char *caller_function(struct refs *r, uint32_t stack_id)
{
    size_t n = frames_of_top(&r->frames, r->sym, r->m, stack_id, 1);
    return n ? r->frames.f[n - 1].function : NULL; /* the real function, past inlined calls */
}

static int unbalanced(const struct rc_object *o) { return o->alive || o->misuse; }

static const struct refs *sort_refs;

static int object_order(const void *a, const void *b)
{
    const struct rc_object *x = &sort_refs->objs.obj[*(const size_t *)a];
    const struct rc_object *y = &sort_refs->objs.obj[*(const size_t *)b];
    if (unbalanced(x) != unbalanced(y))
        return unbalanced(x) ? -1 : 1;
    uint64_t sx = sort_refs->m->rc[sort_refs->objs.index[x->first]].seq;
    uint64_t sy = sort_refs->m->rc[sort_refs->objs.index[y->first]].seq;
    return sx < sy ? -1 : sx > sy;
}

/* Open retains (event indices) of an object left after pairing releases. */
static size_t open_retains(struct refs *r, const struct rc_object *o, uint32_t *open)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n; i++) {
        uint32_t ei = r->objs.index[o->first + i];
        const struct model_rc *e = &r->m->rc[ei];
        if (e->op == FMT_RC_NEW || e->op == FMT_RC_RETAIN) {
            open[n++] = ei;
        } else if (e->op == FMT_RC_RELEASE && n) {
            const char *fn = caller_function(r, e->stack_id);
            size_t pick = n - 1;
            for (size_t k = n; fn && k-- > 0;) {
                const char *rf = caller_function(r, r->m->rc[open[k]].stack_id);
                if (rf && strcmp(rf, fn) == 0) {
                    pick = k;
                    break;
                }
            }
            memmove(open + pick, open + pick + 1, (n - pick - 1) * sizeof *open);
            n--;
        }
    }
    return n;
}

struct holder {
    uint32_t stack_id;
    uint32_t type_id;
    uint64_t references, objects;
    size_t last; /* 1 + the last object counted */
};

static int by_references(const void *a, const void *b)
{
    const struct holder *x = a, *y = b;
    if (x->references != y->references)
        return x->references > y->references ? -1 : 1;
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static void print_event_text(struct refs *r, const struct model_rc *e)
{
    printf("    %-14s %3lld", fmt_rc_op_name(e->op), (long long)e->count);
    frames_of_top(&r->frames, r->sym, r->m, e->stack_id, 2);
    for (size_t i = 0, n; i < r->frames.n; i += n) {
        const struct sym_frame *f = &r->frames.f[i];
        n = frames_of_address(&r->frames, i);
        const struct sym_frame *real = &f[n - 1];
        printf("  %s %s", i ? "<-" : "at", frame_function(real));
        if (real->file)
            printf(" (%s:%u)", base_name(real->file), f[0].line);
    }
    putchar('\n');
}

/* The objects the options ask for, and their totals. */
static void select_objects(struct refs *r)
{
    const struct model *m = r->m;
    r->sel = xmalloc((r->objs.n ? r->objs.n : 1) * sizeof *r->sel);
    for (size_t k = 0; k < r->objs.n; k++) {
        const struct rc_object *ob = &r->objs.obj[k];
        const char *t = model_type(m, ob->type_id);
        if ((env.type && (!t || strcmp(t, env.type) != 0)) || (env.by_addr && ob->addr != env.addr))
            continue;
        r->sel[r->n_sel++] = k;
        r->alive += ob->alive;
        r->unbalanced += unbalanced(ob);
        /* the history adds up: a freed object was released as often as retained */
        if (!ob->alive && !ob->misuse && ob->retains != ob->releases)
            r->inconsistent++;
        for (size_t i = 0; i < ob->n; i++)
            r->by_op[m->rc[r->objs.index[ob->first + i]].op]++;
    }
    sort_refs = r;
    qsort(r->sel, r->n_sel, sizeof *r->sel, object_order);
}

/* The holder of references from stack sid to objects of type_id. */
static struct holder *holder(struct refs *r, uint32_t sid, uint32_t type_id)
{
    for (size_t k = 0; k < r->n_h; k++)
        if (r->h[k].stack_id == sid && r->h[k].type_id == type_id)
            return &r->h[k];
    if (r->n_h == r->cap_h) {
        r->cap_h = r->cap_h ? r->cap_h * 2 : 16;
        r->h = xrealloc(r->h, r->cap_h * sizeof *r->h);
    }
    r->h[r->n_h] = (struct holder){ sid, type_id, 0, 0, 0 };
    return &r->h[r->n_h++];
}

/* Who holds the extra references of the objects still alive. */
static void find_holders(struct refs *r)
{
    uint32_t *open = xmalloc((r->m->n_rc ? r->m->n_rc : 1) * sizeof *open);
    for (size_t s = 0; s < r->n_sel; s++) {
        const struct rc_object *ob = &r->objs.obj[r->sel[s]];
        size_t n_open = ob->alive ? open_retains(r, ob, open) : 0;
        for (size_t i = 0; i < n_open; i++) {
            struct holder *h = holder(r, r->m->rc[open[i]].stack_id, ob->type_id);
            h->references++;
            if (h->last != s + 1) {
                h->objects++;
                h->last = s + 1;
            }
        }
    }
    if (r->n_h)
        qsort(r->h, r->n_h, sizeof *r->h, by_references);
    free(open);
}

static void totals_json(struct json *j, const struct refs *r)
{
    json_object(j, "totals");
    json_u64(j, "objects", r->n_sel);
    json_u64(j, "alive", r->alive);
    json_u64(j, "unbalanced", r->unbalanced);
    json_u64(j, "events", r->m->n_rc);
    json_u64(j, "inconsistent", r->inconsistent);
    json_object(j, "by_op");
    for (unsigned op = 0; op < FMT_RC_OP_COUNT; op++)
        json_u64(j, fmt_rc_op_name(op), r->by_op[op]);
    json_object_end(j);
    json_object_end(j);
}

static void object_json(struct json *j, const struct refs *r, const struct rc_object *ob)
{
    const struct model *m = r->m;
    json_object(j, NULL);
    json_hex(j, "address", ob->addr);
    json_str(j, "type", model_type(m, ob->type_id));
    json_i64(j, "count", ob->count);
    json_bool(j, "alive", ob->alive);
    json_bool(j, "balanced", !unbalanced(ob));
    json_u64(j, "retains", ob->retains);
    json_u64(j, "releases", ob->releases);
    json_array(j, "events");
    for (size_t i = 0; i < ob->n; i++) {
        const struct model_rc *e = &m->rc[r->objs.index[ob->first + i]];
        json_object(j, NULL);
        json_str(j, "op", fmt_rc_op_name(e->op));
        json_i64(j, "count", e->count);
        json_u64(j, "seq", e->seq);
        stack_print_json(j, "stack", r->sym, m, e->stack_id);
        json_object_end(j);
    }
    json_array_end(j);
    json_object_end(j);
}

static void print_json(const struct refs *r, struct json *j)
{
    totals_json(j, r);
    json_array(j, "objects");
    for (size_t s = 0; s < r->n_sel && s < env.limit; s++)
        object_json(j, r, &r->objs.obj[r->sel[s]]);
    json_array_end(j);
    json_array(j, "unreleased");
    for (size_t k = 0; k < r->n_h; k++) {
        json_object(j, NULL);
        json_str(j, "type", model_type(r->m, r->h[k].type_id));
        json_u64(j, "references", r->h[k].references);
        json_u64(j, "objects", r->h[k].objects);
        stack_print_json(j, "stack", r->sym, r->m, r->h[k].stack_id);
        json_object_end(j);
    }
    json_array_end(j);
}

static void print_text(struct refs *r)
{
    const struct model *m = r->m;
    printf("%zu refcounted object%s, %llu alive at the end, %llu unbalanced\n", r->n_sel, r->n_sel == 1 ? "" : "s",
           (unsigned long long)r->alive, (unsigned long long)r->unbalanced);
    for (size_t s = 0; s < r->n_sel && s < env.limit; s++) {
        const struct rc_object *ob = &r->objs.obj[r->sel[s]];
        const char *t = model_type(m, ob->type_id);
        printf("\n0x%llx %s: %s, count %lld%s\n", (unsigned long long)ob->addr, t ? t : "(untyped)",
               ob->alive ? "alive" : "freed", (long long)ob->count,
               ob->misuse ? ", MISUSED" : unbalanced(ob) ? ", unbalanced" : "");
        for (size_t i = 0; i < ob->n; i++)
            print_event_text(r, &m->rc[r->objs.index[ob->first + i]]);
    }
    if (r->n_h)
        printf("\nretains without a matching release (objects alive at the end), by stack:\n");
    for (size_t k = 0; k < r->n_h; k++) {
        const struct holder *h = &r->h[k];
        const char *t = model_type(m, h->type_id);
        printf("\n%llu reference%s to %llu %s object%s held from:\n", (unsigned long long)h->references,
               h->references == 1 ? "" : "s", (unsigned long long)h->objects, t ? t : "untyped",
               h->objects == 1 ? "" : "s");
        stack_print_text(stdout, r->sym, m, h->stack_id, "    ");
    }
}

/* ---- CPython's objects at a snapshot ---- */

struct pyview {
    const struct model *m;
    const struct graph *g;
    struct symbolizer *sym;
    struct pyobject *o;
    size_t n, matched, exceeding;
};

static int py_wanted(const struct pyview *v, const struct pyobject *o)
{
    const char *t = sym_block_type(v->sym, v->m, o->block);
    if (env.type && (!t || strcmp(t, env.type) != 0))
        return 0;
    return !env.by_addr || graph_block_at(v->m, env.addr) == (ssize_t)o->block;
}

static void py_object_json(struct json *j, const struct pyview *v, const struct pyobject *o)
{
    const struct model *m = v->m;
    json_object(j, NULL);
    json_hex(j, "address", m->blocks[o->block].addr);
    json_hex(j, "object", m->blocks[o->block].addr + graph_object_start(m, o->block));
    json_str(j, "type", sym_block_type(v->sym, m, o->block));
    json_i64(j, "refcount", o->refcount);
    json_u64(j, "references_found", o->found);
    json_u64(j, "from_roots", o->from_roots);
    json_i64(j, "exceeds_by", pyobject_excess(o) ? o->refcount - (int64_t)o->found : 0);
    json_str(j, "kind", leak_kind_name(v->g->kind[o->block]));
    stack_print_json(j, "stack", v->sym, m, m->blocks[o->block].stack_id);
    json_object_end(j);
}

static void py_object_text(const struct pyview *v, const struct pyobject *o)
{
    const struct model *m = v->m;
    const char *t = sym_block_type(v->sym, m, o->block);
    printf("\n0x%llx %s: refcount %lld, %u reference%s found (%u from roots)", 
           (unsigned long long)(m->blocks[o->block].addr + graph_object_start(m, o->block)), t ? t : "(untyped)",
           (long long)o->refcount, o->found, o->found == 1 ? "" : "s", o->from_roots);
    if (pyobject_excess(o))
        printf(": %lld more than found (a reference never released)", (long long)(o->refcount - (int64_t)o->found));
    printf(", %s\n", leak_kind_name(v->g->kind[o->block]));
    stack_print_text(stdout, v->sym, m, m->blocks[o->block].stack_id, "    ");
}

/* The objects asked for, into the view's first entries (their order kept). */
static void py_select(struct pyview *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (py_wanted(v, &v->o[i])) {
            v->exceeding += pyobject_excess(&v->o[i]);
            v->o[v->matched++] = v->o[i];
        }
}

static void py_print(struct pyview *v, struct json *j)
{
    if (env.common.format == OUT_JSON) {
        json_object(j, "python");
        json_str(j, "snapshot", v->m->snapshot->name);
        json_u64(j, "objects_total", v->n);
        json_u64(j, "matched", v->matched);
        json_u64(j, "exceeding", v->exceeding);
        json_array(j, "objects");
        for (size_t i = 0; i < v->matched && i < env.limit; i++)
            py_object_json(j, v, &v->o[i]);
        json_array_end(j);
        json_object_end(j);
        return;
    }
    char a[32], b[32];
    printf("snapshot %s: %s CPython object%s%s, %s with a refcount above every reference found\n",
           v->m->snapshot->name, fmt_count(a, v->matched), v->matched == 1 ? "" : "s",
           v->matched < v->n ? " asked for" : "", fmt_count(b, v->exceeding));
    for (size_t i = 0; i < v->matched && i < env.limit; i++)
        py_object_text(v, &v->o[i]);
    if (v->matched > env.limit)
        printf("\n(%zu more; --limit N shows more)\n", v->matched - (size_t)env.limit);
}

static int refs_main(int argc, char **argv)
{
    (void)argc;
    struct model m;
    if (cli_load(&m, argv[0], &(struct model_load_options){ .snapshot = env.common.snapshot, .keep_rc_events = 1 }) != 0)
        return EXIT_TRACE_ERROR;
    struct refs r = { .m = &m, .sym = sym_open(&m) };
    struct pyview py = { .m = &m, .sym = r.sym };
    struct graph g;
    int python = m.py && m.snapshot && m.snapshot->scanned;
    if (python) {
        graph_build(&g, &m, env.common.heuristics);
        py.g = &g;
        py.n = pyobjects_list(&g, &py.o);
        py_select(&py);
    }
    rc_objects_build(&r.objs, &m);
    select_objects(&r);
    find_holders(&r);
    if (env.common.format == OUT_JSON) {
        struct json j;
        json_init(&j, stdout);
        json_object(&j, NULL);
        print_json(&r, &j);
        if (python)
            py_print(&py, &j);
        json_object_end(&j);
    } else {
        if (m.n_rc || !python)
            print_text(&r);
        if (python)
            py_print(&py, NULL);
    }
    if (python) {
        free(py.o);
        graph_free(&g);
    }
    free(r.h);
    free(r.sel);
    rc_objects_free(&r.objs);
    frames_free(&r.frames);
    cli_sym_close(r.sym);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env.common),
    OPT_STR(0, "type", &env.type, "TYPE", "only objects of this type"),
    OPT_ADDR(0, "addr", &env.addr, "ADDR", "only objects at this address", .given = &env.by_addr),
    OPT_NUM(0, "limit", &env.limit, "N", "list at most N objects; the totals count all (default 1000)"),
    OPT_TERMINATOR,
};

const struct command command_refs = {
    .name = "refs", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = refs_main,
    .summary = "refcount histories of objects made with the refcount shim; CPython's refcounts",
    .about = "Unbalanced objects (alive at the end, or misused) first; for those alive, the retains\n"
             "no release matched, by stack. For CPython, the objects of the snapshot with their\n"
             "refcounts and the references found to them, those with more refcount than references first.\n",
};

/*
 * heapscope refs FILE [--type T] [--addr A]: the refcount history of objects
 * made with the refcount shim: each event with the count after it and its
 * stack; unbalanced objects (alive at the end, or misused) first. For objects
 * alive at the end: which retains have no matching release, grouped by stack
 * (who holds the extra reference?). A release is matched to the latest open
 * retain made from the same function, else to the latest open retain.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "frames.h"
#include "rc_objects.h"
#include "util.h"

struct refs {
    const struct model *m;
    struct rc_objects objs;
    struct symbolizer *sym;
    struct frames frames; /* room for a stack's */
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

static struct {
    int format; /* enum out_format */
    const char *type;
    int by_addr;
    uint64_t addr, limit;
} env = { .limit = 1000 };

static int refs_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0], *type = env.type;
    uint64_t limit = env.limit, addr = env.addr;
    struct model m;
    if (cli_load(&m, path, &(struct model_load_options){ .keep_rc_events = 1 }) != 0)
        return EXIT_TRACE_ERROR;
    struct refs r = { .m = &m, .sym = sym_open(&m) };
    rc_objects_build(&r.objs, &m);
    size_t *sel = xmalloc((r.objs.n ? r.objs.n : 1) * sizeof *sel), n_sel = 0;
    uint64_t alive = 0, unbal = 0, inconsistent = 0, by_op[FMT_RC_OP_COUNT] = { 0 };
    for (size_t k = 0; k < r.objs.n; k++) {
        const struct rc_object *ob = &r.objs.obj[k];
        const char *t = model_type(&m, ob->type_id);
        if ((type && (!t || strcmp(t, type) != 0)) || (env.by_addr && ob->addr != addr))
            continue;
        sel[n_sel++] = k;
        alive += ob->alive;
        unbal += unbalanced(ob);
        /* the history adds up: a freed object was released as often as retained */
        if (!ob->alive && !ob->misuse && ob->retains != ob->releases)
            inconsistent++;
        for (size_t i = 0; i < ob->n; i++)
            by_op[m.rc[r.objs.index[ob->first + i]].op]++;
    }
    sort_refs = &r;
    qsort(sel, n_sel, sizeof *sel, object_order);

    /* who holds the extra references of the objects still alive */
    uint32_t *open = xmalloc((m.n_rc ? m.n_rc : 1) * sizeof *open);
    struct holder *h = NULL;
    size_t n_h = 0, cap_h = 0;
    for (size_t s = 0; s < n_sel; s++) {
        const struct rc_object *ob = &r.objs.obj[sel[s]];
        if (!ob->alive)
            continue;
        size_t n_open = open_retains(&r, ob, open);
        for (size_t i = 0; i < n_open; i++) {
            uint32_t sid = m.rc[open[i]].stack_id;
            size_t k = 0;
            while (k < n_h && !(h[k].stack_id == sid && h[k].type_id == ob->type_id))
                k++;
            if (k == n_h) {
                if (n_h == cap_h) {
                    cap_h = cap_h ? cap_h * 2 : 16;
                    h = xrealloc(h, cap_h * sizeof *h);
                }
                h[n_h++] = (struct holder){ sid, ob->type_id, 0, 0, 0 };
            }
            h[k].references++;
            if (h[k].last != s + 1) {
                h[k].objects++;
                h[k].last = s + 1;
            }
        }
    }
    if (n_h)
        qsort(h, n_h, sizeof *h, by_references);

    if (env.format == OUT_JSON) {
        struct json j;
        json_init(&j, stdout);
        json_object(&j, NULL);
        json_object(&j, "totals");
        json_u64(&j, "objects", n_sel);
        json_u64(&j, "alive", alive);
        json_u64(&j, "unbalanced", unbal);
        json_u64(&j, "events", m.n_rc);
        json_u64(&j, "inconsistent", inconsistent);
        json_object(&j, "by_op");
        for (unsigned op = 0; op < FMT_RC_OP_COUNT; op++)
            json_u64(&j, fmt_rc_op_name(op), by_op[op]);
        json_object_end(&j);
        json_object_end(&j);
        json_array(&j, "objects");
        for (size_t s = 0; s < n_sel && s < limit; s++) {
            const struct rc_object *ob = &r.objs.obj[sel[s]];
            json_object(&j, NULL);
            json_hex(&j, "address", ob->addr);
            json_str(&j, "type", model_type(&m, ob->type_id));
            json_i64(&j, "count", ob->count);
            json_bool(&j, "alive", ob->alive);
            json_bool(&j, "balanced", !unbalanced(ob));
            json_u64(&j, "retains", ob->retains);
            json_u64(&j, "releases", ob->releases);
            json_array(&j, "events");
            for (size_t i = 0; i < ob->n; i++) {
                const struct model_rc *e = &m.rc[r.objs.index[ob->first + i]];
                json_object(&j, NULL);
                json_str(&j, "op", fmt_rc_op_name(e->op));
                json_i64(&j, "count", e->count);
                json_u64(&j, "seq", e->seq);
                stack_print_json(&j, "stack", r.sym, &m, e->stack_id);
                json_object_end(&j);
            }
            json_array_end(&j);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_array(&j, "unreleased");
        for (size_t k = 0; k < n_h; k++) {
            json_object(&j, NULL);
            json_str(&j, "type", model_type(&m, h[k].type_id));
            json_u64(&j, "references", h[k].references);
            json_u64(&j, "objects", h[k].objects);
            stack_print_json(&j, "stack", r.sym, &m, h[k].stack_id);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
    } else {
        printf("%zu refcounted object%s, %llu alive at the end, %llu unbalanced\n", n_sel, n_sel == 1 ? "" : "s",
               (unsigned long long)alive, (unsigned long long)unbal);
        for (size_t s = 0; s < n_sel && s < limit; s++) {
            const struct rc_object *ob = &r.objs.obj[sel[s]];
            const char *t = model_type(&m, ob->type_id);
            printf("\n0x%llx %s: %s, count %lld%s\n", (unsigned long long)ob->addr, t ? t : "(untyped)",
                   ob->alive ? "alive" : "freed", (long long)ob->count,
                   ob->misuse ? ", MISUSED" : unbalanced(ob) ? ", unbalanced" : "");
            for (size_t i = 0; i < ob->n; i++)
                print_event_text(&r, &m.rc[r.objs.index[ob->first + i]]);
        }
        if (n_h) {
            printf("\nretains without a matching release (objects alive at the end), by stack:\n");
            for (size_t k = 0; k < n_h; k++) {
                const char *t = model_type(&m, h[k].type_id);
                printf("\n%llu reference%s to %llu %s object%s held from:\n", (unsigned long long)h[k].references,
                       h[k].references == 1 ? "" : "s", (unsigned long long)h[k].objects, t ? t : "untyped",
                       h[k].objects == 1 ? "" : "s");
                stack_print_text(stdout, r.sym, &m, h[k].stack_id, "    ");
            }
        }
    }
    free(h);
    free(open);
    free(sel);
    rc_objects_free(&r.objs);
    frames_free(&r.frames);
    cli_sym_close(r.sym);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_FORMAT(&env),
    OPT_STR(0, "type", &env.type, "TYPE", "only objects of this type"),
    OPT_ADDR(0, "addr", &env.addr, "ADDR", "only objects at this address", .given = &env.by_addr),
    OPT_NUM(0, "limit", &env.limit, "N", "list at most N objects; the totals count all (default 1000)"),
    OPT_TERMINATOR,
};

const struct command command_refs = {
    .name = "refs", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = refs_main,
    .summary = "refcount histories of objects made with the refcount shim",
    .about = "Unbalanced objects (alive at the end, or misused) first; for those alive, the retains\n"
             "no release matched, by stack.\n",
};

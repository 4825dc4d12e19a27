/*
 * heapscope report FILE -o report.html: one self-contained HTML file (no
 * network, no external scripts or fonts): the template in report.html with
 * the trace's data embedded as JSON. Large traces stay usable: the flame
 * graph drops frames under 0.1% of the total into "(other)", tables keep
 * their biggest rows, the memory chart at most ~2000 points.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cycles.h"
#include "diff.h"
#include "frames.h"
#include "leak_report.h"
#include "profile.h"
#include "rc_objects.h"
#include "util.h"

extern const char report_template[]; /* report.html, compiled in */

#define LEAK_ROWS 200
#define PROFILE_ROWS 10 /* each ranking of stacks, as summary's default --top */
#define CYCLES 12
#define CHAINS 8
#define RC_OBJECTS 60

/* ---------------------------------------------------------- flame graph */

struct flame_node {
    const char *name;
    uint64_t bytes, calls;
    size_t first_child, next_sibling; /* indices; 0 = none (0 is the root) */
};

struct flame {
    struct flame_node *n;
    size_t len, cap;
};

static size_t flame_child(struct flame *f, size_t parent, const char *name)
{
    for (size_t c = f->n[parent].first_child; c; c = f->n[c].next_sibling)
        if (strcmp(f->n[c].name, name) == 0)
            return c;
    if (f->len == f->cap) {
        f->cap *= 2;
        f->n = xrealloc(f->n, f->cap * sizeof *f->n);
    }
    size_t c = f->len++;
    f->n[c] = (struct flame_node){ .name = name, .next_sibling = f->n[parent].first_child };
    f->n[parent].first_child = c;
    return c;
}

static void flame_build(struct flame *f, const struct model *m, struct symbolizer *s)
{
    f->cap = 1024;
    f->n = xcalloc(f->cap, sizeof *f->n);
    f->len = 1;
    f->n[0].name = "all";
    struct frames fs = { 0 };
    for (size_t id = 1; id < m->n_stacks; id++) {
        const struct model_stack *st = &m->stacks[id];
        if (!st->frames || !st->allocs)
            continue;
        size_t k = frames_of_stack(&fs, s, m, (uint32_t)id), node = 0;
        if (k > FMT_MAX_FRAMES * 4)
            k = FMT_MAX_FRAMES * 4;
        f->n[0].bytes += st->bytes;
        f->n[0].calls += st->allocs;
        for (size_t i = k; i-- > 0;) { /* root (outermost) first */
            node = flame_child(f, node, frame_function(&fs.f[i]));
            f->n[node].bytes += st->bytes;
            f->n[node].calls += st->allocs;
        }
    }
    frames_free(&fs);
}

/* Writes node and its children; those under min of both totals go into one
 * "(other)" child, so a huge trace gives a small document. */
static void flame_json(struct json *j, const struct flame *f, size_t node, uint64_t min_bytes, uint64_t min_calls,
                       int depth)
{
    const struct flame_node *n = &f->n[node];
    json_object(j, NULL);
    json_str(j, "n", n->name);
    json_u64(j, "b", n->bytes);
    json_u64(j, "c", n->calls);
    uint64_t other_b = 0, other_c = 0;
    int any = 0;
    for (size_t c = n->first_child; c; c = f->n[c].next_sibling) {
        const struct flame_node *ch = &f->n[c];
        if ((ch->bytes < min_bytes && ch->calls < min_calls) || depth > 60) {
            other_b += ch->bytes;
            other_c += ch->calls;
            continue;
        }
        if (!any++)
            json_array(j, "k");
        flame_json(j, f, c, min_bytes, min_calls, depth + 1);
    }
    if (other_b || other_c) {
        if (!any++)
            json_array(j, "k");
        json_object(j, NULL);
        json_str(j, "n", "(other)");
        json_u64(j, "b", other_b);
        json_u64(j, "c", other_c);
        json_object_end(j);
    }
    if (any)
        json_array_end(j);
    json_object_end(j);
}

/* ------------------------------------------------------------- sections */

static void frames_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                        size_t max)
{
    struct frames fs = { 0 };
    size_t n = frames_of_top(&fs, s, m, stack_id, (uint32_t)max);
    json_array(j, key);
    for (size_t k = 0; k < n && k < max; k++) {
        const struct sym_frame *fr = &fs.f[k];
        char line[1024];
        if (fr->file)
            snprintf(line, sizeof line, "%s (%s:%u)%s", frame_function(fr), base_name(fr->file), fr->line,
                     fr->inlined ? " [inlined]" : "");
        else
            snprintf(line, sizeof line, "%s (%s)", frame_function(fr), fr->module ? fr->module : "?");
        json_str(j, NULL, line);
    }
    json_array_end(j);
    frames_free(&fs);
}

static void summary_json(struct json *j, const struct model *m, const struct leak_report *lr)
{
    json_object(j, "summary");
    json_str(j, "program", m->program);
    json_str(j, "command", m->cmdline);
    json_u64(j, "pid", m->pid);
    json_u64(j, "duration_ns", model_duration_ns(m));
    json_u64(j, "allocations", m->allocs);
    json_u64(j, "frees", m->frees);
    json_u64(j, "bytes_allocated", m->bytes_allocated);
    /* the event stream's peak, exact; the writer's (m->peak_bytes) is only
     * to within a batch of each thread's events */
    json_u64(j, "peak_live_bytes", m->stream_peak_bytes);
    json_u64(j, "peak_live_blocks", m->stream_peak_blocks);
    json_u64(j, "peak_time_ns", m->stream_peak_time_ns);
    json_u64(j, "peak_rss_bytes", m->peak_rss_bytes);
    json_u64(j, "peak_rss_time_ns", m->peak_rss_time_ns);
    json_u64(j, "temporary_allocations", m->temporary_allocations);
    json_u64(j, "temporary_bytes", m->temporary_bytes);
    json_u64(j, "threads", m->threads);
    json_str(j, "snapshot", m->snapshot ? m->snapshot->name : NULL);
    json_bool(j, "scanned", lr && lr->scanned);
    json_object(j, "leaks");
    for (unsigned k = 0; lr && k <= KIND_COUNT; k++) {
        if (k == KIND_IGNORED || !lr->blocks[k])
            continue;
        amount_json(j, leak_record_kind(k), lr->bytes[k], lr->blocks[k]);
    }
    json_object_end(j);
    json_object_end(j);
}

/* The live heap and the RSS over time: [time, live bytes, rss bytes] points.
 * A long trace gives each point the highest of the samples it stands for, so
 * that no peak is dropped. Traces before version 4 have no RSS (has_rss). */
static void timeline_json(struct json *j, const struct model *m)
{
    json_bool(j, "has_rss", m->peak_rss_bytes != 0);
    json_array(j, "heap");
    size_t step = m->n_heap > 2000 ? m->n_heap / 2000 + 1 : 1; /* at most ~2000 points */
    for (size_t i = 0; i < m->n_heap; i += step) {
        uint64_t live = 0, rss = 0;
        for (size_t k = i; k < i + step && k < m->n_heap; k++) {
            if (m->heap[k].live_bytes > live)
                live = m->heap[k].live_bytes;
            if (m->heap[k].rss_bytes > rss)
                rss = m->heap[k].rss_bytes;
        }
        json_array(j, NULL);
        json_u64(j, NULL, m->heap[i].time_ns);
        json_u64(j, NULL, live);
        json_u64(j, NULL, rss);
        json_array_end(j);
    }
    json_array_end(j);
    json_array(j, "snapshots");
    for (size_t i = 0; i < m->n_snapshots; i++) {
        const struct model_snapshot *sn = &m->snapshots[i];
        if (sn->superseded || !sn->complete)
            continue;
        json_object(j, NULL);
        json_str(j, "name", sn->name);
        json_u64(j, "time_ns", sn->time_ns);
        json_u64(j, "bytes", sn->bytes);
        json_u64(j, "blocks", sn->blocks);
        json_object_end(j);
    }
    json_array_end(j);
}

static void leaks_json(struct json *j, const struct leak_report *lr, struct symbolizer *s)
{
    json_array(j, "leaks");
    for (size_t i = 0; i < lr->n_rec && i < LEAK_ROWS; i++) {
        const struct leak_record *r = &lr->rec[i];
        json_object(j, NULL);
        json_str(j, "kind", leak_record_kind(r->kind));
        json_u64(j, "bytes", r->bytes);
        json_u64(j, "blocks", r->blocks);
        json_u64(j, "indirect", r->indirect);
        json_str(j, "type", r->type);
        const struct sym_frame *site;
        if (sym_site(s, lr->m, r->stack_id, &site)) {
            char where[600];
            const char *file = site->file ? strrchr(site->file, '/') : NULL;
            snprintf(where, sizeof where, "%s (%s:%u)", site->function ? site->function : "???",
                     file ? file + 1 : site->file ? site->file : "?", site->line);
            json_str(j, "site", where);
        }
        frames_json(j, "stack", s, lr->m, r->stack_id, 24);
        json_object_end(j);
    }
    json_array_end(j);
    json_u64(j, "leak_records", lr->n_rec);
}

/* One ranking of the stacks (profile.h), the first PROFILE_ROWS. */
static void profile_rows_json(struct json *j, const char *key, const struct model *m, struct symbolizer *s,
                              enum profile_by by, const char *count_name)
{
    struct profile_row *rows;
    size_t n = profile_top(m, by, PROFILE_ROWS, &rows);
    json_array(j, key);
    for (size_t i = 0; i < n; i++) {
        json_object(j, NULL);
        json_u64(j, "bytes", rows[i].bytes);
        json_u64(j, count_name, rows[i].count);
        frames_json(j, "stack", s, m, rows[i].stack_id, 24);
        json_object_end(j);
    }
    json_array_end(j);
    free(rows);
}

/* What heaptrack's users look at: the stacks biggest at the peak, with the
 * most calls, the most temporary allocations, the most leaked (lr: NULL
 * without a snapshot); the sizes histogram; lifetimes when the trace has
 * them (null when not). */
static void profile_json(struct json *j, const struct model *m, struct symbolizer *s, const struct leak_report *lr)
{
    profile_rows_json(j, "peak_consumers", m, s, PROFILE_PEAK, "blocks");
    profile_rows_json(j, "most_calls", m, s, PROFILE_CALLS, "calls");
    profile_rows_json(j, "most_temporary", m, s, PROFILE_TEMPORARY, "count");
    json_array(j, "most_leaked");
    const struct leak_record *leaked[PROFILE_ROWS];
    size_t n = lr ? leak_report_most_leaked(lr, PROFILE_ROWS, leaked) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object(j, NULL);
        json_str(j, "kind", leak_record_kind(leaked[i]->kind));
        json_u64(j, "bytes", leaked[i]->bytes);
        json_u64(j, "blocks", leaked[i]->blocks);
        frames_json(j, "stack", s, m, leaked[i]->stack_id, 24);
        json_object_end(j);
    }
    json_array_end(j);
    sizes_lifetimes_json(j, m);
}

static void diff_rows_json(struct json *j, const struct diff_table *t)
{
    for (size_t i = 0, shown = 0; i < t->n && shown < 40; i++) {
        const struct diff_row *r = &t->rows[i];
        if (!diff_changed(r))
            continue;
        shown++;
        json_object(j, NULL);
        json_str(j, "key", r->key);
        json_u64(j, "count_before", r->count[0]);
        json_u64(j, "count_after", r->count[1]);
        json_i64(j, "bytes_delta", diff_delta(r->bytes[0], r->bytes[1]));
        json_i64(j, "count_delta", diff_delta(r->count[0], r->count[1]));
        json_object_end(j);
    }
}

/* The first complete snapshot against the chosen one (m, symbolized by s),
 * by type. */
static void diff_json(struct json *j, const char *path, const struct model *m, struct symbolizer *s)
{
    json_array(j, "diff");
    const struct model_snapshot *first = NULL;
    for (size_t i = 0; i < m->n_snapshots && !first; i++)
        if (m->snapshots[i].complete && !m->snapshots[i].superseded && &m->snapshots[i] != m->snapshot)
            first = &m->snapshots[i];
    struct model before;
    char err[256], idx[32];
    snprintf(idx, sizeof idx, "%llu", first ? (unsigned long long)first->index : 0ull);
    if (first && m->snapshot &&
        model_load(&before, path, &(struct model_load_options){ .snapshot = idx, .progress = cli_progress }, err,
                   sizeof err) == 0) {
        cli_model_warning(&before);
        struct diff_table t = { 0 };
        struct symbolizer *bs = sym_open(&before);
        diff_add(&t, &before, bs, 0, 0);
        diff_add(&t, m, s, 1, 0);
        diff_finish(&t);
        diff_rows_json(j, &t);
        diff_free(&t);
        cli_sym_close(bs);
        model_free(&before);
    }
    json_array_end(j);
    json_str(j, "diff_from", first ? first->name : NULL);
}

static void cycle_member_json(struct json *j, const struct leak_report *lr, const struct cycles *c,
                              const struct cycle *y, size_t b, struct symbolizer *s)
{
    const struct model *m = lr->m;
    const struct graph *g = &lr->g;
    json_object(j, NULL);
    json_hex(j, "address", m->blocks[b].addr);
    json_u64(j, "size", m->blocks[b].size);
    json_str(j, "type", sym_block_type(s, m, b));
    json_array(j, "to"); /* edges to other members shown */
    for (uint32_t k = g->out_start[b]; k < g->out_start[b + 1]; k++) {
        uint32_t d = m->edges[g->out[k]].dst;
        if (cycles_member(c, y, d))
            json_hex(j, NULL, m->blocks[d].addr);
    }
    json_array_end(j);
    json_object_end(j);
}

/* The biggest cycles, a few members each. */
static void cycles_json(struct json *j, const struct leak_report *lr, struct symbolizer *s)
{
    json_array(j, "cycles");
    struct cycles c = { 0 };
    if (lr->scanned)
        cycles_build(&c, &lr->g, NULL);
    for (size_t k = 0; k < c.n && k < CYCLES && c.cy[k].bytes; k++) {
        const struct cycle *y = &c.cy[k];
        json_object(j, NULL);
        json_u64(j, "bytes", y->bytes);
        json_array(j, "members");
        for (size_t i = 0; i < y->n && i < 16; i++)
            cycle_member_json(j, lr, &c, y, c.members[y->first + i], s);
        json_array_end(j);
        json_u64(j, "blocks", y->n);
        json_bool(j, "reachable", y->reachable);
        frames_json(j, "stack", s, lr->m, lr->m->blocks[c.members[y->first]].stack_id, 6);
        json_object_end(j);
    }
    if (lr->scanned)
        cycles_free(&c);
    json_array_end(j);
}

/* Shortest chains from a root to the biggest still-reachable records. */
static void chains_json(struct json *j, const struct leak_report *lr, struct symbolizer *s)
{
    json_array(j, "chains");
    if (!lr->scanned) {
        json_array_end(j);
        return;
    }
    const struct model *m = lr->m;
    uint32_t *parent = xmalloc((m->n_blocks ? m->n_blocks : 1) * sizeof *parent);
    uint32_t *depth = xmalloc((m->n_blocks ? m->n_blocks : 1) * sizeof *depth);
    graph_bfs(&lr->g, parent, depth);
    int shown = 0;
    for (size_t i = 0; i < lr->n_rec && shown < CHAINS; i++) {
        const struct leak_record *r = &lr->rec[i];
        if (r->kind != KIND_STILL_REACHABLE || parent[r->first] == UINT32_MAX)
            continue;
        shown++;
        uint32_t path[64];
        size_t n = 0;
        for (uint32_t e = parent[r->first]; e != UINT32_MAX && n < 64;) {
            path[n++] = e;
            const struct model_edge *me = &m->edges[e];
            e = me->src_is_root ? UINT32_MAX : parent[me->src];
        }
        const struct model_edge *root_edge = &m->edges[path[n - 1]];
        json_object(j, NULL);
        char root[512] = "ignored block";
        if (root_edge->src_is_root)
            root_text(root, sizeof root, s, m, root_edge->src, root_edge->src_off);
        json_str(j, "root", root);
        json_u64(j, "bytes", r->bytes);
        json_array(j, "path");
        for (size_t k = n; k-- > 0;) {
            const struct model_edge *e = &m->edges[path[k]];
            json_object(j, NULL);
            json_u64(j, "size", m->blocks[e->dst].size);
            json_u64(j, "offset", e->src_off);
            json_str(j, "type", sym_block_type(s, m, e->dst));
            json_object_end(j);
        }
        json_array_end(j);
        frames_json(j, "stack", s, m, r->stack_id, 4);
        json_object_end(j);
    }
    free(parent);
    free(depth);
    json_array_end(j);
}

static void refs_json(struct json *j, const struct model *m, struct symbolizer *s)
{
    json_array(j, "refs");
    struct rc_objects r;
    rc_objects_build(&r, m);
    int shown = 0;
    for (int pass = 0; pass < 2; pass++) /* unbalanced objects first */
        for (size_t k = 0; k < r.n && shown < RC_OBJECTS; k++) {
            const struct rc_object *o = &r.obj[k];
            if ((o->alive || o->misuse) != (pass == 0))
                continue;
            shown++;
            json_object(j, NULL);
            json_hex(j, "address", o->addr);
            json_str(j, "type", model_type(m, o->type_id));
            json_bool(j, "alive", o->alive);
            json_bool(j, "misuse", o->misuse);
            json_i64(j, "count", o->count);
            json_array(j, "events");
            for (size_t i = 0; i < o->n && i < 100; i++) {
                const struct model_rc *e = &m->rc[r.index[o->first + i]];
                json_object(j, NULL);
                json_str(j, "op", fmt_rc_op_name(e->op));
                json_i64(j, "count", e->count);
                frames_json(j, "at", s, m, e->stack_id, 1);
                json_object_end(j);
            }
            json_array_end(j);
            json_object_end(j);
        }
    rc_objects_free(&r);
    json_array_end(j);
}

/* Writes the data into the template, where the marker stands. "</" is
 * written as "<\/" so that no string can close the script element. */
static int write_report(FILE *out, const char *data, size_t len)
{
    static const char marker[] = "/*HEAPSCOPE_DATA*/";
    const char *at = strstr(report_template, marker);
    if (!at)
        return -1;
    fwrite(report_template, 1, (size_t)(at - report_template), out);
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '<' && i + 1 < len && data[i + 1] == '/')
            fputs("<\\", out);
        else
            fputc(data[i], out);
    }
    fputs(at + sizeof marker - 1, out);
    return ferror(out) ? -1 : 0;
}

static struct {
    struct common_opts common;
    const char *output;
} env = { COMMON_OPTS_INIT, NULL };

static int report_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0], *output = env.output;
    const struct common_opts o = env.common;
    if (!output)
        return opt_error("output", "missing; give the HTML file to write (-o report.html)");
    struct model m;
    if (cli_load(&m, path, &(struct model_load_options){ .snapshot = o.snapshot, .keep_rc_events = 1 }) != 0)
        return EXIT_TRACE_ERROR;
    struct symbolizer *s = sym_open(&m);
    struct leak_report lr;
    int have_snapshot = m.snapshot != NULL;
    if (have_snapshot)
        leak_report_build(&lr, &m, s, o.heuristics);

    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    struct json j;
    json_init(&j, mem);
    json_object(&j, NULL);
    json_str(&j, "trace", path);
    summary_json(&j, &m, have_snapshot ? &lr : NULL);
    timeline_json(&j, &m);
    struct flame f;
    flame_build(&f, &m, s);
    json_object(&j, "flame");
    json_str(&j, "unit", "bytes");
    json_object_end(&j);
    json_array(&j, "flame_tree");
    flame_json(&j, &f, 0, f.n[0].bytes / 1000, f.n[0].calls / 1000, 0);
    json_array_end(&j);
    free(f.n);
    profile_json(&j, &m, s, have_snapshot ? &lr : NULL);
    if (have_snapshot) {
        leaks_json(&j, &lr, s);
        cycles_json(&j, &lr, s);
        chains_json(&j, &lr, s);
    }
    diff_json(&j, path, &m, s);
    refs_json(&j, &m, s);
    json_object_end(&j);
    fclose(mem);

    int status = 0;
    FILE *out = fopen(output, "w");
    if (!out || write_report(out, data, len) != 0)
        status = cli_error("cannot write %s: %s", output, strerror(errno));
    if (out && fclose(out) != 0 && !status)
        status = cli_error("cannot write %s: %s", output, strerror(errno));
    free(data);
    if (have_snapshot)
        leak_report_free(&lr);
    cli_sym_close(s);
    model_free(&m);
    if (!status)
        fprintf(stderr, "heapscope: wrote %s\n", output);
    return status;
}

static const struct opt options[] = {
    OPT_STR('o', "output", &env.output, "FILE", "the HTML file to write (needed)"),
    OPT_SNAPSHOT(&env.common),
    OPT_HEURISTICS(&env.common.heuristics),
    OPT_TERMINATOR,
};

const struct command command_report = {
    .name = "report", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = report_main,
    .summary = "one self-contained HTML report of a trace",
    .about = "Summary, live heap and RSS over time, allocation flame graph, the stacks biggest at the peak,\n"
             "with the most calls, the most temporary allocations and the most leaked, allocation sizes and\n"
             "lifetimes, leaks, diff from the first snapshot, cycles, referrer chains and refcount histories;\n"
             "nothing is loaded from the network.\n"
             "example: heapscope report -o report.html heapscope.myprog.1234.hst\n",
};

/*
 * heapscope export FILE --to collapsed|pprof|json|massif: the trace's
 * allocation stacks, symbolized, with their totals, for other tools: folded
 * stacks for flame graphs (flamegraph.pl, speedscope, inferno), a gzipped
 * pprof profile.proto (pprof.c), one JSON document, or massif's output
 * (massif.c: ms_print, massif-visualizer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "frames.h"
#include "massif.h"
#include "pprof.h"
#include "util.h"

enum target { TO_NONE, TO_COLLAPSED, TO_PPROF, TO_JSON, TO_MASSIF };
enum value { VAL_BYTES, VAL_ALLOCS, VAL_LIVE };

/* --- folded stacks ------------------------------------------------------ */

struct text {
    char *p;
    size_t n, cap;
};

/* Appends a frame's name; with sep, a ';' before it. */
static void text_put(struct text *t, const char *s, int sep)
{
    size_t len = strlen(s);
    if (t->n + len + 2 > t->cap) {
        t->cap = (t->n + len + 2) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    if (sep)
        t->p[t->n++] = ';';
    for (size_t i = 0; i < len; i++) /* ';' separates frames, '\n' lines: not in names */
        t->p[t->n++] = s[i] == ';' ? ':' : s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
    t->p[t->n] = 0;
}

/* The function names of a stack, root first, inlined calls as frames of
 * their own, "???" where unknown. */
static void folded_key(struct text *t, struct symbolizer *s, const struct model *m, uint32_t id,
                       struct frames *fs)
{
    t->n = 0;
    if (t->p)
        t->p[0] = 0;
    size_t n = id ? frames_of_stack(fs, s, m, id) : 0;
    if (!n)
        text_put(t, NO_STACK_TEXT, 0);
    for (size_t i = n; i-- > 0;) /* leaf first in the trace: reverse */
        text_put(t, frame_function(&fs->f[i]), i != n - 1);
}

struct line {
    const char *key;
    uint64_t value;
};

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->key, ((const struct line *)b)->key);
}

static void write_collapsed(FILE *out, const struct model *m, const struct model_site *sites, size_t n,
                            enum value v)
{
    struct symbolizer *s = sym_open(m);
    struct strmap index = { 0 };
    struct line *lines = NULL;
    size_t n_lines = 0, cap_lines = 0;
    struct frames frames = { 0 };
    struct text key = { 0 };
    for (size_t i = 0; i < n; i++) {
        uint64_t value = v == VAL_BYTES ? sites[i].bytes : v == VAL_ALLOCS ? sites[i].allocs : sites[i].live_bytes;
        if (!value)
            continue;
        folded_key(&key, s, m, sites[i].id, &frames);
        size_t *slot = strmap_get(&index, key.p, 1);
        if (*slot == SIZE_MAX) { /* a stack that symbolizes like none before */
            if (n_lines == cap_lines) {
                cap_lines = cap_lines ? cap_lines * 2 : 256;
                lines = xrealloc(lines, cap_lines * sizeof *lines);
            }
            lines[n_lines] = (struct line){ NULL, 0 };
            *slot = n_lines++;
        }
        lines[*slot].value += value;
    }
    for (size_t i = 0; i < index.cap; i++) /* lines take their keys from the map */
        if (index.keys[i])
            lines[index.vals[i]].key = index.keys[i];
    if (n_lines) /* qsort wants an array, even of nothing */
        qsort(lines, n_lines, sizeof *lines, by_key);
    for (size_t i = 0; i < n_lines; i++)
        fprintf(out, "%s %llu\n", lines[i].key, (unsigned long long)lines[i].value);
    free(key.p);
    frames_free(&frames);
    free(lines);
    strmap_free(&index);
    cli_sym_close(s);
}

/* --- JSON --------------------------------------------------------------- */

static int by_bytes(const void *a, const void *b)
{
    const struct model_site *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->live_bytes != y->live_bytes)
        return x->live_bytes > y->live_bytes ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void write_json(FILE *out, const struct model *m, struct model_site *sites, size_t n)
{
    struct symbolizer *s = sym_open(m);
    if (n) /* qsort wants an array, even of nothing */
        qsort(sites, n, sizeof *sites, by_bytes);
    struct json j;
    json_init(&j, out);
    json_object(&j, NULL);
    json_str(&j, "program", m->program);
    json_u64(&j, "pid", m->pid);
    json_str(&j, "snapshot", m->snapshot ? m->snapshot->name : NULL);
    json_object(&j, "totals");
    json_u64(&j, "allocations", m->allocs);
    json_u64(&j, "bytes_allocated", m->bytes_allocated);
    json_u64(&j, "live_blocks", m->snapshot ? m->reported_blocks : 0);
    json_u64(&j, "live_bytes", m->snapshot ? m->reported_bytes : 0);
    json_object_end(&j);
    json_array(&j, "stacks");
    for (size_t i = 0; i < n; i++) {
        const struct model_site *x = &sites[i];
        if (!x->allocs && !x->bytes && !x->live_blocks)
            continue;
        json_object(&j, NULL);
        json_u64(&j, "id", x->id);
        json_u64(&j, "allocations", x->allocs);
        json_u64(&j, "bytes", x->bytes);
        json_u64(&j, "live_blocks", x->live_blocks);
        json_u64(&j, "live_bytes", x->live_bytes);
        stack_print_json(&j, "stack", s, m, x->id);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    cli_sym_close(s);
}

/* --- the command -------------------------------------------------------- */

static const char *const target_names[] = { "collapsed", "pprof", "json", "massif", NULL }; /* enum target, from 1 */
static const char *const value_names[] = { "bytes", "allocations", "live", NULL }; /* enum value */

static struct {
    struct common_opts common;
    int to;    /* enum target less 1 */
    int value; /* enum value */
    const char *output;
    int format_given, value_given;
} env = { .common = COMMON_OPTS_INIT, .to = TO_NONE - 1, .value = VAL_BYTES };

/* The options that contradict each other, or are missing; 0 if none. */
static int check_options(enum target to, const char *output)
{
    if (to == TO_NONE)
        return opt_error("to", "missing; give collapsed, pprof, json or massif");
    if (env.format_given && env.common.format == OUT_JSON && to != TO_JSON)
        return opt_error("format", "json contradicts --to %s", target_names[to - 1]);
    if (env.value_given && to != TO_COLLAPSED)
        return opt_error("value", "is for --to collapsed (pprof, json and massif carry every value)");
    if (to == TO_PPROF && !output && isatty(STDOUT_FILENO))
        return opt_error("output", "a pprof profile is binary; not writing it to a terminal (use -o FILE)");
    return 0;
}

static int export_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0], *output = env.output;
    const struct common_opts o = env.common;
    enum target to = (enum target)(env.to + 1);
    enum value value = (enum value)env.value;
    if (to == TO_NONE && env.format_given && o.format == OUT_JSON) /* --format json alone means --to json */
        to = TO_JSON;
    int status = check_options(to, output);
    if (status)
        return status;
    struct model m;
    if (cli_load(&m, path, &(struct model_load_options){ .snapshot = o.snapshot }) != 0)
        return EXIT_TRACE_ERROR;
    if (to == TO_COLLAPSED && value == VAL_LIVE && !m.snapshot) {
        model_free(&m);
        return cli_error("%s: the trace has no complete snapshot, so nothing is live to export", path);
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "wb"))) {
        int e = errno;
        model_free(&m);
        return cli_error("%s: %s", output, strerror(e));
    }
    size_t n;
    struct model_site *sites = model_sites(&m, &n);
    char err[256] = "";
    int failed = 0;
    if (to == TO_COLLAPSED) {
        write_collapsed(out, &m, sites, n, value);
    } else if (to == TO_JSON) {
        write_json(out, &m, sites, n);
    } else if (to == TO_MASSIF) {
        struct symbolizer *sym = sym_open(&m);
        if (massif_write(out, &m, sym) != 0)
            failed = 1, snprintf(err, sizeof err, "write error");
        cli_sym_close(sym);
    } else {
        struct symbolizer *sym = sym_open(&m);
        failed = pprof_write(out, &m, sym, sites, n, err, sizeof err) != 0;
        cli_sym_close(sym);
    }
    free(sites);
    model_free(&m);
    if (!failed && (fflush(out) != 0 || ferror(out)))
        failed = 1, snprintf(err, sizeof err, "%s", strerror(errno));
    if (out != stdout && fclose(out) != 0 && !failed)
        failed = 1, snprintf(err, sizeof err, "%s", strerror(errno));
    if (failed)
        return cli_error("%s: %s", output ? output : "stdout", err);
    return 0;
}

static const struct opt options[] = {
    OPT_CHOICE(0, "to", &env.to, target_names,
               "what to write (needed): folded stacks, gzipped pprof, JSON, or massif's format"),
    OPT_CHOICE(0, "value", &env.value, value_names,
               "collapsed's value: bytes allocated (default), calls, or bytes live", .given = &env.value_given),
    OPT_STR('o', "output", &env.output, "FILE", "write to FILE instead of stdout"),
    OPT_CHOICE(0, "format", &env.common.format, out_format_names, "json alone means --to json",
               .given = &env.format_given),
    OPT_SNAPSHOT(&env.common),
    OPT_TERMINATOR,
};

const struct command command_export = {
    .name = "export", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = export_main,
    .summary = "data for other tools: folded stacks, pprof, JSON, massif",
    .about = "collapsed: one line per stack, root first, frames joined by ';', then the value\n"
             "(flamegraph.pl, speedscope, inferno). pprof: sample types alloc_objects, alloc_space\n"
             "and inuse_space (live at the snapshot). json: the stacks, symbolized, with their totals.\n"
             "massif: valgrind massif's file (ms_print, massif-visualizer): the live heap over time,\n"
             "the stacks at the exact peak and at the end.\n"
             "example: heapscope export --to pprof -o heap.pb.gz heapscope.myprog.1234.hst\n",
};

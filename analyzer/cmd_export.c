/*
 * heapscope export FILE --to collapsed|pprof|json: the trace's allocation
 * stacks, symbolized, with their totals, for other tools: folded stacks for
 * flame graphs (flamegraph.pl, speedscope, inferno), a gzipped pprof
 * profile.proto (encoded here by hand), or one JSON document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "frames.h"
#include "util.h"

#define NO_STACK "(no stack recorded)"

enum target { TO_NONE, TO_COLLAPSED, TO_PPROF, TO_JSON };
enum value { VAL_BYTES, VAL_ALLOCS, VAL_LIVE };

/* One recorded stack and what it did: allocations over the run, and blocks
 * live at the chosen snapshot. Site 0 holds what has no recorded stack. */
struct site {
    uint32_t id;
    uint64_t allocs, bytes, live_blocks, live_bytes;
};

static int has_stack(const struct model *m, uint32_t id)
{
    return id && model_stack(m, id) != NULL;
}

/* The sites indexed by stack id (*n of them); the totals equal the trace's. */
static struct site *gather(const struct model *m, size_t *n)
{
    size_t cap = m->n_stacks ? m->n_stacks : 1;
    struct site *s = xcalloc(cap, sizeof *s);
    uint64_t allocs = 0, bytes = 0;
    for (size_t id = 0; id < cap; id++) {
        s[id].id = (uint32_t)id;
        if (!has_stack(m, (uint32_t)id))
            continue;
        s[id].allocs = m->stacks[id].allocs;
        s[id].bytes = m->stacks[id].bytes;
        allocs += s[id].allocs;
        bytes += s[id].bytes;
    }
    s[0].allocs = m->allocs > allocs ? m->allocs - allocs : 0;
    s[0].bytes = m->bytes_allocated > bytes ? m->bytes_allocated - bytes : 0;
    for (size_t i = 0; i < m->n_blocks; i++) {
        const struct model_block *b = &m->blocks[i];
        if (b->flags & FMT_BLOCK_IGNORED)
            continue; /* hs_ignore: never reported */
        uint32_t id = b->stack_id < cap && has_stack(m, b->stack_id) ? b->stack_id : 0;
        s[id].live_blocks++;
        s[id].live_bytes += b->size;
    }
    *n = cap;
    return s;
}

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
        text_put(t, NO_STACK, 0);
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

static void write_collapsed(FILE *out, const struct model *m, const struct site *sites, size_t n,
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
    const struct site *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->live_bytes != y->live_bytes)
        return x->live_bytes > y->live_bytes ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void write_json(FILE *out, const struct model *m, struct site *sites, size_t n)
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
        const struct site *x = &sites[i];
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

/* --- pprof -------------------------------------------------------------- */

/* A protobuf message being written: varints and length-delimited fields. */
struct pb {
    uint8_t *p;
    size_t n, cap;
};

static void pb_raw(struct pb *b, const void *d, size_t len)
{
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2 + 64;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, len);
    b->n += len;
}

static void pb_varint(struct pb *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t k = 0;
    do {
        tmp[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_raw(b, tmp, k);
}

static void pb_uint(struct pb *b, unsigned field, uint64_t v) /* uint64, int64 >= 0, bool */
{
    if (!v)
        return; /* the default: left out */
    pb_varint(b, (uint64_t)field << 3 | 0);
    pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *d, size_t len)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, len);
    pb_raw(b, d, len);
}

/* Appends sub as field of b, and empties sub for the next use. */
static void pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
    pb_bytes(b, field, sub->p, sub->n);
    sub->n = 0;
}

/* profile.proto's field numbers */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2,
    MAPPING_ID = 1, MAPPING_START = 2, MAPPING_LIMIT = 3, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6,
    MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
    MAPPING_HAS_INLINE_FRAMES = 10,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

struct pprof {
    const struct model *m;
    struct symbolizer *sym;
    struct strmap strings, functions, locations; /* to string index, function id, location id */
    struct pb string_table, function_msgs, location_msgs, tmp, line;
    size_t n_strings, n_functions, n_locations;
    int *mapping_unsymbolized; /* per module: a location in it has no function */
};

static uint64_t pp_string(struct pprof *p, const char *s)
{
    size_t *slot = strmap_get(&p->strings, s ? s : "", 1);
    if (*slot == SIZE_MAX) {
        *slot = p->n_strings++;
        pb_bytes(&p->string_table, PROFILE_STRING_TABLE, s ? s : "", s ? strlen(s) : 0);
    }
    return *slot;
}

static uint64_t pp_function(struct pprof *p, const char *name, const char *file)
{
    char key[4096];
    snprintf(key, sizeof key, "%s%c%s", name, 1, file ? file : "");
    size_t *slot = strmap_get(&p->functions, key, 1);
    if (*slot == SIZE_MAX) {
        *slot = ++p->n_functions;
        pb_uint(&p->tmp, FUNCTION_ID, *slot);
        pb_uint(&p->tmp, FUNCTION_NAME, pp_string(p, name));
        pb_uint(&p->tmp, FUNCTION_SYSTEM_NAME, pp_string(p, name));
        pb_uint(&p->tmp, FUNCTION_FILENAME, pp_string(p, file));
        pb_msg(&p->function_msgs, PROFILE_FUNCTION, &p->tmp);
    }
    return *slot;
}

/* The location of a recorded return address (addr 0: "no stack"); its
 * lines are the inlined calls innermost first, then the function that holds
 * them, as pprof wants. */
static uint64_t pp_location(struct pprof *p, uint64_t addr)
{
    char key[32];
    snprintf(key, sizeof key, "%llx", (unsigned long long)addr);
    size_t *slot = strmap_get(&p->locations, key, 1);
    if (*slot != SIZE_MAX)
        return *slot;
    uint64_t id = *slot = ++p->n_locations;
    struct pb loc = { 0 };
    pb_uint(&loc, LOCATION_ID, id);
    if (!addr) {
        pb_uint(&p->line, LINE_FUNCTION_ID, pp_function(p, NO_STACK, NULL));
        pb_msg(&loc, LOCATION_LINE, &p->line);
    } else {
        const struct model_module *mod = model_module_at(p->m, addr);
        if (mod)
            pb_uint(&loc, LOCATION_MAPPING_ID, (uint64_t)(mod - p->m->modules) + 1);
        pb_uint(&loc, LOCATION_ADDRESS, addr);
        const struct sym_frame *fr;
        size_t n = sym_resolve(p->sym, addr, &fr);
        if (n == 1 && !fr[0].function) { /* unknown: no lines, pprof shows the address */
            if (mod)
                p->mapping_unsymbolized[mod - p->m->modules] = 1;
        } else {
            for (size_t k = 0; k < n; k++) {
                /* fr stays valid: pp_function resolves nothing */
                pb_uint(&p->line, LINE_FUNCTION_ID,
                        pp_function(p, fr[k].function ? fr[k].function : "???", fr[k].file));
                pb_uint(&p->line, LINE_LINE, fr[k].line);
                pb_msg(&loc, LOCATION_LINE, &p->line);
            }
        }
    }
    pb_msg(&p->location_msgs, PROFILE_LOCATION, &loc);
    free(loc.p);
    return id;
}

static void pp_value_type(struct pprof *p, struct pb *out, unsigned field, const char *type, const char *unit)
{
    pb_uint(&p->tmp, VALUE_TYPE_TYPE, pp_string(p, type));
    pb_uint(&p->tmp, VALUE_TYPE_UNIT, pp_string(p, unit));
    pb_msg(out, field, &p->tmp);
}

static uint64_t duration_ns(const struct model *m)
{
    return m->has_end ? m->end_time_ns : m->last_time_ns;
}

/* The profile, uncompressed, into out. */
static void build_pprof(struct pb *out, const struct model *m, const struct site *sites, size_t n)
{
    struct pprof p = { .m = m, .sym = sym_open(m) };
    p.mapping_unsymbolized = xcalloc(m->n_modules ? m->n_modules : 1, sizeof *p.mapping_unsymbolized);
    pp_string(&p, ""); /* string_table[0] must be "" */
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
    struct pb ids = { 0 }, values = { 0 };
    for (size_t i = 0; i < n; i++) {
        const struct site *x = &sites[i];
        if (!x->allocs && !x->bytes && !x->live_bytes)
            continue;
        const struct model_stack *st = x->id ? model_stack(m, x->id) : NULL;
        for (uint32_t k = 0; st && k < st->n; k++) /* leaf first, as recorded */
            pb_varint(&ids, pp_location(&p, st->frames[k]));
        if (!st || !st->n)
            pb_varint(&ids, pp_location(&p, 0));
        pb_varint(&values, x->allocs);
        pb_varint(&values, x->bytes);
        pb_varint(&values, x->live_bytes);
        pb_msg(&p.tmp, SAMPLE_LOCATION_ID, &ids); /* packed */
        pb_msg(&p.tmp, SAMPLE_VALUE, &values);
        pb_msg(out, PROFILE_SAMPLE, &p.tmp);
    }
    for (size_t i = 0; i < m->n_modules; i++) {
        const struct model_module *mod = &m->modules[i];
        char build_id[2 * sizeof mod->build_id + 1];
        for (size_t k = 0; k < mod->build_id_len; k++)
            snprintf(build_id + 2 * k, 3, "%02x", mod->build_id[k]);
        build_id[2 * mod->build_id_len] = 0;
        int symbolized = !p.mapping_unsymbolized[i];
        pb_uint(&p.tmp, MAPPING_ID, i + 1);
        pb_uint(&p.tmp, MAPPING_START, mod->start);
        pb_uint(&p.tmp, MAPPING_LIMIT, mod->end);
        pb_uint(&p.tmp, MAPPING_FILENAME, pp_string(&p, mod->path));
        pb_uint(&p.tmp, MAPPING_BUILD_ID, pp_string(&p, build_id));
        pb_uint(&p.tmp, MAPPING_HAS_FUNCTIONS, symbolized);
        pb_uint(&p.tmp, MAPPING_HAS_FILENAMES, symbolized);
        pb_uint(&p.tmp, MAPPING_HAS_LINE_NUMBERS, symbolized);
        pb_uint(&p.tmp, MAPPING_HAS_INLINE_FRAMES, symbolized);
        pb_msg(out, PROFILE_MAPPING, &p.tmp);
    }
    pb_raw(out, p.location_msgs.p, p.location_msgs.n);
    pb_raw(out, p.function_msgs.p, p.function_msgs.n);
    pb_uint(out, PROFILE_TIME_NANOS, m->start_unix_ns);
    pb_uint(out, PROFILE_DURATION_NANOS, duration_ns(m));
    pp_value_type(&p, out, PROFILE_PERIOD_TYPE, "space", "bytes");
    pb_uint(out, PROFILE_PERIOD, 1); /* every allocation is recorded */
    char comment[512];
    snprintf(comment, sizeof comment, "heapscope: %s (pid %llu); inuse_space at snapshot %s",
             m->program ? m->program : "?", (unsigned long long)m->pid, m->snapshot ? m->snapshot->name : "(none)");
    pb_uint(out, PROFILE_COMMENT, pp_string(&p, comment));
    pb_raw(out, p.string_table.p, p.string_table.n); /* last: every string is in by now */
    free(ids.p);
    free(values.p);
    free(p.string_table.p);
    free(p.function_msgs.p);
    free(p.location_msgs.p);
    free(p.tmp.p);
    free(p.line.p);
    free(p.mapping_unsymbolized);
    strmap_free(&p.strings);
    strmap_free(&p.functions);
    strmap_free(&p.locations);
    cli_sym_close(p.sym);
}

/* data as one gzip stream into out; 0, or -1 with errno-ish detail in err. */
static int write_gzip(FILE *out, const struct pb *data, char *err, size_t errlen)
{
    z_stream z = { 0 };
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        snprintf(err, errlen, "zlib: %s", z.msg ? z.msg : "cannot start compressing");
        return -1;
    }
    unsigned char chunk[65536];
    z.next_in = data->p;
    size_t left = data->n; /* fed in pieces: avail_in is 32 bits */
    int rc;
    do {
        if (!z.avail_in && left) {
            z.avail_in = left > 0x40000000 ? 0x40000000 : (uInt)left;
            left -= z.avail_in;
        }
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        rc = deflate(&z, left || z.avail_in ? Z_NO_FLUSH : Z_FINISH);
        size_t have = sizeof chunk - z.avail_out;
        if (have && fwrite(chunk, 1, have, out) != have) {
            snprintf(err, errlen, "%s", strerror(errno));
            deflateEnd(&z);
            return -1;
        }
    } while (rc != Z_STREAM_END && rc != Z_STREAM_ERROR);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        snprintf(err, errlen, "zlib: compression failed");
        return -1;
    }
    return 0;
}

/* --- the command -------------------------------------------------------- */

static const char *const target_names[] = { "collapsed", "pprof", "json", NULL }; /* enum target, from 1 */
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
        return opt_error("to", "missing; give collapsed, pprof or json");
    if (env.format_given && env.common.format == OUT_JSON && to != TO_JSON)
        return opt_error("format", "json contradicts --to %s", target_names[to - 1]);
    if (env.value_given && to != TO_COLLAPSED)
        return opt_error("value", "is for --to collapsed (pprof and json carry every value)");
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
    struct site *sites = gather(&m, &n);
    char err[256] = "";
    int failed = 0;
    if (to == TO_COLLAPSED) {
        write_collapsed(out, &m, sites, n, value);
    } else if (to == TO_JSON) {
        write_json(out, &m, sites, n);
    } else {
        struct pb profile = { 0 };
        build_pprof(&profile, &m, sites, n);
        failed = write_gzip(out, &profile, err, sizeof err) != 0;
        free(profile.p);
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
    OPT_CHOICE(0, "to", &env.to, target_names, "what to write (needed): folded stacks, gzipped pprof, or JSON"),
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
    .summary = "data for other tools: folded stacks, pprof, JSON",
    .about = "collapsed: one line per stack, root first, frames joined by ';', then the value\n"
             "(flamegraph.pl, speedscope, inferno). pprof: sample types alloc_objects, alloc_space\n"
             "and inuse_space (live at the snapshot). json: the stacks, symbolized, with their totals.\n"
             "example: heapscope export --to pprof -o heap.pb.gz heapscope.myprog.1234.hst\n",
};

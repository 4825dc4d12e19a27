/*
 * A gzipped pprof profile (profile.proto, encoded here by hand) of a trace's
 * allocation sites (pprof.h): sample types alloc_objects/count,
 * alloc_space/bytes and inuse_space/bytes, a location per return address
 * (inline frames as several lines), mappings with build ids.
 */
#include "pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "frames.h"
#include "util.h"

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
        pb_uint(&p->line, LINE_FUNCTION_ID, pp_function(p, NO_STACK_TEXT, NULL));
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

/* The samples: a location per return address, leaf first, and the three
 * values of each site. */
static void pp_samples(struct pprof *p, struct pb *out, const struct model_site *sites, size_t n)
{
    struct pb ids = { 0 }, values = { 0 };
    for (size_t i = 0; i < n; i++) {
        const struct model_site *x = &sites[i];
        if (!x->allocs && !x->bytes && !x->live_bytes)
            continue;
        const struct model_stack *st = x->id ? model_stack(p->m, x->id) : NULL;
        for (uint32_t k = 0; st && k < st->n; k++) /* leaf first, as recorded */
            pb_varint(&ids, pp_location(p, st->frames[k]));
        if (!st || !st->n)
            pb_varint(&ids, pp_location(p, 0));
        pb_varint(&values, x->allocs);
        pb_varint(&values, x->bytes);
        pb_varint(&values, x->live_bytes);
        pb_msg(&p->tmp, SAMPLE_LOCATION_ID, &ids); /* packed */
        pb_msg(&p->tmp, SAMPLE_VALUE, &values);
        pb_msg(out, PROFILE_SAMPLE, &p->tmp);
    }
    free(ids.p);
    free(values.p);
}

/* A mapping per module, with its build id. */
static void pp_mappings(struct pprof *p, struct pb *out)
{
    for (size_t i = 0; i < p->m->n_modules; i++) {
        const struct model_module *mod = &p->m->modules[i];
        char build_id[2 * sizeof mod->build_id + 1];
        for (size_t k = 0; k < mod->build_id_len; k++)
            snprintf(build_id + 2 * k, 3, "%02x", mod->build_id[k]);
        build_id[2 * mod->build_id_len] = 0;
        int symbolized = !p->mapping_unsymbolized[i];
        pb_uint(&p->tmp, MAPPING_ID, i + 1);
        pb_uint(&p->tmp, MAPPING_START, mod->start);
        pb_uint(&p->tmp, MAPPING_LIMIT, mod->end);
        pb_uint(&p->tmp, MAPPING_FILENAME, pp_string(p, mod->path));
        pb_uint(&p->tmp, MAPPING_BUILD_ID, pp_string(p, build_id));
        pb_uint(&p->tmp, MAPPING_HAS_FUNCTIONS, symbolized);
        pb_uint(&p->tmp, MAPPING_HAS_FILENAMES, symbolized);
        pb_uint(&p->tmp, MAPPING_HAS_LINE_NUMBERS, symbolized);
        pb_uint(&p->tmp, MAPPING_HAS_INLINE_FRAMES, symbolized);
        pb_msg(out, PROFILE_MAPPING, &p->tmp);
    }
}

static void pp_free(struct pprof *p)
{
    free(p->string_table.p);
    free(p->function_msgs.p);
    free(p->location_msgs.p);
    free(p->tmp.p);
    free(p->line.p);
    free(p->mapping_unsymbolized);
    strmap_free(&p->strings);
    strmap_free(&p->functions);
    strmap_free(&p->locations);
}

/* The profile, uncompressed, into out. */
static void build_pprof(struct pb *out, const struct model *m, struct symbolizer *sym, const struct model_site *sites,
                        size_t n)
{
    struct pprof p = { .m = m, .sym = sym };
    p.mapping_unsymbolized = xcalloc(m->n_modules ? m->n_modules : 1, sizeof *p.mapping_unsymbolized);
    pp_string(&p, ""); /* string_table[0] must be "" */
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
    pp_value_type(&p, out, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
    pp_samples(&p, out, sites, n);
    pp_mappings(&p, out);
    pb_raw(out, p.location_msgs.p, p.location_msgs.n);
    pb_raw(out, p.function_msgs.p, p.function_msgs.n);
    pb_uint(out, PROFILE_TIME_NANOS, m->start_unix_ns);
    pb_uint(out, PROFILE_DURATION_NANOS, model_duration_ns(m));
    pp_value_type(&p, out, PROFILE_PERIOD_TYPE, "space", "bytes");
    pb_uint(out, PROFILE_PERIOD, 1); /* every allocation is recorded */
    char comment[512];
    snprintf(comment, sizeof comment, "heapscope: %s (pid %llu); inuse_space at snapshot %s",
             m->program ? m->program : "?", (unsigned long long)m->pid, m->snapshot ? m->snapshot->name : "(none)");
    pb_uint(out, PROFILE_COMMENT, pp_string(&p, comment));
    pb_raw(out, p.string_table.p, p.string_table.n); /* last: every string is in by now */
    pp_free(&p);
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

int pprof_write(FILE *out, const struct model *m, struct symbolizer *sym, const struct model_site *sites, size_t n,
                char *err, size_t errlen)
{
    struct pb profile = { 0 };
    build_pprof(&profile, m, sym, sites, n);
    int r = write_gzip(out, &profile, err, errlen);
    free(profile.p);
    return r;
}

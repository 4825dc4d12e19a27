/*
 * heapscope diff: the change in live blocks between two snapshots, of one
 * trace or of two, grouped by type (tag or C++ class; untagged blocks by the
 * function that allocated them) or by allocation site (function, file:line).
 * Biggest change first.
 *
 *   heapscope diff FILE              first snapshot -> exit (or last)
 *   heapscope diff FILE A B          snapshot A -> snapshot B
 *   heapscope diff FILE_A FILE_B     FILE_A's exit -> FILE_B's exit
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "util.h"

#include "diff.h"

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *const by_names[] = { "type", "site", NULL };

static struct {
    int format; /* enum out_format */
    int by_site;
    int all;
} env;

/* What is compared: the files and snapshots of each side, as the
 * arguments say. */
struct sides {
    const char *file[2], *snap[2];
    char *name[2]; /* the snapshots read */
};

static void sides_of(struct sides *sd, int argc, char **argv)
{
    *sd = (struct sides){ .file = { argv[0], argv[0] } };
    if (argc == 1) {
        sd->snap[0] = "0";
    } else if (argc == 2 && is_file(argv[1])) {
        sd->file[1] = argv[1];
    } else {
        sd->snap[0] = argv[1];
        sd->snap[1] = argc == 3 ? argv[2] : NULL;
    }
}

/* Each side's live blocks into t; 0, or the exit status of the error said. */
static int load_sides(struct diff_table *t, struct sides *sd)
{
    struct model m;
    for (int side = 0; side < 2; side++) {
        if (cli_load(&m, sd->file[side], &(struct model_load_options){ .snapshot = sd->snap[side] }) != 0)
            return EXIT_TRACE_ERROR;
        if (!m.snapshot) {
            model_free(&m);
            return cli_error("%s: the trace has no complete snapshot", sd->file[side]);
        }
        sd->name[side] = xstrdup(m.snapshot->name);
        struct symbolizer *s = sym_open(&m);
        diff_add(t, &m, s, side, env.by_site);
        cli_sym_close(s);
        model_free(&m);
    }
    diff_finish(t);
    return 0;
}

static void print_row_json(struct json *j, const struct diff_row *r)
{
    json_object(j, NULL);
    json_str(j, "key", r->key);
    json_str(j, "key_kind", env.by_site ? "site" : r->is_type ? "type" : "function");
    json_u64(j, "count_before", r->count[0]);
    json_u64(j, "count_after", r->count[1]);
    json_i64(j, "count_delta", diff_delta(r->count[0], r->count[1]));
    json_u64(j, "bytes_before", r->bytes[0]);
    json_u64(j, "bytes_after", r->bytes[1]);
    json_i64(j, "bytes_delta", diff_delta(r->bytes[0], r->bytes[1]));
    json_object_end(j);
}

static void print_json(const struct diff_table *t, const struct sides *sd)
{
    struct json j;
    json_init(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "by", env.by_site ? "site" : "type");
    json_str(&j, "from", sd->name[0]);
    json_str(&j, "to", sd->name[1]);
    if (sd->file[0] != sd->file[1]) {
        json_str(&j, "from_file", sd->file[0]);
        json_str(&j, "to_file", sd->file[1]);
    }
    json_array(&j, "rows");
    for (size_t i = 0; i < t->n; i++)
        if (env.all || diff_changed(&t->rows[i]))
            print_row_json(&j, &t->rows[i]);
    json_array_end(&j);
    json_object_end(&j);
}

static void print_text(const struct diff_table *t)
{
    printf("%-40s %12s %12s %14s\n", env.by_site ? "allocation site" : "type (or allocating function)", "count",
           "delta", "bytes delta");
    for (size_t i = 0; i < t->n; i++) {
        const struct diff_row *r = &t->rows[i];
        if (env.all || diff_changed(r))
            printf("%-40s %12llu %+12lld %+14lld\n", r->key, (unsigned long long)r->count[1],
                   (long long)diff_delta(r->count[0], r->count[1]), (long long)diff_delta(r->bytes[0], r->bytes[1]));
    }
}

static int diff_main(int argc, char **argv)
{
    struct sides sd;
    struct diff_table t = { 0 };
    sides_of(&sd, argc, argv);
    int status = load_sides(&t, &sd);
    if (!status && env.format == OUT_JSON)
        print_json(&t, &sd);
    else if (!status)
        print_text(&t);
    free(sd.name[0]);
    free(sd.name[1]);
    diff_free(&t);
    return status;
}

static const struct opt options[] = {
    OPT_FORMAT(&env),
    OPT_CHOICE(0, "by", &env.by_site, by_names, "rows by type (default; untyped blocks by function) or by site"),
    OPT_BOOL(0, "all", &env.all, "show the rows that did not change too"),
    OPT_TERMINATOR,
};

const struct command command_diff = {
    .name = "diff", .args = "(FILE [A B] | FILE_A FILE_B)", .min_args = 1, .max_args = 3, .options = options,
    .main = diff_main,
    .summary = "change in live blocks between two snapshots, by type or by site",
    .about = "  heapscope diff FILE              the first snapshot against exit (or the last)\n"
             "  heapscope diff FILE A B          snapshot A against snapshot B (names or indices)\n"
             "  heapscope diff FILE_A FILE_B     FILE_A's exit against FILE_B's\n",
};

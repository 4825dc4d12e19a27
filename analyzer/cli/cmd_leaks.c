/*
 * heapscope leaks FILE: the blocks live at a snapshot (exit by default),
 * classified by reachability into valgrind's kinds, grouped by kind and
 * allocation stack, biggest first. A snapshot without the heap graph
 * (HEAPSCOPE_SCAN=0) can only say "not_freed".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "leak_report.h"
#include "options_names.h"
#include "util.h"

static const unsigned summary_kinds[] = { KIND_DEFINITELY_LOST, KIND_INDIRECTLY_LOST, KIND_POSSIBLY_LOST,
                                          KIND_STILL_REACHABLE };

static void print_json(const struct leak_report *l)
{
    struct json j;
    json_init(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "snapshot", l->m->snapshot->name);
    json_bool(&j, "scanned", l->scanned);
    json_object(&j, "summary");
    for (size_t i = 0; i < (l->scanned ? 4u : 0u); i++)
        amount_json(&j, leak_record_kind(summary_kinds[i]), l->bytes[summary_kinds[i]], l->blocks[summary_kinds[i]]);
    if (!l->scanned)
        amount_json(&j, "not_freed", l->bytes[KIND_NOT_FREED], l->blocks[KIND_NOT_FREED]);
    json_object_end(&j);
    json_object(&j, "reachable_via_heuristic"); /* of still_reachable, as valgrind counts them */
    for (unsigned h = 0; h < FMT_HEUR_COUNT; h++)
        if (l->via_blocks[h])
            amount_json(&j, heuristic_name(h), l->via_bytes[h], l->via_blocks[h]);
    json_object_end(&j);
    amount_json(&j, "inherited", l->inherited_bytes, l->inherited_blocks);
    json_array(&j, "records");
    for (size_t i = 0; i < l->n_rec; i++) {
        const struct leak_record *r = &l->rec[i];
        json_object(&j, NULL);
        json_str(&j, "kind", leak_record_kind(r->kind));
        json_u64(&j, "bytes", r->bytes);
        json_u64(&j, "blocks", r->blocks);
        json_u64(&j, "indirect_bytes", r->indirect);
        json_str(&j, "type", r->type);
        if (l->m->py) /* a CPython trace */
            json_u64(&j, "refcount_exceeds_references", r->unreleased);
        json_str(&j, "heuristic", r->via ? heuristic_name(r->via - 1) : NULL);
        json_bool(&j, "inherited", r->inherited);
        stack_print_json(&j, "stack", l->sym, l->m, r->stack_id);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
}

static const char *kind_words(unsigned k)
{
    static const char *const words[] = { "still reachable", "possibly lost", "indirectly lost",
                                         "definitely lost", "ignored", "not freed" };
    return words[k];
}

static void print_text(const struct leak_report *l)
{
    char a[32], b[32], c[32];
    const struct model *m = l->m;
    printf("%s (pid %llu), snapshot \"%s\":\n", m->program, (unsigned long long)m->pid, m->snapshot->name);
    if (l->scanned) {
        for (size_t i = 0; i < 4; i++)
            printf("  %-16s %s bytes in %s blocks\n", kind_words(summary_kinds[i]),
                   fmt_count(a, l->bytes[summary_kinds[i]]), fmt_count(b, l->blocks[summary_kinds[i]]));
        for (unsigned h = 0, any = 0; h < FMT_HEUR_COUNT; h++)
            if (l->via_blocks[h])
                printf("%s      %-20s %s bytes in %s blocks\n", any++ ? "" : "    of which reachable via heuristic:\n",
                       heuristic_name(h), fmt_count(a, l->via_bytes[h]), fmt_count(b, l->via_blocks[h]));
    } else {
        printf("  not freed %s bytes in %s blocks (no heap graph: %s)\n", fmt_count(a, l->bytes[KIND_NOT_FREED]),
               fmt_count(b, l->blocks[KIND_NOT_FREED]), cli_no_graph_why(m->snapshot));
    }
    if (l->inherited_blocks)
        printf("  inherited        %s bytes in %s blocks, made before the fork: the parent's to judge\n",
               fmt_count(a, l->inherited_bytes), fmt_count(b, l->inherited_blocks));
    for (size_t i = 0; i < l->n_rec; i++) {
        const struct leak_record *r = &l->rec[i];
        printf("\n%s", fmt_count(a, r->bytes));
        if (r->indirect)
            printf(" (+%s indirect)", fmt_count(c, r->indirect));
        printf(" bytes in %s block%s %s%s%s%s%s%s\n", fmt_count(b, r->blocks), r->blocks == 1 ? "" : "s",
               kind_words(r->kind), r->via ? " via heuristic " : "", r->via ? heuristic_name(r->via - 1) : "",
               r->inherited ? ", inherited from the parent process" : "", r->type ? ", type " : "",
               r->type ? r->type : "");
        if (r->unreleased)
            printf("  (%s of them with a refcount above every reference found: a reference never released)\n",
                   fmt_count(c, r->unreleased));
        stack_print_text(stdout, l->sym, m, r->stack_id, "    ");
    }
}

static struct common_opts env = COMMON_OPTS_INIT;

static int leaks_main(int argc, char **argv)
{
    (void)argc;
    const char *path = argv[0];
    struct model m;
    if (cli_load(&m, path, &(struct model_load_options){ .snapshot = env.snapshot }) != 0)
        return EXIT_TRACE_ERROR;
    if (!m.snapshot) {
        model_free(&m);
        return cli_error("%s: the trace has no complete snapshot", path);
    }
    struct symbolizer *sym = sym_open(&m);
    struct leak_report l;
    leak_report_build(&l, &m, sym, env.heuristics);
    if (env.format == OUT_JSON)
        print_json(&l);
    else
        print_text(&l);
    leak_report_free(&l);
    cli_sym_close(sym);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env), OPT_TERMINATOR,
};

const struct command command_leaks = {
    .name = "leaks", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = leaks_main,
    .summary = "blocks live at a snapshot by leak kind, grouped by allocation stack",
    .about = "The kinds are valgrind memcheck's: definitely, indirectly and possibly lost, still reachable.\n"
             "A snapshot without the heap graph (HEAPSCOPE_SCAN=0) can only say what was not freed.\n",
};

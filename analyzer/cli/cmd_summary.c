/*
 * heapscope summary FILE: the run's facts: program, allocation calls and
 * bytes, peak live bytes and when, snapshots, what was not freed.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph.h"
#include "util.h"

static const unsigned kinds[] = { KIND_DEFINITELY_LOST, KIND_INDIRECTLY_LOST, KIND_POSSIBLY_LOST,
                                  KIND_STILL_REACHABLE };

static const char *end_reason(const struct model *m)
{
    if (!m->has_end)
        return NULL;
    return m->end_reason == FMT_END_EXEC ? "exec" : "exit";
}

static void snapshots_json(struct json *j, const struct model *m)
{
    json_array(j, "snapshots");
    for (size_t i = 0; i < m->n_snapshots; i++) {
        const struct model_snapshot *s = &m->snapshots[i];
        if (s->superseded)
            continue;
        json_object(j, NULL);
        json_str(j, "name", s->name);
        json_u64(j, "index", s->index);
        json_u64(j, "time_ns", s->time_ns);
        json_u64(j, "live_blocks", s->blocks);
        json_u64(j, "live_bytes", s->bytes);
        json_bool(j, "complete", s->complete);
        json_bool(j, "scanned", s->scanned);
        json_object_end(j);
    }
    json_array_end(j);
}

static void allocators_json(struct json *j, const struct model *m)
{
    json_array(j, "allocators");
    for (size_t i = 0; i < m->n_allocators; i++) {
        json_object(j, NULL);
        json_str(j, "name", *m->allocators[i].name ? m->allocators[i].name : NULL);
        json_str(j, "module", m->allocators[i].module);
        json_bool(j, "is_malloc", !m->allocators[i].malloc_ours);
        json_object_end(j);
    }
    json_array_end(j);
}

static void print_json(const struct model *m, unsigned heuristics)
{
    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    int scanned = graph_leak_totals(m, heuristics, bytes, blocks, inherited);
    struct json j;
    json_init(&j, stdout);
    json_object(&j, NULL);
    json_str(&j, "program", m->program);
    json_str(&j, "exe", m->exe);
    json_str(&j, "command", m->cmdline);
    json_u64(&j, "pid", m->pid);
    json_u64(&j, "ppid", m->ppid);
    json_u64(&j, "start_unix_ns", m->start_unix_ns);
    json_u64(&j, "duration_ns", model_duration_ns(m));
    json_u64(&j, "allocations", m->allocs);
    json_u64(&j, "frees", m->frees);
    json_u64(&j, "bytes_allocated", m->bytes_allocated);
    json_u64(&j, "bytes_freed", m->bytes_freed);
    json_object(&j, "allocations_by_function");
    for (unsigned i = 0; i < FMT_FN_COUNT; i++)
        json_u64(&j, fmt_alloc_fn_name(i), m->allocs_by_fn[i]);
    json_object_end(&j);
    json_u64(&j, "peak_live_bytes", m->peak_bytes);
    json_u64(&j, "peak_time_ns", m->peak_time_ns);
    json_u64(&j, "threads", m->threads);
    json_u64(&j, "modules", m->n_modules);
    snapshots_json(&j, m);
    json_object(&j, "leaks");
    if (m->snapshot) {
        json_str(&j, "snapshot", m->snapshot->name);
        amount_json(&j, "not_freed", m->reported_bytes, m->reported_blocks);
        for (size_t k = 0; scanned && k < 4; k++)
            amount_json(&j, leak_kind_name(kinds[k]), bytes[kinds[k]], blocks[kinds[k]]);
        if (scanned)
            amount_json(&j, "inherited", inherited[0], inherited[1]);
        json_bool(&j, "exec", model_exec_snapshot(m));
    }
    json_object_end(&j);
    allocators_json(&j, m);
    json_str(&j, "end", end_reason(m));
    json_bool(&j, "complete", m->has_end && !m->damage);
    json_str(&j, "damage", m->damage);
    json_object_end(&j);
}

static void print_text(const struct model *m, unsigned heuristics)
{
    char a[32], b[32], c[32];
    printf("program      %s (pid %llu, parent %llu)\n", m->program, (unsigned long long)m->pid,
           (unsigned long long)m->ppid);
    printf("command      %s\n", m->cmdline);
    printf("duration     %.3f s%s\n", (double)model_duration_ns(m) / 1e9,
           !m->has_end ? " (cut short)" : m->end_reason == FMT_END_EXEC ? " (ended by exec)" : "");
    printf("allocations  %s calls, %s\n", fmt_count(a, m->allocs), fmt_bytes(b, m->bytes_allocated));
    printf("frees        %s calls, %s\n", fmt_count(a, m->frees), fmt_bytes(b, m->bytes_freed));
    if (m->has_end)
        printf("peak live    %s at %.3f s\n", fmt_bytes(a, m->peak_bytes), (double)m->peak_time_ns / 1e9);
    printf("threads      %llu\n", (unsigned long long)m->threads);
    char allocator[4096];
    if (model_malloc_foreign(m, allocator, sizeof allocator))
        printf("allocator    %s\n", allocator);
    if (model_allocators_beside(m, allocator, sizeof allocator))
        printf("allocator    %s\n", allocator);
    int first = 1;
    for (size_t i = 0; i < m->n_snapshots; i++) {
        const struct model_snapshot *s = &m->snapshots[i];
        if (s->superseded)
            continue;
        printf("%s %-10s %s blocks, %s at %.3f s%s\n", first ? "snapshots   " : "            ", s->name,
               fmt_count(a, s->blocks), fmt_bytes(b, s->bytes), (double)s->time_ns / 1e9,
               s->complete ? "" : " (incomplete)");
        first = 0;
    }
    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    if (graph_leak_totals(m, heuristics, bytes, blocks, inherited)) {
        printf("leaks at %s%s\n", m->snapshot->name, model_exec_snapshot(m) ? " (replaced by exec: not judged)" : "");
        for (size_t k = 0; k < 4; k++)
            printf("  %-16s %s bytes in %s blocks\n", leak_kind_name(kinds[k]), fmt_count(a, bytes[kinds[k]]),
                   fmt_count(c, blocks[kinds[k]]));
        if (inherited[1])
            printf("  %-16s %s bytes in %s blocks (the parent's to judge)\n", "inherited",
                   fmt_count(a, inherited[0]), fmt_count(c, inherited[1]));
    } else if (m->snapshot) {
        printf("not freed    %s bytes in %s blocks at snapshot %s\n", fmt_count(a, m->reported_bytes),
               fmt_count(c, m->reported_blocks), m->snapshot->name);
    }
}

static struct common_opts env = COMMON_OPTS_INIT;

static int summary_main(int argc, char **argv)
{
    (void)argc;
    struct model m;
    if (cli_load(&m, argv[0], &(struct model_load_options){ .snapshot = env.snapshot }) != 0)
        return EXIT_TRACE_ERROR;
    if (env.format == OUT_JSON)
        print_json(&m, env.heuristics);
    else
        print_text(&m, env.heuristics);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env), OPT_TERMINATOR,
};

const struct command command_summary = {
    .name = "summary", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = summary_main,
    .summary = "run facts: allocations, peak, snapshots, what was not freed",
};

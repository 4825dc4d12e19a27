/*
 * heapscope summary FILE: the run's facts: program, allocation calls and
 * bytes, peak live bytes and when, snapshots, what was not freed; and as
 * heaptrack_print does, the stacks with the most calls, the biggest at the
 * peak, the most temporary allocations, the most leaked (--top N each), the
 * sizes, how long blocks lived, and the peak RSS.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "describe.h"
#include "graph.h"
#include "leak_report.h"
#include "profile.h"
#include "util.h"

static uint64_t top = 10;

static void profile_json(struct json *j, const struct model *m, struct symbolizer *sym, const char *key,
                         enum profile_by by, const char *count_name)
{
    struct profile_row *rows;
    size_t n = profile_top(m, by, top, &rows);
    json_array(j, key);
    for (size_t i = 0; i < n; i++) {
        json_object(j, NULL);
        json_u64(j, "bytes", rows[i].bytes);
        json_u64(j, count_name, rows[i].count);
        stack_print_json(j, "stack", sym, m, rows[i].stack_id);
        json_object_end(j);
    }
    json_array_end(j);
    free(rows);
}

static void heaptrack_views_json(struct json *j, const struct model *m, struct symbolizer *sym,
                                 const struct leak_report *l)
{
    json_u64(j, "peak_live_blocks", m->stream_peak_blocks);
    json_u64(j, "peak_rss_bytes", m->peak_rss_bytes);
    json_u64(j, "peak_rss_time_ns", m->peak_rss_time_ns);
    profile_json(j, m, sym, "peak_consumers", PROFILE_PEAK, "blocks");
    json_u64(j, "temporary_allocations", m->temporary_allocations);
    json_u64(j, "temporary_bytes", m->temporary_bytes);
    profile_json(j, m, sym, "temporary_sites", PROFILE_TEMPORARY, "count");
    profile_json(j, m, sym, "most_calls", PROFILE_CALLS, "calls");
    profile_json(j, m, sym, "most_bytes", PROFILE_ALLOCATED, "calls");
    json_array(j, "most_leaked");
    const struct leak_record *lr[256];
    size_t n = l ? leak_report_most_leaked(l, top, lr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object(j, NULL);
        json_str(j, "kind", leak_record_kind(lr[i]->kind));
        json_u64(j, "bytes", lr[i]->bytes);
        json_u64(j, "blocks", lr[i]->blocks);
        stack_print_json(j, "stack", sym, m, lr[i]->stack_id);
        json_object_end(j);
    }
    json_array_end(j);
    sizes_lifetimes_json(j, m);
}

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

static void print_json(const struct model *m, unsigned heuristics, struct symbolizer *sym,
                       const struct leak_report *l)
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
    json_u64(&j, "peak_live_bytes", m->stream_peak_bytes);
    json_u64(&j, "peak_time_ns", m->stream_peak_time_ns);
    heaptrack_views_json(&j, m, sym, l);
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

static void profile_text(const struct model *m, struct symbolizer *sym, const char *title, enum profile_by by,
                         const char *what)
{
    char a[32], b[32];
    struct profile_row *rows;
    size_t n = profile_top(m, by, top, &rows);
    if (n)
        printf("\n%s\n", title);
    for (size_t i = 0; i < n; i++) {
        if (by == PROFILE_PEAK)
            printf("%s in %s block%s\n", fmt_bytes(a, rows[i].bytes), fmt_count(b, rows[i].count),
                   rows[i].count == 1 ? "" : "s");
        else
            printf("%s %s, %s\n", fmt_count(a, rows[i].count), what, fmt_bytes(b, rows[i].bytes));
        stack_print_text(stdout, sym, m, rows[i].stack_id, "    ");
    }
    free(rows);
}

static void heaptrack_views_text(const struct model *m, struct symbolizer *sym, const struct leak_report *l)
{
    char a[32], b[32], c[32];
    if (m->allocs)
        printf("temporary    %s allocations (%.1f%% of all), %s\n", fmt_count(a, m->temporary_allocations),
               100.0 * (double)m->temporary_allocations / (double)m->allocs, fmt_bytes(b, m->temporary_bytes));
    if (m->has_lifetimes && m->frees)
        printf("lifetimes    freed under 1 ms %s, under 1 s %s, later %s (blocks)\n",
               fmt_count(a, m->lifetimes[FMT_AGE_UNDER_MS].count), fmt_count(b, m->lifetimes[FMT_AGE_UNDER_S].count),
               fmt_count(c, m->lifetimes[FMT_AGE_LONGER].count));
    if (m->peak_rss_bytes)
        printf("peak RSS     %s at %.3f s (heap at its peak: %s)\n", fmt_bytes(a, m->peak_rss_bytes),
               (double)m->peak_rss_time_ns / 1e9, fmt_bytes(b, m->stream_peak_bytes));
    profile_text(m, sym, "most calls", PROFILE_CALLS, "calls");
    profile_text(m, sym, "peak consumers (live at the peak)", PROFILE_PEAK, NULL);
    profile_text(m, sym, "most temporary", PROFILE_TEMPORARY, "temporary");
    const struct leak_record *lr[256];
    size_t n = l ? leak_report_most_leaked(l, top, lr) : 0;
    if (n)
        printf("\nmost leaked (at %s)\n", m->snapshot->name);
    for (size_t i = 0; i < n; i++) {
        printf("%s in %s block%s %s\n", fmt_bytes(a, lr[i]->bytes), fmt_count(b, lr[i]->blocks),
               lr[i]->blocks == 1 ? "" : "s", leak_record_kind(lr[i]->kind));
        stack_print_text(stdout, sym, m, lr[i]->stack_id, "    ");
    }
}

static void print_text(const struct model *m, unsigned heuristics, struct symbolizer *sym,
                       const struct leak_report *l)
{
    char a[32], b[32], c[32];
    printf("program      %s (pid %llu, parent %llu)\n", m->program, (unsigned long long)m->pid,
           (unsigned long long)m->ppid);
    printf("command      %s\n", m->cmdline);
    printf("duration     %.3f s%s\n", (double)model_duration_ns(m) / 1e9,
           !m->has_end ? " (cut short)" : m->end_reason == FMT_END_EXEC ? " (ended by exec)" : "");
    printf("allocations  %s calls, %s\n", fmt_count(a, m->allocs), fmt_bytes(b, m->bytes_allocated));
    printf("frees        %s calls, %s\n", fmt_count(a, m->frees), fmt_bytes(b, m->bytes_freed));
    if (m->allocs)
        printf("peak live    %s in %s blocks at %.3f s\n", fmt_bytes(a, m->stream_peak_bytes),
               fmt_count(b, m->stream_peak_blocks), (double)m->stream_peak_time_ns / 1e9);
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
    heaptrack_views_text(m, sym, l);
}

static struct common_opts env = COMMON_OPTS_INIT;

static int summary_main(int argc, char **argv)
{
    (void)argc;
    struct model m;
    if (cli_load(&m, argv[0], &(struct model_load_options){ .snapshot = env.snapshot }) != 0)
        return EXIT_TRACE_ERROR;
    if (top > 256)
        top = 256;
    struct symbolizer *sym = sym_open(&m);
    struct leak_report l;
    if (m.snapshot)
        leak_report_build(&l, &m, sym, env.heuristics);
    if (env.format == OUT_JSON)
        print_json(&m, env.heuristics, sym, m.snapshot ? &l : NULL);
    else
        print_text(&m, env.heuristics, sym, m.snapshot ? &l : NULL);
    if (m.snapshot)
        leak_report_free(&l);
    cli_sym_close(sym);
    model_free(&m);
    return 0;
}

static const struct opt options[] = {
    OPT_COMMON(&env),
    OPT_NUM(0, "top", &top, "N", "how many stacks each ranking lists (10; at most 256)"),
    OPT_TERMINATOR,
};

const struct command command_summary = {
    .name = "summary", .args = "FILE", .min_args = 1, .max_args = 1, .options = options, .main = summary_main,
    .summary = "run facts: allocations, peak, snapshots, what was not freed",
};

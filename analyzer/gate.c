/* The CI leak gate's verdict (gate.h). */
#include "gate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "util.h"

int gate_init(struct gate *g, const struct gate_options *o, size_t n, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->o = o;
    g->n_tr = n;
    g->tr = xcalloc(n ? n : 1, sizeof *g->tr);
    for (size_t i = 0; i < o->n_unseen; i++)
        lines_add(&g->unseen, &g->n_unseen, o->unseen[i]);
    for (size_t i = 0; i < o->n_supp_files; i++)
        if (suppressions_load(&g->supp, o->supp_files[i]) != 0) {
            snprintf(err, errlen, "cannot read suppressions %s: %s", o->supp_files[i], strerror(errno));
            gate_free(g);
            return -1;
        }
    int r = o->baseline ? baseline_load(&g->base, o->baseline) : 0;
    if (r) {
        snprintf(err, errlen, "%s: %s", o->baseline, r == -1 ? strerror(errno) : "not a heapscope baseline");
        gate_free(g);
        return -1;
    }
    return 0;
}

static char *stack_text(struct symbolizer *sym, const struct model *m, uint32_t stack_id)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return xstrdup("");
    stack_print_text(f, sym, m, stack_id, "    ");
    fclose(f);
    return buf;
}

static void add_finding(struct gate *g, size_t t, const struct leak_record *r)
{
    struct gate_trace *tr = &g->tr[t];
    char *sig = leak_signature(tr->sym, &tr->model, r);
    baseline_add(&g->current, sig, r->bytes, r->blocks);
    size_t idx = *strmap_get(&g->current.index, sig, 0);
    free(sig);
    if (g->n_fd == g->cap_fd) {
        g->cap_fd = g->cap_fd ? g->cap_fd * 2 : 64;
        g->fd = xrealloc(g->fd, g->cap_fd * sizeof *g->fd);
    }
    struct gate_finding *f = &g->fd[g->n_fd++];
    *f = (struct gate_finding){ .trace = t, .rec = r, .sig = idx,
                                .stack_text = stack_text(tr->sym, &tr->model, r->stack_id) };
    f->located = sym_user_location(tr->sym, &tr->model, r->stack_id, &f->loc);
}

/* Collects one trace's findings: records of the chosen kinds that no
 * suppression (the files', or the program's own) matches. */
static void collect(struct gate *g, size_t t)
{
    struct gate_trace *tr = &g->tr[t];
    struct model *m = &tr->model;
    struct suppressions own = { 0 }; /* the program's __lsan_default_suppressions */
    if (m->suppressions)
        suppressions_add_text(&own, m->suppressions);
    tr->sym = sym_open(m);
    leak_report_build(&tr->report, m, tr->sym, g->o->heuristics);
    tr->first = g->n_fd;
    /* A process image replaced by exec leaked nothing: its heap is gone. */
    size_t n_rec = model_exec_snapshot(m) ? 0 : tr->report.n_rec;
    for (size_t i = 0; i < n_rec; i++) {
        const struct leak_record *r = &tr->report.rec[i];
        unsigned k = r->kind == KIND_NOT_FREED ? KIND_DEFINITELY_LOST : r->kind; /* unscanned: all count as lost */
        if (r->inherited || !(g->o->kinds & 1u << k)) /* inherited: judged in the parent's trace */
            continue;
        if (suppressions_match_stack(&g->supp, tr->sym, m, r->stack_id) ||
            suppressions_match_stack(&own, tr->sym, m, r->stack_id))
            continue;
        add_finding(g, t, r);
    }
    tr->n = g->n_fd - tr->first;
    suppressions_free(&own);
}

/* "PROGRAM (pid N): what" into the list. */
static void add_process_line(char ***lines, size_t *n, const struct model *m, const char *what)
{
    char line[4800];
    snprintf(line, sizeof line, "%s (pid %llu): %s", m->program, (unsigned long long)m->pid, what);
    lines_add(lines, n, line);
}

enum gate_take gate_add(struct gate *g, size_t t, const char *path)
{
    struct gate_trace *tr = &g->tr[t];
    struct model *m = &tr->model;
    char why[4600];
    tr->path = path;
    tr->loaded = 1;
    if (model_malloc_foreign(m, why, sizeof why)) {
        add_process_line(&g->unseen, &g->n_unseen, m, why);
        tr->unseen = 1;
        return GATE_FOREIGN;
    }
    if (model_allocators_beside(m, why, sizeof why))
        add_process_line(&g->notes, &g->n_notes, m, why);
    if (!m->snapshot && m->has_process && !m->has_end) { /* killed, most likely */
        add_process_line(&g->unseen, &g->n_unseen, m, "ended before its exit snapshot, not judged");
        tr->unseen = 1;
        return GATE_ENDED_EARLY;
    }
    if (!m->snapshot) {
        tr->error = 1;
        g->errors++;
        return GATE_NO_SNAPSHOT;
    }
    tr->program = m->program;
    tr->pid = m->pid;
    collect(g, t);
    return GATE_JUDGED;
}

void gate_unreadable(struct gate *g, size_t t, const char *path)
{
    g->tr[t].path = path;
    g->tr[t].error = 1;
    g->errors++;
}

int gate_failing(const struct gate *g, const struct gate_finding *f)
{
    return g->grown_bytes[f->sig] || g->grown_blocks[f->sig];
}

void gate_judge(struct gate *g)
{
    /* what fails: every byte of a new signature, the growth of a known one */
    size_t ns = g->current.n ? g->current.n : 1;
    g->grown_bytes = xcalloc(ns, sizeof *g->grown_bytes);
    g->grown_blocks = xcalloc(ns, sizeof *g->grown_blocks);
    for (size_t i = 0; i < g->current.index.cap; i++) {
        if (!g->current.index.keys[i])
            continue;
        size_t v = g->current.index.vals[i];
        size_t *b = g->o->baseline ? strmap_get(&g->base.index, g->current.index.keys[i], 0) : NULL;
        uint64_t base_bytes = b ? g->base.bytes[*b] : 0, base_blocks = b ? g->base.blocks[*b] : 0;
        g->grown_bytes[v] = g->current.bytes[v] > base_bytes ? g->current.bytes[v] - base_bytes : 0;
        g->grown_blocks[v] = g->current.blocks[v] > base_blocks ? g->current.blocks[v] - base_blocks : 0;
        g->total_bytes += g->grown_bytes[v];
        g->total_blocks += g->grown_blocks[v];
    }
    for (size_t i = 0; i < g->n_fd; i++)
        if (gate_failing(g, &g->fd[i])) {
            g->tr[g->fd[i].trace].bytes += g->fd[i].rec->bytes;
            g->tr[g->fd[i].trace].blocks += g->fd[i].rec->blocks;
        }
    g->fail = g->total_bytes > g->o->max_bytes || g->total_blocks > g->o->max_blocks || g->n_unseen;
}

/* The first line: pass or FAIL, what leaked, how many processes. */
static void verdict_line(FILE *f, const struct gate *g)
{
    char a[32], b[32];
    size_t leaking = 0, traced = g->n_tr;
    for (size_t t = 0; t < g->n_tr; t++) {
        leaking += g->tr[t].bytes || g->tr[t].blocks;
        traced -= g->tr[t].unseen;
    }
    fprintf(f, "heapscope gate: %s: %s bytes in %s blocks %s, in %zu of %zu traced processes",
            g->fail ? "FAIL" : "pass", fmt_count(a, g->total_bytes), fmt_count(b, g->total_blocks),
            g->o->baseline ? "leaked beyond the baseline" : "leaked", leaking, traced);
    if (g->o->ran >= 0)
        fprintf(f, " (%ld ran)", g->o->ran);
    fputs(g->errors ? " (some traces could not be read)" : "", f);
    if (g->n_unseen == 1)
        fprintf(f, "; %s\n", g->unseen[0]);
    else if (g->n_unseen)
        fprintf(f, "; %zu not seen whole:\n", g->n_unseen);
    else
        fputc('\n', f);
    for (size_t i = 0; g->n_unseen > 1 && i < g->n_unseen; i++)
        fprintf(f, "  %s\n", g->unseen[i]);
}

void gate_verdict_write(FILE *f, const struct gate *g)
{
    char a[32], b[32], where[4200];
    verdict_line(f, g);
    for (size_t t = 0; t < g->n_tr; t++) {
        const struct gate_trace *r = &g->tr[t];
        if (!r->bytes && !r->blocks)
            continue;
        fprintf(f, "  %s (pid %llu): %s bytes in %s blocks; %s\n", r->program, (unsigned long long)r->pid,
                fmt_count(a, r->bytes), fmt_count(b, r->blocks), r->path);
        for (size_t i = r->first, shown = 0; i < r->first + r->n && shown < 5; i++) {
            const struct gate_finding *fd = &g->fd[i];
            if (!gate_failing(g, fd))
                continue;
            shown++;
            fprintf(f, "    %s bytes %s", fmt_count(a, fd->rec->bytes), leak_record_kind(fd->rec->kind));
            if (fd->located)
                fprintf(f, " at %s", sym_location_text(&fd->loc, 0, where, sizeof where));
            fputc('\n', f);
        }
    }
    for (size_t i = 0; i < g->n_notes; i++)
        fprintf(f, "  %s\n", g->notes[i]);
}

int gate_status(const struct gate *g)
{
    if (g->errors && !g->fail)
        return 2;
    return g->fail ? 1 : 0;
}

void gate_free(struct gate *g)
{
    for (size_t i = 0; i < g->n_fd; i++)
        free(g->fd[i].stack_text);
    free(g->fd);
    for (size_t t = 0; t < g->n_tr; t++) {
        if (g->tr[t].sym) {
            leak_report_free(&g->tr[t].report);
            sym_close(g->tr[t].sym);
        }
        if (g->tr[t].loaded)
            model_free(&g->tr[t].model);
    }
    free(g->tr);
    free(g->grown_bytes);
    free(g->grown_blocks);
    suppressions_free(&g->supp);
    baseline_free(&g->base);
    baseline_free(&g->current);
    lines_free(g->unseen, g->n_unseen);
    lines_free(g->notes, g->n_notes);
    memset(g, 0, sizeof *g);
}

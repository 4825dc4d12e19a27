/*
 * The CI leak gate: heapscope gate FILE... and heapscope run --gate. One
 * verdict over every trace: 1 when the leaks of the chosen kinds (definitely
 * and indirectly lost by default), after suppressions and the baseline,
 * exceed the thresholds; else 0. Suppressions are LeakSanitizer's
 * `leak:PATTERN` lines, from files and from a program's own
 * __lsan_default_suppressions (recorded in its trace). A baseline names leak
 * records by their symbolized stack (function and file of each frame, no
 * addresses, no lines), so it survives rebuilds and edits elsewhere.
 * Reports: JUnit XML (a test case per traced process) and SARIF 2.1.0 (a
 * result per leak record), each leak located by sym_user_location.
 */
#include "gate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "leak_report.h"
#include "util.h"

/* --------------------------------------------------------- suppressions */

struct patterns {
    char **p;
    size_t n;
};

static void add_patterns(struct patterns *ps, const char *text)
{
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        while (len && (*line == ' ' || *line == '\t')) {
            line++;
            len--;
        }
        if (len > 5 && strncmp(line, "leak:", 5) == 0) {
            ps->p = xrealloc(ps->p, (ps->n + 1) * sizeof *ps->p);
            ps->p[ps->n] = xmalloc(len - 5 + 1);
            memcpy(ps->p[ps->n], line + 5, len - 5);
            ps->p[ps->n++][len - 5] = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
}

static int load_patterns(struct patterns *ps, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (text) {
        text[len] = 0;
        add_patterns(ps, text);
        free(text);
    }
    return 0;
}

/* LeakSanitizer's matching: '*' matches any run of characters, '^' and '$'
 * anchor at the start and the end; without anchors the pattern may match
 * anywhere. */
static int match_here(const char *p, const char *s)
{
    for (;; p++, s++) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return 1;
            for (; *s; s++)
                if (match_here(p, s))
                    return 1;
            return match_here(p, s);
        }
        if (*p == '$' && p[1] == 0)
            return *s == 0;
        if (!*p)
            return 1;
        if (*p != *s)
            return 0;
    }
}

int gate_pattern_match(const char *pattern, const char *s)
{
    if (!s)
        return 0;
    if (*pattern == '^')
        return match_here(pattern + 1, s);
    for (const char *t = s;; t++) {
        if (match_here(pattern, t))
            return 1;
        if (!*t)
            return 0;
    }
}

static int suppressed(const struct patterns *ps, struct symbolizer *sym, const struct model *m, uint32_t stack_id)
{
    const struct model_stack *st = model_stack(m, stack_id);
    for (uint32_t i = 0; st && i < st->n; i++) {
        const struct sym_frame *f;
        size_t n = sym_resolve(sym, st->frames[i], &f);
        for (size_t k = 0; k < n; k++)
            for (size_t q = 0; q < ps->n; q++)
                if (gate_pattern_match(ps->p[q], f[k].function) || gate_pattern_match(ps->p[q], f[k].file) ||
                    gate_pattern_match(ps->p[q], f[k].module))
                    return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- baseline */

/* A record's name across builds: kind, then "function@file" per frame. */
static char *signature(struct symbolizer *sym, const struct model *m, const struct leak_record *r)
{
    size_t cap = 256, len = 0;
    char *s = xmalloc(cap);
    len = (size_t)snprintf(s, cap, "%s", leak_record_kind(r->kind));
    const struct model_stack *st = model_stack(m, r->stack_id);
    for (uint32_t i = 0; st && i < st->n; i++) {
        const struct sym_frame *f;
        size_t n = sym_resolve(sym, st->frames[i], &f);
        for (size_t k = 0; k < n; k++) {
            const char *file = f[k].file ? strrchr(f[k].file, '/') : NULL;
            const char *mod = f[k].module ? strrchr(f[k].module, '/') : NULL;
            char frame[600];
            int fl = snprintf(frame, sizeof frame, ";%s@%s", f[k].function ? f[k].function : "?",
                              file ? file + 1 : f[k].file ? f[k].file : mod ? mod + 1 : "?");
            if (len + (size_t)fl + 1 > cap) {
                cap = (len + (size_t)fl + 1) * 2;
                s = xrealloc(s, cap);
            }
            memcpy(s + len, frame, (size_t)fl + 1);
            len += (size_t)fl;
        }
    }
    return s;
}

struct baseline {
    struct strmap index; /* signature -> entry */
    uint64_t *bytes, *blocks;
    size_t n, cap;
};

static void baseline_add(struct baseline *b, const char *sig, uint64_t bytes, uint64_t blocks)
{
    size_t *slot = strmap_get(&b->index, sig, 1);
    if (*slot == SIZE_MAX) {
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 64;
            b->bytes = xrealloc(b->bytes, b->cap * sizeof *b->bytes);
            b->blocks = xrealloc(b->blocks, b->cap * sizeof *b->blocks);
        }
        b->bytes[b->n] = b->blocks[b->n] = 0;
        *slot = b->n++;
    }
    b->bytes[*slot] += bytes;
    b->blocks[*slot] += blocks;
}

/* The baseline file: a header line, then "bytes blocks signature" per line. */
static int baseline_load(struct baseline *b, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ok = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (!ok) {
            ok = strcmp(line, "# heapscope baseline 1") == 0;
            if (!ok)
                break;
            continue;
        }
        unsigned long long bytes, blocks;
        int off = 0;
        if (sscanf(line, "%llu %llu %n", &bytes, &blocks, &off) == 2 && off > 0)
            baseline_add(b, line + off, bytes, blocks);
    }
    free(line);
    fclose(f);
    return ok ? 0 : -2;
}

static void baseline_free(struct baseline *b)
{
    strmap_free(&b->index);
    free(b->bytes);
    free(b->blocks);
}

/* -------------------------------------------------------------- reports */

static void xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* A record of a chosen kind, not suppressed, with its signature's entry. */
struct finding {
    size_t trace;
    const struct leak_record *rec;
    size_t sig;       /* index into the current signatures */
    char *stack_text; /* valgrind-style lines */
    int located;      /* loc is set (the stack is not empty) */
    struct sym_location loc;
};

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

struct trace_result {
    const char *path;
    const char *program;
    uint64_t pid;
    int error;
    int unseen;               /* its malloc was not ours: it is one of the unseen */
    size_t first, n;          /* its findings */
    uint64_t bytes, blocks;   /* of its failing findings */
};

struct gate {
    const struct gate_options *o;
    struct trace_result *tr;
    size_t n_tr;
    struct finding *fd;
    size_t n_fd, cap_fd;
    struct baseline current;  /* this run, by signature */
    struct baseline base;     /* the --baseline file */
    uint64_t *grown_bytes, *grown_blocks; /* per current signature: what fails */
    char **unseen;            /* processes not seen whole: the run's, then traces of a foreign malloc */
    size_t n_unseen;
    char **notes;             /* allocators beside ours, whose allocations were not traced */
    size_t n_notes;
};

static void add_line(char ***lines, size_t *n, const char *line)
{
    *lines = xrealloc(*lines, (*n + 1) * sizeof **lines);
    (*lines)[(*n)++] = xstrdup(line);
}

static int failing(const struct gate *g, const struct finding *f)
{
    return g->grown_bytes[f->sig] || g->grown_blocks[f->sig];
}

static void write_junit(const struct gate *g)
{
    FILE *f = fopen(g->o->junit, "w");
    if (!f) {
        cli_error("cannot write %s: %s", g->o->junit, strerror(errno));
        return;
    }
    size_t failures = 0, errors = 0;
    for (size_t t = 0; t < g->n_tr; t++) {
        errors += g->tr[t].error;
        failures += g->tr[t].bytes || g->tr[t].blocks;
    }
    size_t tests = g->n_tr + g->n_unseen;
    for (size_t t = 0; t < g->n_tr; t++)
        tests -= g->tr[t].unseen;
    errors += g->n_unseen;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"heapscope\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n"
               "  <testsuite name=\"heapscope leak gate\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n",
            tests, failures, errors, tests, failures, errors);
    for (size_t i = 0; i < g->n_unseen; i++) { /* a process not seen whole is a test that could not run */
        fputs("    <testcase classname=\"heapscope.leaks\" name=\"untraced\">\n      <error message=\"", f);
        xml_text(f, g->unseen[i]);
        fputs("\"/>\n    </testcase>\n", f);
    }
    for (size_t t = 0; t < g->n_tr; t++) {
        const struct trace_result *r = &g->tr[t];
        if (r->unseen)
            continue;
        fprintf(f, "    <testcase classname=\"heapscope.leaks\" name=\"");
        xml_text(f, r->program ? r->program : r->path);
        fprintf(f, " (pid %llu)\" file=\"", (unsigned long long)r->pid);
        xml_text(f, r->path);
        fputs("\">\n", f);
        if (r->error)
            fputs("      <error message=\"the trace could not be read\"/>\n", f);
        for (size_t i = r->first; i < r->first + r->n; i++) {
            const struct finding *fd = &g->fd[i];
            if (!failing(g, fd))
                continue;
            fprintf(f, "      <failure type=\"%s\" message=\"%llu bytes in %llu blocks %s", leak_record_kind(fd->rec->kind),
                    (unsigned long long)fd->rec->bytes, (unsigned long long)fd->rec->blocks,
                    leak_record_kind(fd->rec->kind));
            if (fd->located) {
                char where[4200];
                fputs(" at ", f);
                xml_text(f, sym_location_text(&fd->loc, 1, where, sizeof where));
            }
            fputs("\">", f);
            xml_text(f, fd->stack_text);
            fputs("</failure>\n", f);
        }
        fputs("    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    fclose(f);
}

/* A leak's location: its source line; without one, its module (the binary
 * artifact) and the offset in it. The function, when known, as the logical
 * location. */
static void sarif_location(struct json *j, const struct sym_location *loc)
{
    const struct sym_frame *f = &loc->frame;
    const char *artifact = f->file && f->line ? f->file : f->module;
    json_object(j, NULL);
    if (artifact) {
        json_object(j, "physicalLocation");
        json_object(j, "artifactLocation");
        char uri[4200];
        snprintf(uri, sizeof uri, "%s%s", artifact[0] == '/' ? "file://" : "", artifact);
        json_str(j, "uri", uri);
        json_object_end(j);
        if (artifact == f->file) {
            json_object(j, "region");
            json_u64(j, "startLine", f->line);
        } else {
            json_object(j, "address");
            json_u64(j, "absoluteAddress", loc->offset);
            json_str(j, "kind", "instruction");
        }
        json_object_end(j);
        json_object_end(j);
    }
    if (f->function) {
        json_array(j, "logicalLocations");
        json_object(j, NULL);
        json_str(j, "fullyQualifiedName", f->function);
        json_str(j, "kind", "function");
        json_object_end(j);
        json_array_end(j);
    }
    json_object_end(j);
}

static void write_sarif(const struct gate *g)
{
    FILE *out = fopen(g->o->sarif, "w");
    if (!out) {
        cli_error("cannot write %s: %s", g->o->sarif, strerror(errno));
        return;
    }
    struct json j;
    json_init(&j, out);
    json_object(&j, NULL);
    json_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    json_str(&j, "version", "2.1.0");
    json_array(&j, "runs");
    json_object(&j, NULL);
    json_object(&j, "tool");
    json_object(&j, "driver");
    json_str(&j, "name", "heapscope");
    json_str(&j, "version", HEAPSCOPE_VERSION);
    json_array(&j, "rules");
    for (unsigned k = 0; k <= KIND_COUNT; k++) {
        if (k == KIND_IGNORED)
            continue;
        json_object(&j, NULL);
        json_str(&j, "id", leak_record_kind(k));
        json_object(&j, "shortDescription");
        json_str(&j, "text", k == KIND_DEFINITELY_LOST ? "Memory definitely lost (no pointer to it remains)"
                             : k == KIND_INDIRECTLY_LOST ? "Memory lost through a lost block"
                             : k == KIND_POSSIBLY_LOST ? "Memory reachable only through interior pointers"
                             : k == KIND_STILL_REACHABLE ? "Memory not freed at exit, still reachable"
                                                         : "Memory not freed at exit");
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_object_end(&j);
    json_array(&j, "results");
    for (size_t i = 0; i < g->n_fd; i++) {
        const struct finding *fd = &g->fd[i];
        if (!failing(g, fd))
            continue;
        char msg[5000], where[4200] = "an unknown place";
        if (fd->located)
            sym_location_text(&fd->loc, 0, where, sizeof where);
        snprintf(msg, sizeof msg, "%llu bytes in %llu blocks %s%s%s, allocated at %s, in %s (pid %llu)",
                 (unsigned long long)fd->rec->bytes, (unsigned long long)fd->rec->blocks,
                 leak_record_kind(fd->rec->kind), fd->rec->type ? ", type " : "", fd->rec->type ? fd->rec->type : "",
                 where, g->tr[fd->trace].program, (unsigned long long)g->tr[fd->trace].pid);
        json_object(&j, NULL);
        json_str(&j, "ruleId", leak_record_kind(fd->rec->kind));
        json_str(&j, "level", fd->rec->kind == KIND_DEFINITELY_LOST || fd->rec->kind == KIND_INDIRECTLY_LOST ? "error"
                                                                                                              : "warning");
        json_object(&j, "message");
        json_str(&j, "text", msg);
        json_object_end(&j);
        json_array(&j, "locations");
        if (fd->located)
            sarif_location(&j, &fd->loc);
        json_array_end(&j);
        json_object(&j, "properties");
        json_str(&j, "stack", fd->stack_text);
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_array_end(&j);
    json_object_end(&j);
    fclose(out);
}

static void write_baseline(const struct gate *g)
{
    FILE *f = fopen(g->o->write_baseline, "w");
    if (!f) {
        cli_error("cannot write %s: %s", g->o->write_baseline, strerror(errno));
        return;
    }
    fputs("# heapscope baseline 1\n", f);
    for (size_t i = 0; i < g->current.index.cap; i++)
        if (g->current.index.keys[i]) {
            size_t v = g->current.index.vals[i];
            fprintf(f, "%llu %llu %s\n", (unsigned long long)g->current.bytes[v],
                    (unsigned long long)g->current.blocks[v], g->current.index.keys[i]);
        }
    fclose(f);
}

/* Collects one trace's findings: records of the chosen kinds that no
 * suppression matches. */
static void collect(struct gate *g, size_t t, struct model *m, struct symbolizer *sym, struct leak_report *rep,
                    const struct patterns *supp)
{
    struct patterns all = *supp, mine = { 0 };
    if (m->suppressions) { /* the program's own __lsan_default_suppressions */
        add_patterns(&mine, m->suppressions);
        all.p = xmalloc((supp->n + mine.n + 1) * sizeof *all.p);
        memcpy(all.p, supp->p, supp->n * sizeof *all.p);
        memcpy(all.p + supp->n, mine.p, mine.n * sizeof *all.p);
        all.n = supp->n + mine.n;
    }
    leak_report_build(rep, m, sym, g->o->heuristics);
    g->tr[t].first = g->n_fd;
    /* A process image replaced by exec leaked nothing: its heap is gone. */
    size_t n_rec = model_exec_snapshot(m) ? 0 : rep->n_rec;
    for (size_t i = 0; i < n_rec; i++) {
        const struct leak_record *r = &rep->rec[i];
        unsigned k = r->kind == KIND_NOT_FREED ? KIND_DEFINITELY_LOST : r->kind; /* unscanned: all count as lost */
        if (r->inherited || !(g->o->kinds & 1u << k) || (all.n && suppressed(&all, sym, m, r->stack_id)))
            continue; /* inherited: judged in the parent's trace */
        char *sig = signature(sym, m, r);
        baseline_add(&g->current, sig, r->bytes, r->blocks);
        size_t idx = *strmap_get(&g->current.index, sig, 0);
        free(sig);
        if (g->n_fd == g->cap_fd) {
            g->cap_fd = g->cap_fd ? g->cap_fd * 2 : 64;
            g->fd = xrealloc(g->fd, g->cap_fd * sizeof *g->fd);
        }
        struct finding *f = &g->fd[g->n_fd++];
        *f = (struct finding){ .trace = t, .rec = r, .sig = idx, .stack_text = stack_text(sym, m, r->stack_id) };
        f->located = sym_user_location(sym, m, r->stack_id, &f->loc);
    }
    g->tr[t].n = g->n_fd - g->tr[t].first;
    if (all.p != supp->p) {
        free(all.p);
        for (size_t i = 0; i < mine.n; i++)
            free(mine.p[i]);
        free(mine.p);
    }
}

int gate_run(char *const *files, size_t n_files, const struct gate_options *o)
{
    struct patterns supp = { 0 };
    for (size_t i = 0; i < o->n_supp_files; i++)
        if (load_patterns(&supp, o->supp_files[i]) != 0)
            return cli_error("cannot read suppressions %s: %s", o->supp_files[i], strerror(errno));
    struct gate g = { .o = o, .n_tr = n_files };
    for (size_t i = 0; i < o->n_unseen; i++)
        add_line(&g.unseen, &g.n_unseen, o->unseen[i]);
    if (o->baseline) {
        int r = baseline_load(&g.base, o->baseline);
        if (r)
            return cli_error("%s: %s", o->baseline, r == -1 ? strerror(errno) : "not a heapscope baseline");
    }
    size_t n = n_files ? n_files : 1;
    g.tr = xcalloc(n, sizeof *g.tr);
    struct model *models = xcalloc(n, sizeof *models);
    struct symbolizer **syms = xcalloc(n, sizeof *syms);
    struct leak_report *reports = xcalloc(n, sizeof *reports);
    int errors = 0;
    for (size_t t = 0; t < n_files; t++) {
        g.tr[t].path = files[t];
        if (cli_load(&models[t], files[t], &(struct model_load_options){ 0 }) != 0) {
            g.tr[t].error = 1;
            errors++;
            continue;
        }
        char why[4600], line[4800];
        if (model_malloc_foreign(&models[t], why, sizeof why)) {
            snprintf(line, sizeof line, "%s (pid %llu): %s", models[t].program, (unsigned long long)models[t].pid, why);
            add_line(&g.unseen, &g.n_unseen, line);
            g.tr[t].unseen = 1;
            continue;
        }
        if (model_allocators_beside(&models[t], why, sizeof why)) {
            snprintf(line, sizeof line, "%s (pid %llu): %s", models[t].program, (unsigned long long)models[t].pid, why);
            add_line(&g.notes, &g.n_notes, line);
        }
        if (!models[t].snapshot && models[t].has_process && !models[t].has_end) {
            /* it ended before its exit snapshot (killed, most likely): not judged */
            cli_forget_warning();
            snprintf(line, sizeof line, "%s (pid %llu): ended before its exit snapshot, not judged",
                     models[t].program, (unsigned long long)models[t].pid);
            add_line(&g.unseen, &g.n_unseen, line);
            g.tr[t].unseen = 1;
            continue;
        }
        if (!models[t].snapshot) {
            cli_error("%s: the trace has no complete snapshot", files[t]);
            g.tr[t].error = 1;
            errors++;
            continue;
        }
        g.tr[t].program = models[t].program;
        g.tr[t].pid = models[t].pid;
        syms[t] = sym_open(&models[t]);
        collect(&g, t, &models[t], syms[t], &reports[t], &supp);
    }
    /* what fails: every byte of a new signature, the growth of a known one */
    size_t ns = g.current.n ? g.current.n : 1;
    g.grown_bytes = xcalloc(ns, sizeof *g.grown_bytes);
    g.grown_blocks = xcalloc(ns, sizeof *g.grown_blocks);
    uint64_t total_bytes = 0, total_blocks = 0;
    for (size_t i = 0; i < g.current.index.cap; i++) {
        if (!g.current.index.keys[i])
            continue;
        size_t v = g.current.index.vals[i];
        size_t *b = o->baseline ? strmap_get(&g.base.index, g.current.index.keys[i], 0) : NULL;
        uint64_t base_bytes = b ? g.base.bytes[*b] : 0, base_blocks = b ? g.base.blocks[*b] : 0;
        g.grown_bytes[v] = g.current.bytes[v] > base_bytes ? g.current.bytes[v] - base_bytes : 0;
        g.grown_blocks[v] = g.current.blocks[v] > base_blocks ? g.current.blocks[v] - base_blocks : 0;
        total_bytes += g.grown_bytes[v];
        total_blocks += g.grown_blocks[v];
    }
    for (size_t i = 0; i < g.n_fd; i++)
        if (failing(&g, &g.fd[i])) {
            g.tr[g.fd[i].trace].bytes += g.fd[i].rec->bytes;
            g.tr[g.fd[i].trace].blocks += g.fd[i].rec->blocks;
        }
    int fail = total_bytes > o->max_bytes || total_blocks > o->max_blocks || g.n_unseen;

    /* the verdict, on stderr: how many ran, and each process not seen whole */
    char a[32], b[32];
    size_t leaking = 0, traced = n_files;
    for (size_t t = 0; t < n_files; t++) {
        leaking += g.tr[t].bytes || g.tr[t].blocks;
        traced -= g.tr[t].unseen;
    }
    fprintf(stderr, "heapscope gate: %s: %s bytes in %s blocks %s, in %zu of %zu traced processes",
            fail ? "FAIL" : "pass", fmt_count(a, total_bytes), fmt_count(b, total_blocks),
            o->baseline ? "leaked beyond the baseline" : "leaked", leaking, traced);
    if (o->ran >= 0)
        fprintf(stderr, " (%ld ran)", o->ran);
    fputs(errors ? " (some traces could not be read)" : "", stderr);
    if (g.n_unseen == 1)
        fprintf(stderr, "; %s\n", g.unseen[0]);
    else if (g.n_unseen)
        fprintf(stderr, "; %zu not seen whole:\n", g.n_unseen);
    else
        fputc('\n', stderr);
    for (size_t i = 0; g.n_unseen > 1 && i < g.n_unseen; i++)
        fprintf(stderr, "  %s\n", g.unseen[i]);
    for (size_t t = 0; t < n_files; t++) {
        const struct trace_result *r = &g.tr[t];
        if (!r->bytes && !r->blocks)
            continue;
        fprintf(stderr, "  %s (pid %llu): %s bytes in %s blocks; %s\n", r->program, (unsigned long long)r->pid,
                fmt_count(a, r->bytes), fmt_count(b, r->blocks), r->path);
        size_t shown = 0;
        for (size_t i = r->first; i < r->first + r->n && shown < 5; i++) {
            const struct finding *f = &g.fd[i];
            if (!failing(&g, f))
                continue;
            shown++;
            fprintf(stderr, "    %s bytes %s", fmt_count(a, f->rec->bytes), leak_record_kind(f->rec->kind));
            char where[4200];
            if (f->located)
                fprintf(stderr, " at %s", sym_location_text(&f->loc, 0, where, sizeof where));
            fputc('\n', stderr);
        }
    }
    for (size_t i = 0; i < g.n_notes; i++)
        fprintf(stderr, "  %s\n", g.notes[i]);
    if (o->junit)
        write_junit(&g);
    if (o->sarif)
        write_sarif(&g);
    if (o->write_baseline)
        write_baseline(&g);
    for (size_t i = 0; i < g.n_fd; i++)
        free(g.fd[i].stack_text);
    free(g.fd);
    for (size_t t = 0; t < n_files; t++) {
        if (syms[t]) {
            leak_report_free(&reports[t]);
            cli_sym_close(syms[t]);
        }
        if (!g.tr[t].error || models[t].has_process)
            model_free(&models[t]);
    }
    free(reports);
    free(syms);
    free(models);
    free(g.tr);
    free(g.grown_bytes);
    free(g.grown_blocks);
    for (size_t i = 0; i < supp.n; i++)
        free(supp.p[i]);
    free(supp.p);
    baseline_free(&g.base);
    baseline_free(&g.current);
    for (size_t i = 0; i < g.n_unseen; i++)
        free(g.unseen[i]);
    free(g.unseen);
    for (size_t i = 0; i < g.n_notes; i++)
        free(g.notes[i]);
    free(g.notes);
    if (errors && !fail)
        return EXIT_TRACE_ERROR;
    return fail ? 1 : 0;
}

static struct gate_options env = GATE_OPTIONS_INIT;

static int gate_main(int argc, char **argv) { return gate_run(argv, (size_t)argc, &env); }

static const struct opt options[] = { GATE_OPTIONS(&env, NULL), OPT_TERMINATOR };

const struct command command_gate = {
    .name = "gate", .args = "FILE...", .min_args = 1, .max_args = -1, .options = options, .main = gate_main,
    .summary = "the CI leak gate: exit 1 when the traces leak more than allowed",
    .about = "The verdict goes to stderr. Exit status: 0 pass, 1 fail, 2 when a trace cannot be read\n"
             "and nothing failed.\n"
             "example: heapscope gate --kinds definitely_lost --junit leaks.xml heapscope.*.hst\n",
};

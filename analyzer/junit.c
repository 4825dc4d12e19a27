/*
 * The gate's verdict as JUnit XML (gate.h): a test case per traced process
 * (named "program (pid N)"), a failure per failing leak record with its
 * stack; an unreadable trace, and each process not seen whole (a test case
 * "untraced"), an error.
 */
#include <string.h>

#include "gate.h"

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

void junit_write(FILE *f, const struct gate *g)
{
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
        const struct gate_trace *r = &g->tr[t];
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
            const struct gate_finding *fd = &g->fd[i];
            if (!gate_failing(g, fd))
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
}

/* Helpers shared by the commands (cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"
#include "options_names.h"
#include "util.h"

const char *const out_format_names[] = { "text", "json", NULL };

/* A damaged trace's warning waits: if an error follows, the two are one line;
 * if not, it is printed when the command ends. */
static char pending_warning[700];

static void print_pending_warning(void)
{
    if (pending_warning[0])
        fprintf(stderr, "heapscope: warning: %s\n", pending_warning);
    pending_warning[0] = 0;
}

void cli_forget_warning(void) { pending_warning[0] = 0; }

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("heapscope: ", stderr);
    if (pending_warning[0]) {
        fprintf(stderr, "%s; then: ", pending_warning);
        pending_warning[0] = 0;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_TRACE_ERROR;
}

void cli_progress(const char *path, int percent)
{
    if (!isatty(STDERR_FILENO))
        return;
    if (percent < 0)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\rheapscope: reading %s %d%%", path, percent);
}

void cli_sym_warning(const struct symbolizer *s)
{
    static int said; /* once: every symbolizer of a run would say the same */
    if (s && sym_warning(s) && !said++)
        fprintf(stderr, "heapscope: %s\n", sym_warning(s));
}

void cli_sym_close(struct symbolizer *s)
{
    cli_sym_warning(s);
    sym_close(s);
}

void cli_model_warning(const struct model *m)
{
    if (m->warning)
        fprintf(stderr, "heapscope: warning: %s\n", m->warning);
}

int cli_load(struct model *m, const char *path, const struct model_load_options *o)
{
    char err[640];
    struct model_load_options lo = *o;
    lo.progress = cli_progress;
    if (model_load(m, path, &lo, err, sizeof err) != 0) {
        cli_error("%s", err);
        return -1;
    }
    cli_model_warning(m);
    if (m->damage) {
        static int registered;
        if (!registered++)
            atexit(print_pending_warning);
        snprintf(pending_warning, sizeof pending_warning, "%s: %s; read up to there", path, m->damage);
    }
    return 0;
}

const char *cli_no_graph_why(const struct model_snapshot *s)
{
    return strcmp(s->name, "peak") == 0 ? "a peak snapshot holds the blocks only"
                                        : "traced with " HS_ENV_SCAN "=0?";
}

int cli_load_graph(struct model *m, struct graph *g, const char *path, const struct common_opts *o,
                   int keep_rc_events)
{
    struct model_load_options lo = { .snapshot = o->snapshot, .keep_rc_events = keep_rc_events };
    if (cli_load(m, path, &lo) != 0)
        return -1;
    if (!m->snapshot || !m->snapshot->scanned) {
        if (m->snapshot)
            cli_error("%s: snapshot %s has no heap graph (%s)", path, m->snapshot->name,
                      cli_no_graph_why(m->snapshot));
        else
            cli_error("%s: the trace has no complete snapshot", path);
        model_free(m);
        return -1;
    }
    graph_build(g, m, o->heuristics);
    return 0;
}

/*
 * The gate as the commands that judge run it (gate, run --gate; cli.h): each
 * trace loaded with its errors said, the verdict on stderr, the reports
 * written where the options say.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "gate.h"

static void baseline_of(FILE *f, const struct gate *g) { baseline_write(f, &g->current); }

static void write_report(const char *path, void (*write)(FILE *f, const struct gate *g), const struct gate *g)
{
    if (!path)
        return;
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return;
    }
    write(f, g);
    fclose(f);
}

int cli_gate(char *const *files, size_t n, const struct gate_options *o)
{
    struct gate g;
    char err[4400];
    if (gate_init(&g, o, n, err, sizeof err) != 0)
        return cli_error("%s", err);
    for (size_t t = 0; t < n; t++) {
        if (cli_load(&g.tr[t].model, files[t], &(struct model_load_options){ 0 }) != 0) {
            gate_unreadable(&g, t, files[t]);
            continue;
        }
        enum gate_take took = gate_add(&g, t, files[t]);
        if (took == GATE_ENDED_EARLY)
            cli_forget_warning(); /* its damage is why it is not judged, said in the verdict */
        else if (took == GATE_NO_SNAPSHOT)
            cli_error("%s: the trace has no complete snapshot", files[t]);
        else if (took == GATE_JUDGED)
            cli_sym_warning(g.tr[t].sym);
    }
    gate_judge(&g);
    gate_verdict_write(stderr, &g);
    write_report(o->junit, junit_write, &g);
    write_report(o->sarif, sarif_write, &g);
    write_report(o->write_baseline, baseline_of, &g);
    int status = gate_status(&g);
    gate_free(&g);
    return status;
}

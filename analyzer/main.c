/*
 * heapscope: the command. Runs programs under the preload and reads their
 * traces. One file per command; this one only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    { "run", cmd_run, "run a program under the tracer" },
    { "summary", cmd_summary, "run facts: allocations, peak, snapshots, what was not freed" },
    { "leaks", cmd_leaks, "blocks live at a snapshot by leak kind, grouped by allocation stack" },
    { "referrers", cmd_referrers, "who points at a block, and the shortest chains from roots" },
    { "cycles", cmd_cycles, "blocks that point at each other in a cycle, reachable or leaked" },
    { "aliases", cmd_aliases, "blocks pointed at from two or more places; blocks with equal contents" },
    { "refs", cmd_refs, "refcount histories of objects made with the refcount shim" },
    { "gate", cmd_gate, "the CI leak gate: exit 1 when the traces leak more than allowed" },
    { "report", cmd_report, "one self-contained HTML report of a trace" },
    { "export", cmd_export, "data for other tools: folded stacks, pprof, JSON" },
    { "diff", cmd_diff, "change in live blocks between two snapshots, by type or by site" },
};

static void usage(FILE *f)
{
    fputs("usage: heapscope COMMAND [OPTIONS] ...\n\ncommands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fputs("\nexamples:\n"
          "  heapscope run -- ./myprog arg       trace ./myprog into heapscope.myprog.PID.hst\n"
          "  heapscope leaks heapscope.myprog.1234.hst\n"
          "  heapscope summary --format json heapscope.myprog.1234.hst\n"
          "\n'heapscope COMMAND --help' tells more.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_TRACE_ERROR;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("heapscope " HEAPSCOPE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try heapscope --help)", argv[1]);
    return EXIT_TRACE_ERROR;
}

/*
 * heapscope: the command. Runs programs under the preload and reads their
 * traces. One file per command; this one only dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static const struct command *const commands[] = {
    &command_run, &command_summary, &command_leaks, &command_referrers, &command_cycles, &command_aliases,
    &command_refs, &command_gate, &command_report, &command_export, &command_diff,
};

static void usage(FILE *f)
{
    fputs("usage: heapscope COMMAND [OPTIONS] ...\n\ncommands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\nexamples:\n"
          "  heapscope run -- ./myprog arg       trace ./myprog into heapscope.myprog.PID.hst\n"
          "  heapscope leaks heapscope.myprog.1234.hst\n"
          "  heapscope summary --format json heapscope.myprog.1234.hst\n"
          "\n'heapscope COMMAND --help' tells more.\n", f);
}

/* Parses the command's line by its table, then runs it on its arguments. */
static int run_command(const struct command *c, int argc, char **argv)
{
    char **args = xcalloc((size_t)argc + 1, sizeof *args);
    int n, status = opt_parse(c, argc, argv, args, &n);
    if (status < 0)
        status = c->main(n, args);
    free(args);
    return status;
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
        if (strcmp(argv[1], commands[i]->name) == 0)
            return run_command(commands[i], argc - 1, argv + 1);
    cli_error("unknown command '%s' (try heapscope --help)", argv[1]);
    return EXIT_TRACE_ERROR;
}

/*
 * heapscope: the command. Runs programs under the preload and reads their
 * traces. One file per command; this one only dispatches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static void usage(FILE *f)
{
    fputs("usage: heapscope COMMAND [OPTIONS] ...\n\ncommands:\n", f);
    for (const struct command *const *c = heapscope_commands; *c; c++)
        fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
    fprintf(f, "\nexamples:\n%s\n'heapscope COMMAND --help' tells more.\n", heapscope_examples);
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
    for (const struct command *const *c = heapscope_commands; *c; c++)
        if (strcmp(argv[1], (*c)->name) == 0)
            return run_command(*c, argc - 1, argv + 1);
    cli_error("unknown command '%s' (try heapscope --help)", argv[1]);
    return EXIT_TRACE_ERROR;
}

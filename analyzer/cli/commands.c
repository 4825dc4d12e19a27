/* Every command of heapscope, in the order its --help lists them, and its
 * examples (cli.h). */
#include "cli.h"

const struct command *const heapscope_commands[] = {
    &command_run, &command_summary, &command_leaks, &command_referrers, &command_cycles, &command_aliases,
    &command_refs, &command_gate, &command_report, &command_export, &command_diff, NULL,
};

const char heapscope_examples[] =
    "  heapscope run -- ./myprog arg       trace ./myprog into heapscope.myprog.PID.hst\n"
    "  heapscope leaks heapscope.myprog.1234.hst\n"
    "  heapscope summary --format json heapscope.myprog.1234.hst\n";

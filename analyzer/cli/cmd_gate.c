/*
 * heapscope gate FILE...: the CI leak gate over traces (gate.h): exit 1 when
 * they leak more than the options allow, else 0 (2 when a trace cannot be
 * read and nothing failed); the verdict on stderr, JUnit, SARIF or a
 * baseline written on request.
 */
#include "cli.h"

static struct gate_options env = GATE_OPTIONS_INIT;

static int gate_main(int argc, char **argv) { return cli_gate(argv, (size_t)argc, &env); }

static const struct opt options[] = { GATE_OPTIONS(&env, NULL), OPT_TERMINATOR };

const struct command command_gate = {
    .name = "gate", .args = "FILE...", .min_args = 1, .max_args = -1, .options = options, .main = gate_main,
    .summary = "the CI leak gate: exit 1 when the traces leak more than allowed",
    .about = "The verdict goes to stderr. Exit status: 0 pass, 1 fail, 2 when a trace cannot be read\n"
             "and nothing failed.\n"
             "example: heapscope gate --kinds definitely_lost --junit leaks.xml heapscope.*.hst\n",
};

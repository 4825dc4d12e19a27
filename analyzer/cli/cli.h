/*
 * What the commands share (cli.c, cli_gate.c, commands.c): the options many
 * take, as table entries; loading a trace and saying what went wrong (one
 * line, "heapscope: " first, exit status 2); the gate as the commands run it.
 * The analysis itself is the library's (the headers in analyzer/).
 */
#ifndef HEAPSCOPE_CLI_H
#define HEAPSCOPE_CLI_H

#include <stdio.h>

#include "describe.h"
#include "gate.h"
#include "graph.h"
#include "json.h"
#include "model.h"
#include "options.h"
#include "symbols.h"

#define EXIT_TRACE_ERROR 2

enum out_format { OUT_TEXT, OUT_JSON };
extern const char *const out_format_names[]; /* "text", "json", NULL */

/* The options that commands reading a trace share. */
struct common_opts {
    int format;          /* enum out_format */
    const char *snapshot;
    unsigned heuristics; /* interior-pointer rules for the leak kinds (graph.h) */
};
#define COMMON_OPTS_INIT { .heuristics = HEURISTICS_DEFAULT }

/* Their entries in an option table (options.h), given a struct common_opts. */
#define OPT_FORMAT(c, ...) \
    OPT_CHOICE(0, "format", &(c)->format, out_format_names, "the output: text (the default) or JSON", __VA_ARGS__)
#define OPT_SNAPSHOT(c, ...) \
    OPT_STR(0, "snapshot", &(c)->snapshot, "NAME|INDEX", "the snapshot to read (default: exit, else the last)", \
            __VA_ARGS__)
#define OPT_HEURISTICS(v, ...)                                                   \
    OPT_SET(0, "heuristics", v, heuristic_names, "all|none|LIST", OPT_ALL_NONE, \
            "the interior-pointer rules that make a block reachable (default all)", __VA_ARGS__)

/* All three, for the commands that read a snapshot's heap graph. */
#define OPT_COMMON(c) OPT_FORMAT(c), OPT_SNAPSHOT(c), OPT_HEURISTICS(&(c)->heuristics)

/* The gate's options (a struct gate_options, gate.h), shared by gate and
 * run --gate; given (an int *) is set when one of them is. */
#define GATE_OPTIONS(o, given_)                                                                                  \
    OPT_SET(0, "kinds", &(o)->kinds, leak_kind_names, "KIND,...", 0,                                           \
            "the leak kinds that count (default definitely_lost,indirectly_lost)", .given = given_),            \
    OPT_NUM(0, "max-leaked-bytes", &(o)->max_bytes, "N", "fail when over N bytes leak, in all (default 0)", \
            .given = given_),                                                                                    \
    OPT_NUM(0, "max-leaked-blocks", &(o)->max_blocks, "N", "fail when over N blocks leak (default: no limit)",       \
            .given = given_),                                                                                    \
    OPT_STRS(0, "suppressions", (o)->supp_files, &(o)->n_supp_files, "FILE",                                   \
             "LeakSanitizer's leak:PATTERN lines (may be given again)", .given = given_),                       \
    OPT_STR(0, "baseline", &(o)->baseline, "FILE", "count only leaks beyond this baseline's", .given = given_), \
    OPT_STR(0, "write-baseline", &(o)->write_baseline, "FILE", "write the leaks found as a baseline",           \
            .given = given_),                                                                                    \
    OPT_STR(0, "junit", &(o)->junit, "FILE", "write JUnit XML: a test case per traced process", .given = given_), \
    OPT_STR(0, "sarif", &(o)->sarif, "FILE", "write SARIF 2.1.0: a result per failing leak record",            \
            .given = given_),                                                                                    \
    OPT_HEURISTICS(&(o)->heuristics, .given = given_)

/* One line on stderr, "heapscope: " first; returns EXIT_TRACE_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Drops the warning about damage cli_load left to say at the end (the
 * caller says it its own way). */
void cli_forget_warning(void);

/* Says how far the reading of a big trace has come, when stderr is a
 * terminal (a person is watching): model_load_options' progress. */
void cli_progress(const char *path, int percent);

/* Says the symbolizer's warning (sym_warning), the first time there is one. */
void cli_sym_warning(const struct symbolizer *s);
/* sym_close, once it has said the symbolizer's warning. */
void cli_sym_close(struct symbolizer *s);

/* The leak gate over traces (cli_gate.c): the verdict on stderr, the
 * reports written; returns the exit status (0 pass, 1 fail, 2 unreadable). */
int cli_gate(char *const *files, size_t n, const struct gate_options *o);

/* Says what model_load passed over (m->warning), if anything. */
void cli_model_warning(const struct model *m);

/* Loads the one trace a command reads as o says (with progress on a
 * terminal); prints the error and returns -1, or says the model's warning,
 * warns about damage and returns 0. */
int cli_load(struct model *m, const char *path, const struct model_load_options *o);

/* Why a snapshot has no heap graph, in words. */
const char *cli_no_graph_why(const struct model_snapshot *s);

/* cli_load, then the snapshot's heap graph (an error if it was not scanned). */
int cli_load_graph(struct model *m, struct graph *g, const char *path, const struct common_opts *o,
                   int keep_rc_events);

/* The commands (cmd_*.c), and all of them in order, NULL-terminated
 * (commands.c). */
extern const struct command command_run, command_summary, command_leaks, command_referrers, command_cycles,
    command_aliases, command_refs, command_gate, command_report, command_export, command_diff;
extern const struct command *const heapscope_commands[];
extern const char heapscope_examples[]; /* lines "  heapscope ...   what it does" */

#endif

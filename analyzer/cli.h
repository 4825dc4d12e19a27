/*
 * What the analyzer's commands share: the options every command takes, the
 * one-line error convention (exit status 2), and printing stacks.
 */
#ifndef HEAPSCOPE_CLI_H
#define HEAPSCOPE_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "graph.h"
#include "json.h"
#include "model.h"
#include "symbols.h"

#define EXIT_TRACE_ERROR 2

enum out_format { OUT_TEXT, OUT_JSON };

struct common_opts {
    enum out_format format;
    const char *snapshot;
    unsigned heuristics; /* interior-pointer rules for the leak kinds (graph.h) */
};
#define COMMON_OPTS_INIT { .heuristics = HEURISTICS_DEFAULT }

/* The long options every reading command takes, for getopt_long tables. */
#define COMMON_LONG_OPTIONS                                   \
    { "format", required_argument, NULL, 'F' },               \
    { "snapshot", required_argument, NULL, 'S' },             \
    { "heuristics", required_argument, NULL, 'H' },           \
    { "help", no_argument, NULL, 'h' }
#define COMMON_LONG_OPTIONS_COUNT 4

/* A command's own options, for cli_parse: a string value (with an optional
 * short letter), or a flag when value is NULL. */
struct cli_option {
    const char *name;
    char letter;         /* 0: long form only */
    const char **value;  /* set to the argument */
    int *flag;           /* set to 1 when given (value NULL) */
};

/* Parses the common options and the command's own (a table ended by a NULL
 * name); the one positional argument (the trace) is returned, or NULL with
 * *status set (0 after --help, 2 after an error, which it has printed). */
const char *cli_parse(int argc, char **argv, const char *usage, const struct cli_option *own, struct common_opts *o,
                      int *status);
/* A whole number option: def when s is NULL; -1 (and an error) when bad. */
int cli_number(const char *name, const char *s, unsigned long def, unsigned long *out);
/* An address such as 0x55d0c0ffee10; -1 (and an error) when bad. */
int cli_address(const char *s, uint64_t *out);

/* Parses the options of a command that reads one trace and takes only the
 * common options. Returns the trace's path, or NULL with *status set (0 after
 * --help, EXIT_TRACE_ERROR after an error, which it has printed). */
const char *cli_parse_reader(int argc, char **argv, const char *usage, struct common_opts *o, int *status);

/* One line on stderr, "heapscope: " first; returns EXIT_TRACE_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Drops the warning about damage cli_load left to say at the end (the
 * caller says it its own way). */
void cli_forget_warning(void);

/* Loads the one trace a command reads; prints the error and returns -1, or
 * warns about damage and returns 0. */
int cli_load(struct model *m, const char *path, const char *snapshot);

/* cli_load, then the snapshot's heap graph (an error if it was not scanned). */
int cli_load_graph(struct model *m, struct graph *g, const char *path, const struct common_opts *o);

/* A stack, symbolized: valgrind-style lines in text, an array in JSON. */
void stack_print_text(FILE *f, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                      const char *indent);
void stack_print_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m,
                      uint32_t stack_id);

/* A block as JSON: {"address", "size", "type", "stack"}. */
void block_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, size_t block);
/* A root as JSON: {"kind", "symbol", "module", "tid", "address"}; off is the
 * offset of the pointer within the root region. */
void root_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, uint32_t root,
               uint64_t off);
/* Where the pointer at off in a root sits, as users name it: its offset in
 * its global (JSON's symbol_offset), else off. */
uint64_t root_offset(struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off);
/* The same in words, e.g. "global g_items+8 in /path/prog". */
void root_text(char *buf, size_t room, struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off);

int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_referrers(int argc, char **argv);
int cmd_cycles(int argc, char **argv);
int cmd_aliases(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_refs(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* Handles --format/--snapshot/--heuristics for commands with options of
 * their own: 1 if it was one, 0 if not, -1 on a bad value (said on stderr). */
int cli_common_option(int c, const char *arg, struct common_opts *o);

#endif

/*
 * The command line of every heapscope command, declared as data (git's
 * parse-options): a command is a name, its positional arguments and a table
 * of options; each option says its name, short letter, kind of argument,
 * where the value goes and one line of help. opt_parse reads argv by the
 * table, opt_help writes --help from it, and every mistake is one line,
 * `heapscope CMD: --OPT: why`, status 2. Nothing else parses options.
 *
 * Long options take their value as `--name VALUE` or `--name=VALUE`, and may
 * be shortened to any unambiguous prefix; short ones as `-o VALUE` or
 * `-oVALUE`. `--` ends the options. Options and arguments may mix, except for
 * a command whose arguments are a program's (run): its options end at the
 * first argument.
 */
#ifndef HEAPSCOPE_OPTIONS_H
#define HEAPSCOPE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
    OPT_END = 0, /* ends a table */
    OPT_FLAG,    /* int: set to 1 */
    OPT_STRING,  /* const char *: the argument */
    OPT_STRINGS, /* const char *[max], with a count: one more each time given */
    OPT_NUMBER,  /* uint64_t: a whole number */
    OPT_ADDRESS, /* uint64_t: an address (0x55d0c0ffee10) */
    OPT_ENUM,    /* int: the index of the argument among values */
    OPT_LIST,    /* unsigned: bit i for each comma-separated values[i] */
};

#define OPT_ALL_NONE 1u /* OPT_LIST: "all" and "none" are values too */

struct opt {
    enum opt_type type;
    const char *name;          /* the long name, without "--" */
    char letter;               /* the short name, or 0 */
    void *value;               /* where the value goes: see enum opt_type */
    const char *arg;           /* the argument's name in help ("FILE"); enums show their values */
    const char *const *values; /* OPT_ENUM, OPT_LIST: the names, NULL-terminated */
    const char *help;          /* one line */
    int *given;                /* if not NULL: set to 1 when the option is given */
    unsigned flags;            /* OPT_ALL_NONE */
    size_t *count;             /* OPT_STRINGS: how many are in value ... */
    size_t max;                /* ... of at most max */
};

/* Table entries. Each checks the type of the variable it fills; more fields
 * may follow (.given = &x). */
#define OPT_CHECK_(T, p) (1 ? (p) : (T)0)
#define OPT_BOOL(l, n, v, h, ...) \
    { .type = OPT_FLAG, .letter = l, .name = n, .value = OPT_CHECK_(int *, v), .help = h, __VA_ARGS__ }
#define OPT_STR(l, n, v, a, h, ...)                                                                      \
    { .type = OPT_STRING, .letter = l, .name = n, .value = OPT_CHECK_(const char **, v), .arg = a, .help = h, \
      __VA_ARGS__ }
#define OPT_STRS(l, n, v, cnt, a, h, ...)                                                          \
    { .type = OPT_STRINGS, .letter = l, .name = n, .value = OPT_CHECK_(const char **, v), .arg = a, \
      .help = h, .count = OPT_CHECK_(size_t *, cnt), .max = sizeof(v) / sizeof(*(v)), __VA_ARGS__ }
#define OPT_NUM(l, n, v, a, h, ...)                                                                  \
    { .type = OPT_NUMBER, .letter = l, .name = n, .value = OPT_CHECK_(uint64_t *, v), .arg = a, .help = h, \
      __VA_ARGS__ }
#define OPT_ADDR(l, n, v, a, h, ...)                                                                  \
    { .type = OPT_ADDRESS, .letter = l, .name = n, .value = OPT_CHECK_(uint64_t *, v), .arg = a, .help = h, \
      __VA_ARGS__ }
#define OPT_CHOICE(l, n, v, vals, h, ...)                                                               \
    { .type = OPT_ENUM, .letter = l, .name = n, .value = OPT_CHECK_(int *, v), .values = vals, .help = h, \
      __VA_ARGS__ }
#define OPT_SET(l, n, v, vals, a, fl, h, ...)                                                          \
    { .type = OPT_LIST, .letter = l, .name = n, .value = OPT_CHECK_(unsigned *, v), .values = vals, \
      .arg = a, .flags = fl, .help = h, __VA_ARGS__ }
#define OPT_TERMINATOR { .type = OPT_END }

/* A command: its name, its positional arguments and its options. */
struct command {
    const char *name;
    const char *args;          /* the arguments in the usage line: "FILE", "-- PROGRAM [ARGS...]" */
    int min_args, max_args;    /* how many (max -1: no limit) */
    int args_end_options;      /* options end at the first argument (its program's follow) */
    const char *summary;       /* one line, for heapscope --help */
    const char *about;         /* more, after the options in --help: behaviour, examples */
    const struct opt *options; /* ended by OPT_TERMINATOR */
    int (*main)(int argc, char **argv); /* with the positional arguments alone */
};

/* Parses argv (argv[0] is the command's name) by c's table into the
 * variables it names, and leaves the positional arguments, in order, in
 * args[0 .. *n_args) (args has room for argc). Returns -1 when the command
 * should go on; else the status to exit with: 0 after --help (written to
 * stdout), 2 after a mistake (one line on stderr). */
int opt_parse(const struct command *c, int argc, char **argv, char **args, int *n_args);

/* The command's --help, written from its table. */
void opt_help(FILE *f, const struct command *c);

/* A mistake with an option found after parsing (one line on stderr:
 * `heapscope CMD: --OPT: why`; OPT may be NULL for the arguments); returns
 * 2. The command is the one opt_parse read last. */
int opt_error(const char *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage line of c, e.g. "heapscope leaks [OPTIONS] FILE". */
const char *opt_usage(const struct command *c, char *buf, size_t room);

/* For the help's other forms (gen_docs.c): an option's argument as help
 * shows it ("FILE", "text|json", "" for a flag); a list option's values in
 * words ("" for any other); and --help, which every command has. */
const char *opt_arg_text(const struct opt *o, char *buf, size_t room);
const char *opt_list_text(const struct opt *o, char *buf, size_t room);
const struct opt *opt_help_option(void);

#endif

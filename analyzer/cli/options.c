/* The command-line parser and --help writer (options.h). */
#include "options.h"

#include <stdarg.h>
#include <string.h>

#include "util.h"

#define EXIT_USAGE 2
#define HELP_COLUMN 30

/* --help: in every table without being written there. */
static const struct opt help_opt = { .type = OPT_FLAG, .name = "help", .letter = 'h', .help = "this help" };

static const struct command *current; /* the command whose line is read, for opt_error */

static int verror(const char *opt, int letter, const char *fmt, va_list ap)
{
    fprintf(stderr, "heapscope %s: ", current ? current->name : "");
    if (opt)
        fprintf(stderr, "--%s: ", opt);
    else if (letter)
        fprintf(stderr, "-%c: ", letter);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int opt_error(const char *opt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = verror(opt, 0, fmt, ap);
    va_end(ap);
    return r;
}

/* An error about o (named as it was given: long, or by its letter alone). */
static int bad(const struct opt *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const struct opt *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = verror(o->name, o->letter, fmt, ap);
    va_end(ap);
    return r;
}

/* "a, b or c" into buf. */
static const char *alternatives(const char *const *values, const char *sep, const char *last, char *buf, size_t room)
{
    size_t n = 0, len = 0;
    while (values[n])
        n++;
    buf[0] = 0;
    for (size_t i = 0; i < n && len < room; i++)
        len += (size_t)snprintf(buf + len, room - len, "%s%s", i == 0 ? "" : i == n - 1 ? last : sep, values[i]);
    return buf;
}

static int value_index(const char *const *values, const char *s, size_t len)
{
    for (int i = 0; values[i]; i++)
        if (strlen(values[i]) == len && strncmp(values[i], s, len) == 0)
            return i;
    return -1;
}

/* Comma-separated names into a bit set; empty items are passed over. */
static int parse_list(const struct opt *o, const char *arg)
{
    unsigned bits = 0;
    if ((o->flags & OPT_ALL_NONE) && (strcmp(arg, "all") == 0 || strcmp(arg, "none") == 0)) {
        for (int i = 0; arg[0] == 'a' && o->values[i]; i++)
            bits |= 1u << i;
        *(unsigned *)o->value = bits;
        return 0;
    }
    for (const char *s = arg; *s;) {
        size_t n = strcspn(s, ",");
        int i = value_index(o->values, s, n);
        if (n && i < 0) {
            char list[512];
            return bad(o, "'%.*s' is not %sone of %s", (int)n, s, o->flags & OPT_ALL_NONE ? "all, none or " : "",
                       alternatives(o->values, ",", ",", list, sizeof list));
        }
        if (n)
            bits |= 1u << i;
        s += n + (s[n] == ',');
    }
    *(unsigned *)o->value = bits;
    return 0;
}

/* Stores arg (NULL for a flag) as o says; 0, or the status of the error. */
static int set_value(const struct opt *o, const char *arg)
{
    char buf[512];
    int i;
    if (o->given)
        *o->given = 1;
    switch (o->type) {
    case OPT_FLAG:
        *(int *)o->value = 1;
        return 0;
    case OPT_STRING:
        *(const char **)o->value = arg;
        return 0;
    case OPT_STRINGS:
        if (*o->count == o->max)
            return bad(o, "may be given at most %zu times", o->max);
        ((const char **)o->value)[(*o->count)++] = arg;
        return 0;
    case OPT_NUMBER:
        if (parse_u64(arg, 10, (uint64_t *)o->value) != 0)
            return bad(o, "takes a whole number, not '%s'", arg);
        return 0;
    case OPT_ADDRESS:
        if (parse_u64(arg, 0, (uint64_t *)o->value) != 0)
            return bad(o, "takes an address like 0x55d0c0ffee10, not '%s'", arg);
        return 0;
    case OPT_ENUM:
        if ((i = value_index(o->values, arg, strlen(arg))) < 0)
            return bad(o, "takes %s, not '%s'", alternatives(o->values, ", ", " or ", buf, sizeof buf), arg);
        *(int *)o->value = i;
        return 0;
    case OPT_LIST:
        return parse_list(o, arg);
    default:
        return 0;
    }
}

/* The option named name (len bytes of it): exact, else the only one it
 * starts; NULL if none, with the names it could start in candidates. */
static const struct opt *find_long(const struct opt *table, const char *name, size_t len, char *candidates,
                                   size_t room)
{
    const struct opt *found = NULL;
    size_t used = 0;
    int matches = 0;
    candidates[0] = 0;
    for (const struct opt *o = table;; o++) {
        if (o->type == OPT_END)
            o = &help_opt;
        if (strncmp(o->name, name, len) == 0) {
            if (strlen(o->name) == len)
                return o;
            found = o;
            if (used < room)
                used += (size_t)snprintf(candidates + used, room - used, "%s--%s", matches++ ? ", " : "", o->name);
        }
        if (o == &help_opt)
            break;
    }
    return matches == 1 ? found : NULL;
}

static const struct opt *find_short(const struct opt *table, char letter)
{
    for (const struct opt *o = table; o->type != OPT_END; o++)
        if (o->letter == letter)
            return o;
    return letter == 'h' ? &help_opt : NULL;
}

/* One "--name[=value]" at argv[*i] (moving *i past a value taken from the
 * next word); returns -1 to go on, else a status. */
static int parse_long(const struct command *c, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    char candidates[512], what[256];
    const struct opt *o = find_long(c->options, name, len, candidates, sizeof candidates);
    if (!o) {
        snprintf(what, sizeof what, "%.*s", (int)len, name);
        if (*candidates)
            return opt_error(what, "could be %s: say which", candidates);
        return opt_error(what, "no such option (heapscope %s --help lists them)", c->name);
    }
    if (o == &help_opt) {
        opt_help(stdout, c);
        return 0;
    }
    if (o->type == OPT_FLAG) {
        if (eq)
            return opt_error(o->name, "takes no value");
        return set_value(o, NULL) ? EXIT_USAGE : -1;
    }
    const char *arg = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!arg)
        return opt_error(o->name, "needs a value");
    return set_value(o, arg) ? EXIT_USAGE : -1;
}

static int unknown_letter(const struct command *c, char letter)
{
    struct opt o = { .letter = letter };
    return bad(&o, "no such option (heapscope %s --help lists them)", c->name);
}

/* One "-abc" or "-oVALUE" word; as parse_long. */
static int parse_short(const struct command *c, int argc, char **argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        const struct opt *o = find_short(c->options, *p);
        if (!o)
            return unknown_letter(c, *p);
        if (o == &help_opt) {
            opt_help(stdout, c);
            return 0;
        }
        if (o->type == OPT_FLAG) {
            set_value(o, NULL);
            continue;
        }
        const char *arg = p[1] ? p + 1 : *i + 1 < argc ? argv[++*i] : NULL;
        if (!arg)
            return bad(o, "needs a value");
        return set_value(o, arg) ? EXIT_USAGE : -1;
    }
    return -1;
}

int opt_parse(const struct command *c, int argc, char **argv, char **args, int *n_args)
{
    current = c;
    *n_args = 0;
    int only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int status = -1;
        if (only_args || a[0] != '-' || a[1] == 0) {
            args[(*n_args)++] = argv[i];
            only_args |= c->args_end_options;
        } else if (strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (a[1] == '-') {
            status = parse_long(c, argc, argv, &i);
        } else {
            status = parse_short(c, argc, argv, &i);
        }
        if (status >= 0)
            return status;
    }
    if (*n_args < c->min_args || (c->max_args >= 0 && *n_args > c->max_args)) {
        char usage[512];
        return opt_error(NULL, "%s; usage: %s", *n_args < c->min_args ? "missing arguments" : "too many arguments",
                         opt_usage(c, usage, sizeof usage));
    }
    return -1;
}

const char *opt_usage(const struct command *c, char *buf, size_t room)
{
    snprintf(buf, room, "heapscope %s [OPTIONS] %s", c->name, c->args);
    return buf;
}

const char *opt_arg_text(const struct opt *o, char *buf, size_t room)
{
    buf[0] = 0;
    if (o->type == OPT_ENUM)
        alternatives(o->values, "|", "|", buf, room);
    else if (o->arg)
        snprintf(buf, room, "%s", o->arg);
    return buf;
}

const char *opt_list_text(const struct opt *o, char *buf, size_t room)
{
    char list[512];
    buf[0] = 0;
    if (o->type == OPT_LIST)
        snprintf(buf, room, "%s%s", o->flags & OPT_ALL_NONE ? "all, none, or any of " : "any of ",
                 alternatives(o->values, ",", ",", list, sizeof list));
    return buf;
}

/* The option's left column: "-o, --output FILE" or "    --format text|json". */
static void left_column(const struct opt *o, char *buf, size_t room)
{
    char arg[256];
    opt_arg_text(o, arg, sizeof arg);
    if (o->letter)
        snprintf(buf, room, "-%c, --%s%s%s", o->letter, o->name, *arg ? " " : "", arg);
    else
        snprintf(buf, room, "    --%s%s%s", o->name, *arg ? " " : "", arg);
}

static void help_line(FILE *f, const struct opt *o)
{
    char left[300];
    left_column(o, left, sizeof left);
    if (strlen(left) + 4 > HELP_COLUMN)
        fprintf(f, "  %s\n%*s%s\n", left, HELP_COLUMN, "", o->help);
    else
        fprintf(f, "  %-*s%s\n", HELP_COLUMN - 2, left, o->help);
    char list[600];
    if (*opt_list_text(o, list, sizeof list))
        fprintf(f, "%*s(%s)\n", HELP_COLUMN, "", list);
}

const struct opt *opt_help_option(void) { return &help_opt; }

void opt_help(FILE *f, const struct command *c)
{
    char usage[512];
    fprintf(f, "usage: %s\n%s\n\noptions:\n", opt_usage(c, usage, sizeof usage), c->summary);
    for (const struct opt *o = c->options; o->type != OPT_END; o++)
        help_line(f, o);
    help_line(f, opt_help_option());
    if (c->about)
        fprintf(f, "\n%s", c->about);
}

/*
 * heapscope-gen-docs man|bash OUT: the manual page (heapscope.1) and the bash
 * completion of heapscope, written from the commands' option tables, as
 * --help is (options.c): one source for all three. Run by the build, not
 * installed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Text for roff: backslashes and dashes escaped, no line starting a request. */
static void roff_text(FILE *f, const char *s)
{
    for (int line_start = 1; *s; s++) {
        if (line_start && (*s == '.' || *s == '\''))
            fputs("\\&", f);
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
        line_start = *s == '\n';
    }
}

static void man_option(FILE *f, const struct opt *o)
{
    char arg[256], list[600];
    fputs(".TP\n", f);
    if (o->letter)
        fprintf(f, "\\fB\\-%c\\fR, ", o->letter);
    fputs("\\fB\\-\\-", f);
    roff_text(f, o->name);
    fputs("\\fR", f);
    if (*opt_arg_text(o, arg, sizeof arg)) {
        fputs(" \\fI", f);
        roff_text(f, arg);
        fputs("\\fR", f);
    }
    fputc('\n', f);
    roff_text(f, o->help);
    if (*opt_list_text(o, list, sizeof list)) {
        fputs(" (", f);
        roff_text(f, list);
        fputc(')', f);
    }
    fputc('\n', f);
}

/* A command's section: its usage, what it answers, its options, the rest of
 * its help (kept as written: .nf). */
static void man_command(FILE *f, const struct command *c)
{
    char usage[512];
    fputs(".SS \"", f);
    roff_text(f, opt_usage(c, usage, sizeof usage));
    fputs("\"\n", f);
    roff_text(f, c->summary);
    fputs(".\n", f);
    for (const struct opt *o = c->options; o->type != OPT_END; o++)
        man_option(f, o);
    man_option(f, opt_help_option());
    if (c->about) {
        fputs(".PP\n.nf\n", f);
        roff_text(f, c->about);
        fputs(".fi\n", f);
    }
}

static void man(FILE *f)
{
    fputs(".TH HEAPSCOPE 1 \"\" \"heapscope " HEAPSCOPE_VERSION "\" \"User Commands\"\n"
          ".SH NAME\nheapscope \\- trace a program's heap: leaks, cycles, who points at what\n"
          ".SH SYNOPSIS\n.B heapscope\n.I COMMAND\n[\\fIOPTIONS\\fR] ...\n"
          ".SH DESCRIPTION\n", f);
    fputs("\\fBheapscope run\\fR runs a program with a preloaded library that records every allocation "
          "and, at exit, the heap graph; the other commands read the trace it writes.\n"
          "A mistake on the command line is one line, \\fBheapscope\\fR \\fICOMMAND\\fR: "
          "\\fI\\-\\-OPTION\\fR: why, and exit status 2.\n.SH COMMANDS\n", f);
    for (const struct command *const *c = heapscope_commands; *c; c++)
        man_command(f, *c);
    fputs(".SH EXAMPLES\n.nf\n", f);
    roff_text(f, heapscope_examples);
    fputs(".fi\n.SH EXIT STATUS\n0 on success; 1 when the gate fails; 2 for a mistake on the command line or a "
          "trace that cannot be read; under \\fBrun\\fR, the program's own status first.\n"
          ".SH SEE ALSO\n\\fBvalgrind\\fR(1)\n", f);
}

/* The words that complete an option's value: a case branch of bash. */
static void bash_value(FILE *f, const struct opt *o)
{
    fprintf(f, "        ");
    if (o->letter)
        fprintf(f, "-%c|", o->letter);
    fprintf(f, "--%s)\n", o->name);
    if (o->type == OPT_ENUM || o->type == OPT_LIST) {
        fprintf(f, "            _heapscope_words \"%s", o->flags & OPT_ALL_NONE ? "all none" : "");
        for (const char *const *v = o->values; *v; v++)
            fprintf(f, "%s%s", v == o->values && !(o->flags & OPT_ALL_NONE) ? "" : " ", *v);
        fprintf(f, "\" %d; return ;;\n", o->type == OPT_LIST);
    } else if (o->arg && (strstr(o->arg, "FILE") || strstr(o->arg, "PATTERN"))) {
        fputs("            COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f);
    } else {
        fputs("            return ;; # a value of its own\n", f);
    }
}

static void bash_command(FILE *f, const struct command *c)
{
    fprintf(f, "    %s)\n        case $prev in\n", c->name);
    for (const struct opt *o = c->options; o->type != OPT_END; o++)
        if (o->type != OPT_FLAG)
            bash_value(f, o);
    fputs("        esac\n        opts=\"", f);
    for (const struct opt *o = c->options; o->type != OPT_END; o++)
        fprintf(f, "--%s ", o->name);
    fputs("--help\"\n        takes=\" ", f); /* the options whose value is the next word */
    for (const struct opt *o = c->options; o->type != OPT_END; o++)
        if (o->type != OPT_FLAG)
            o->letter ? fprintf(f, "-%c --%s ", o->letter, o->name) : fprintf(f, "--%s ", o->name);
    fprintf(f, "\"\n        program=%d ;;\n", c->args_end_options);
}

static void bash(FILE *f)
{
    fputs("# bash completion for heapscope: written from its option tables (gen_docs.c)\n"
          "\n"
          "# COMPREPLY from words; with list, the last item of a comma-separated list\n"
          "_heapscope_words()\n"
          "{\n"
          "    local prefix=\"\"\n"
          "    if [[ $2 == 1 && $cur == *,* ]]; then prefix=\"${cur%,*},\"; fi\n"
          "    COMPREPLY=($(compgen -P \"$prefix\" -W \"$1\" -- \"${cur##*,}\"))\n"
          "}\n"
          "\n"
          "_heapscope()\n"
          "{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts takes program i w\n"
          "    if ((COMP_CWORD == 1)); then\n"
          "        COMPREPLY=($(compgen -W \"",
          f);
    for (const struct command *const *c = heapscope_commands; *c; c++)
        fprintf(f, "%s ", (*c)->name);
    fputs("--help --version\" -- \"$cur\"))\n"
          "        return\n"
          "    fi\n"
          "    case ${COMP_WORDS[1]} in\n",
          f);
    for (const struct command *const *c = heapscope_commands; *c; c++)
        bash_command(f, *c);
    fputs("    *) return ;;\n"
          "    esac\n"
          "    if ((program)); then # past the program's name, its own arguments\n"
          "        for ((i = 2; i < COMP_CWORD; i++)); do\n"
          "            w=${COMP_WORDS[i]}\n"
          "            if [[ $w == -- ]] && ((i == COMP_CWORD - 1)); then\n"
          "                COMPREPLY=($(compgen -c -- \"$cur\"))\n"
          "                return\n"
          "            elif [[ $w == -- || ($w != -* && $takes != *\" ${COMP_WORDS[i-1]} \"*) ]]; then\n"
          "                COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "                return\n"
          "            fi\n"
          "        done\n"
          "    fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "    elif ((program)); then\n"
          "        COMPREPLY=($(compgen -c -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    fi\n"
          "}\n"
          "complete -F _heapscope heapscope\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "man") != 0 && strcmp(argv[1], "bash") != 0)) {
        fputs("usage: heapscope-gen-docs man|bash OUT\n", stderr);
        return 2;
    }
    FILE *f = fopen(argv[2], "w");
    if (!f) {
        perror(argv[2]);
        return 2;
    }
    if (argv[1][0] == 'm')
        man(f);
    else
        bash(f);
    return fclose(f) == 0 ? 0 : 2;
}

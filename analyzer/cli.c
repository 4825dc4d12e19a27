/* Helpers shared by the commands (cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "util.h"

const char *cli_parse_reader(int argc, char **argv, const char *usage, struct common_opts *o, int *status)
{
    static const struct option longopts[] = { COMMON_LONG_OPTIONS, { 0 } };
    int c;
    *o = (struct common_opts){ 0 };
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: %s\n", usage);
            *status = 0;
            return NULL;
        case 'F':
            if (strcmp(optarg, "text") == 0 || strcmp(optarg, "json") == 0) {
                o->format = optarg[0] == 'j' ? OUT_JSON : OUT_TEXT;
                break;
            }
            *status = cli_error("--format takes text or json, not '%s'", optarg);
            return NULL;
        case 'S':
            o->snapshot = optarg;
            break;
        default:
            *status = cli_error("usage: %s", usage);
            return NULL;
        }
    }
    if (optind != argc - 1) {
        *status = cli_error("usage: %s", usage);
        return NULL;
    }
    return argv[optind];
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("heapscope: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_TRACE_ERROR;
}

int cli_load(struct model *m, const char *path, const char *snapshot)
{
    char err[640];
    if (model_load(m, path, snapshot, err, sizeof err) != 0) {
        cli_error("%s", err);
        return -1;
    }
    if (m->damage)
        fprintf(stderr, "heapscope: warning: %s: %s; read up to there\n", path, m->damage);
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

void stack_print_text(FILE *f, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                      const char *indent)
{
    const struct model_stack *st = model_stack(m, stack_id);
    if (!st) {
        fprintf(f, "%s(no stack recorded)\n", indent);
        return;
    }
    int first = 1;
    for (uint32_t i = 0; i < st->n; i++) {
        const struct sym_frame *fr;
        size_t n = sym_resolve(s, st->frames[i], &fr);
        for (size_t k = 0; k < n; k++, first = 0) {
            fprintf(f, "%s%s 0x%llx: %s", indent, first ? "at" : "by",
                    (unsigned long long)fr[k].address, fr[k].function ? fr[k].function : "???");
            if (fr[k].file)
                fprintf(f, " (%s:%u)", base_name(fr[k].file), fr[k].line);
            else if (fr[k].module)
                fprintf(f, " (in %s)", fr[k].module);
            fputs(fr[k].inlined ? " [inlined]\n" : "\n", f);
        }
    }
}

void stack_print_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m,
                      uint32_t stack_id)
{
    json_array(j, key);
    const struct model_stack *st = model_stack(m, stack_id);
    for (uint32_t i = 0; st && i < st->n; i++) {
        const struct sym_frame *fr;
        size_t n = sym_resolve(s, st->frames[i], &fr);
        for (size_t k = 0; k < n; k++) {
            json_object(j, NULL);
            json_hex(j, "address", fr[k].address);
            json_str(j, "function", fr[k].function);
            json_str(j, "file", fr[k].file);
            if (fr[k].line)
                json_u64(j, "line", fr[k].line);
            else
                json_null(j, "line");
            json_str(j, "module", fr[k].module);
            json_bool(j, "inlined", fr[k].inlined);
            json_object_end(j);
        }
    }
    json_array_end(j);
}

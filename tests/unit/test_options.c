/*
 * Unit tests of the preload's options table (options.c, compiled straight
 * in with platform.c): docs/SPEC.md's environment table (the `| variable |
 * meaning | default |` table under "Running") lists exactly the table's
 * user-facing options, in its order, with its one line of doc and its
 * default; and options_init reads defaults, values and bad values as the
 * table says.
 *
 * Every test runs in its own forked process (CK_FORK), so the environment
 * one sets is gone for the next.
 */
#include "internal.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_quiet.h"
#include "options_names.h"

/* ------------------------------------------------------------ SPEC.md */

#define ROWS_MAX 32

struct row {
    char cell[3][256]; /* variable, meaning, default; without backticks */
};

/* One table cell: trimmed, backticks dropped. */
static void put_cell(char *out, size_t room, const char *s, size_t n)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < room; i++)
        if (s[i] != '`')
            out[k++] = s[i];
    out[k] = 0;
}

/* The rows of SPEC.md's environment table; how many. */
static size_t spec_rows(struct row *rows)
{
    FILE *f = fopen(SPEC_MD, "r");
    REQUIRE(f, "cannot open %s", SPEC_MD);
    char line[1024];
    int in_table = 0;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!in_table) { /* the header, then its | --- | line */
            in_table = strcmp(line, "| variable | meaning | default |") == 0 && fgets(line, sizeof line, f);
            continue;
        }
        if (line[0] != '|')
            break;
        REQUIRE(n < ROWS_MAX, "SPEC.md's environment table is longer than %d rows", ROWS_MAX);
        const char *p = line + 1;
        for (int c = 0; c < 3; c++) {
            const char *bar = strchr(p, '|');
            REQUIRE(bar, "SPEC.md row %zu has fewer than 3 cells: %s", n + 1, line);
            put_cell(rows[n].cell[c], sizeof rows[n].cell[c], p, (size_t)(bar - p));
            p = bar + 1;
        }
        n++;
    }
    fclose(f);
    REQUIRE(in_table, "no `| variable | meaning | default |` table in %s", SPEC_MD);
    return n;
}

START_TEST(test_spec_lists_the_table)
{
    static struct row rows[ROWS_MAX];
    size_t n_rows = spec_rows(rows), row = 0;
    struct option_info o;
    for (size_t i = 0; options_info(i, &o) == 0; i++) {
        REQUIRE(strncmp(o.name, HS_ENV_PREFIX, strlen(HS_ENV_PREFIX)) == 0, "%s has the prefix", o.name);
        REQUIRE(o.doc && *o.doc, "%s has a line of doc", o.name);
        if (o.internal)
            continue;
        REQUIRE(row < n_rows, "SPEC.md's environment table lacks %s", o.name);
        const struct row *r = &rows[row++];
        REQUIRE(strcmp(r->cell[0], o.name) == 0, "SPEC.md row %zu is %s, the table's next option %s", row,
                r->cell[0], o.name);
        REQUIRE(strcmp(r->cell[1], o.doc) == 0, "%s: SPEC.md says \"%s\", the table \"%s\"", o.name, r->cell[1],
                o.doc);
        REQUIRE(strcmp(r->cell[2], o.default_text) == 0, "%s: SPEC.md's default is \"%s\", the table's \"%s\"",
                o.name, r->cell[2], o.default_text);
    }
    REQUIRE(row == n_rows, "SPEC.md lists %s, which the table does not have (or not as a user's option)",
            rows[row < n_rows ? row : 0].cell[0]);
}
END_TEST

/* ------------------------------------------------------------ reading */

static void clear_environment(void)
{
    struct option_info o;
    for (size_t i = 0; options_info(i, &o) == 0; i++)
        unsetenv(o.name);
}

START_TEST(test_defaults)
{
    clear_environment();
    options_init();
    const char *tail = "/heapscope.%e.%p.hst";
    REQUIRE(hs_opt.output[0] == '/' && strlen(hs_opt.output) > strlen(tail) &&
                strcmp(hs_opt.output + strlen(hs_opt.output) - strlen(tail), tail) == 0,
            "the default pattern, made absolute: %s", hs_opt.output);
    REQ_EQ(hs_opt.snapshot_signal, SIGUSR2);
    REQ_EQ(hs_opt.interval_ms, 0);
    REQ_EQ(hs_opt.max_frames, 128);
    REQ_EQ(hs_opt.follow, 1);
    REQ_EQ(hs_opt.scan, 1);
    REQUIRE(hs_opt.run_log == NULL, "no run log");
    REQ_EQ(hs_opt.first_process, 1);
}
END_TEST

/* The value options_init gave a number option. */
static long number_of(const char *name)
{
    return strcmp(name, HS_ENV_SNAPSHOT_SIGNAL) == 0        ? hs_opt.snapshot_signal
           : strcmp(name, HS_ENV_SNAPSHOT_INTERVAL_MS) == 0 ? (long)hs_opt.interval_ms
           : strcmp(name, HS_ENV_MAX_FRAMES) == 0           ? (long)hs_opt.max_frames
           : strcmp(name, HS_ENV_FOLLOW) == 0               ? hs_opt.follow
           : strcmp(name, HS_ENV_SCAN) == 0                 ? hs_opt.scan
                                                            : -1;
}

/* A value, and what it reads as: a bad one (not a number, out of bounds)
 * takes the default. */
static const struct {
    const char *name, *value;
    long want;
} number_cases[] = {
    { HS_ENV_SNAPSHOT_SIGNAL, "SIGUSR1", SIGUSR1 },  { HS_ENV_SNAPSHOT_SIGNAL, "USR1", SIGUSR1 },
    { HS_ENV_SNAPSHOT_SIGNAL, "10", 10 },            { HS_ENV_SNAPSHOT_SIGNAL, "0", 0 },
    { HS_ENV_SNAPSHOT_SIGNAL, "SIGNOPE", SIGUSR2 },  { HS_ENV_SNAPSHOT_SIGNAL, "65", SIGUSR2 },
    { HS_ENV_SNAPSHOT_INTERVAL_MS, "250", 250 },     { HS_ENV_SNAPSHOT_INTERVAL_MS, "-1", 0 },
    { HS_ENV_SNAPSHOT_INTERVAL_MS, "1s", 0 },        { HS_ENV_MAX_FRAMES, "1024", 1024 },
    { HS_ENV_MAX_FRAMES, "1025", 128 },              { HS_ENV_MAX_FRAMES, "0", 128 },
    { HS_ENV_FOLLOW, "0", 0 },                       { HS_ENV_FOLLOW, "2", 1 },
    { HS_ENV_SCAN, "0", 0 },                         { HS_ENV_SCAN, "yes", 1 },
};

START_TEST(test_numbers)
{
    for (size_t i = 0; i < sizeof number_cases / sizeof number_cases[0]; i++) {
        clear_environment();
        setenv(number_cases[i].name, number_cases[i].value, 1);
        options_init();
        long got = number_of(number_cases[i].name);
        REQUIRE(got == number_cases[i].want, "%s=%s reads as %ld, not %ld", number_cases[i].name,
                number_cases[i].value, got, number_cases[i].want);
    }
}
END_TEST

START_TEST(test_texts)
{
    clear_environment();
    setenv(HS_ENV_OUTPUT, "/t/%p.hst", 1);
    setenv(HS_ENV_RUN_LOG, "/t/log", 1);
    setenv(HS_ENV_ROOT_PID, "1", 1); /* not us: a descendant of the first */
    options_init();
    REQUIRE(strcmp(hs_opt.output, "/t/%p.hst") == 0, "output %s", hs_opt.output);
    REQUIRE(hs_opt.run_log && strcmp(hs_opt.run_log, "/t/log") == 0, "run log");
    REQ_EQ(hs_opt.first_process, 0);
    setenv(HS_ENV_ROOT_PID, "", 1);
    options_init();
    REQ_EQ(hs_opt.first_process, 1);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *t = tcase_create("options");
    tcase_add_test(t, test_spec_lists_the_table);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_numbers);
    tcase_add_test(t, test_texts);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(options_suite());
    srunner_set_fork_status(sr, CK_FORK); /* each test its own environment */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

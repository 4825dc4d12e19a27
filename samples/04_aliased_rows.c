/*
 * Concept 4: the aliased-rows matrix bug.
 *
 * A matrix in C is often an array of row pointers, each pointing at a row
 * of numbers. A classic bug builds it by making ONE row and copying the
 * pointer to it into every slot:
 *
 *     int *row = calloc(3, sizeof(int));
 *     for (i = 0; i < 3; i++) m[i] = row;    (the bug: one row, three names)
 *
 * The matrix then looks 3x3 but has a single row, seen three times: writing
 * m[0][0] also "writes" m[1][0] and m[2][0]. (Python's `[[0] * 3] * 3` is the
 * same bug: the outer list holds three references to one inner list.) The
 * fix makes a separate row for each slot.
 *
 * This program builds both matrices, writes 5 to element [0][0] of each, and
 * prints them. The buggy one shows 5 in every row.
 *
 * What heapscope sees (`heapscope aliases --type BuggyRow TRACE`): the
 * buggy matrix's one row block has three referrers, at offsets 0, 8 and 16
 * of the outer block (the three slots of the array of row pointers). In the
 * fixed matrix each FixedRow has exactly one referrer, its own slot.
 */
#include <stdio.h>
#include <stdlib.h>

#include <heapscope/heapscope.h>

#define N 3

/* The two matrices, in globals so that heapscope can name them. Each is an
 * array of N row pointers. */
int **buggy;
int **fixed;

/* The outer block: N row pointers, zeroed. */
static int **new_matrix(const char *type)
{
    int **m = calloc(N, sizeof *m);
    hs_tag(m, type);
    return m;
}

/* One row of N ints, zeroed. */
static int *new_row(const char *type)
{
    int *row = calloc(N, sizeof *row);
    hs_tag(row, type);
    return row;
}

static void print_matrix(const char *name, int **m)
{
    printf("%s:\n", name);
    for (int i = 0; i < N; i++) {
        printf("  row %d:", i);
        for (int j = 0; j < N; j++)
            printf(" %d", m[i][j]);
        printf("\n");
    }
}

int main(void)
{
    /* The bug: one row, its pointer copied into all three slots. */
    buggy = new_matrix("BuggyMatrix");
    int *row = new_row("BuggyRow");
    for (int i = 0; i < N; i++)
        buggy[i] = row;
    row = NULL; /* from here on only the matrix refers to the row */

    /* The fix: a new row for each slot. */
    fixed = new_matrix("FixedMatrix");
    for (int i = 0; i < N; i++)
        fixed[i] = new_row("FixedRow");

    /* Write to row 0 of each. */
    buggy[0][0] = 5;
    fixed[0][0] = 5;

    print_matrix("buggy", buggy);
    print_matrix("fixed", fixed);

    /* What the program knows about its rows: are the row pointers equal? */
    printf("buggy rows 0 and 1 are the same row: %s\n", buggy[0] == buggy[1] ? "yes" : "no");
    printf("buggy rows 1 and 2 are the same row: %s\n", buggy[1] == buggy[2] ? "yes" : "no");
    printf("fixed rows 0 and 1 are the same row: %s\n", fixed[0] == fixed[1] ? "yes" : "no");
    printf("fixed rows 1 and 2 are the same row: %s\n", fixed[1] == fixed[2] ? "yes" : "no");
    printf("a row pointer takes %zu bytes, so the slots are at offsets 0, %zu, %zu\n", sizeof(int *),
           sizeof(int *), 2 * sizeof(int *));

    /* heapscope's snapshot at exit sees both matrices through the globals. */
    return 0;
}

/*
 * Concept 7: finding aliased slots.
 *
 * An array of pointers looks like five independent rows, but two slots that
 * hold the same address are two names for ONE row: writing through one
 * changes what the other sees. This is the classic "[[0] * n] * m" bug of
 * Python, in C. Here slots 0, 2 and 4 all point at one row block, and slots
 * 1 and 3 at another, so only two rows really exist.
 *
 * The program finds the aliased slots itself by comparing the pointers
 * (identity, not contents), and prints the pairs. Then it fixes the array by
 * giving every slot its own copy of its row, and shows that a write through
 * one slot no longer shows up in another.
 *
 * What heapscope sees: `heapscope aliases` lists blocks that are pointed at
 * from two or more places. At the snapshot "aliased" it lists the two row
 * blocks, with their referrers at offsets 0, 16, 32 and 8, 24 of the array
 * block (slot i lives at offset i * 8). At the snapshot "fixed" it lists
 * none: each row has exactly one referrer.
 *
 *     heapscope run -- ./07_aliased_slots
 *     heapscope aliases --snapshot aliased --type Row heapscope.07_aliased_slots.*.hst
 */
#include <heapscope/heapscope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 5
#define ROW_BYTES 32

/* The array of slots lives in a global, so the tracer finds it from a root
 * (the program's .bss) and sees every pointer stored in it. */
char **g_slots;

/* calloc zeroes the block: no stale pointer can hide in it and be mistaken
 * for a reference by the tracer's conservative scan. */
static char *new_row(const char *text)
{
    char *row = calloc(1, ROW_BYTES);
    snprintf(row, ROW_BYTES, "%s", text);
    hs_tag(row, "Row");
    return row;
}

/* Builds the buggy array: only two rows exist, each stored in several slots. */
static void build_aliased(void)
{
    g_slots = calloc(SLOTS, sizeof *g_slots);
    hs_tag(g_slots, "SlotArray");
    char *even = new_row("even row");
    char *odd = new_row("odd row");
    for (int i = 0; i < SLOTS; i++)
        g_slots[i] = i % 2 == 0 ? even : odd; /* the bug: a copy of the POINTER, not of the row */
}

/* Prints every pair of slots that hold the same address: the program's own
 * view of the aliasing. Returns how many pairs there are. */
static int print_shared_pairs(void)
{
    int pairs = 0;
    printf("shared pairs:");
    for (int i = 0; i < SLOTS; i++)
        for (int j = i + 1; j < SLOTS; j++)
            if (g_slots[i] == g_slots[j]) {
                printf(" (%d,%d)", i, j);
                pairs++;
            }
    printf("%s\n", pairs ? "" : " none");
    return pairs;
}

/* Writes into slot 0's row and reports which slots see the change. */
static void write_slot0_and_look(void)
{
    strcpy(g_slots[0], "CHANGED");
    printf("after writing through slot 0, the slots that read CHANGED:");
    for (int i = 0; i < SLOTS; i++)
        if (strcmp(g_slots[i], "CHANGED") == 0)
            printf(" %d", i);
    printf("\n");
}

/* The fix: every slot gets its own copy of its row. The old rows are freed
 * once nobody uses them (each old row is freed exactly once). */
static void fix_by_copying(void)
{
    char *old[SLOTS];
    for (int i = 0; i < SLOTS; i++) {
        old[i] = g_slots[i];
        char *copy = new_row("");
        memcpy(copy, old[i], ROW_BYTES); /* a new block with equal contents */
        g_slots[i] = copy;
    }
    for (int i = 0; i < SLOTS; i++) {
        int seen_before = 0;
        for (int j = 0; j < i; j++)
            if (old[j] == old[i])
                seen_before = 1;
        if (!seen_before)
            free(old[i]);
    }
    /* restore the original texts so the two rows are distinguishable again */
    for (int i = 0; i < SLOTS; i++)
        strcpy(g_slots[i], i % 2 == 0 ? "even row" : "odd row");
}

/* Overwrites the dead stack below main, so that no stale copy of a row
 * pointer (left by the functions above) is found by the scan as a referrer. */
__attribute__((noinline)) static void scrub(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
}

int main(void)
{
    /* Step 1: the buggy array; the program finds 4 shared pairs. */
    build_aliased();
    int pairs = print_shared_pairs();
    printf("distinct rows: 2, shared pairs: %d\n", pairs);
    scrub();
    hs_snapshot("aliased"); /* heapscope: two row blocks, each with several referrers */

    /* Step 2: the bug made visible: one write, three slots changed. */
    write_slot0_and_look();

    /* Step 3: the fix. Now every slot has its own row. */
    fix_by_copying();
    pairs = print_shared_pairs();
    write_slot0_and_look();
    printf("distinct rows: %d, shared pairs: %d\n", SLOTS, pairs);
    scrub();
    hs_snapshot("fixed"); /* heapscope: no block with two referrers */

    /* Clean up: nothing is leaked. */
    for (int i = 0; i < SLOTS; i++)
        free(g_slots[i]);
    free(g_slots);
    g_slots = NULL;
    return 0;
}

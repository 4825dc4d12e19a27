/*
 * Concept 5: mutation through a function argument.
 *
 * C passes every argument by value. When the argument is a pointer, the
 * function gets a COPY OF THE POINTER, which still points at the caller's
 * block. So:
 *
 *   - writing THROUGH the pointer (b->data[...] = ...) changes the caller's
 *     block: the caller sees the change;
 *   - assigning to the pointer itself (b = something_else) only changes the
 *     function's own copy: the caller's variable still points where it did;
 *   - to hand back an independent object, a function makes a new block and
 *     copies the contents into it (equal contents, a different identity).
 *
 * (This is Python's and Java's "pass by object reference" too: `lst.append(x)`
 * inside a function is seen by the caller, `lst = [...]` is not.)
 *
 * What heapscope sees: inside rebind (snapshot "in_rebind") the function's
 * new block is held only by its own local variable, on the stack, while the
 * caller's buffer is held by the caller's variable. At exit the caller's
 * buffer has exactly one referrer, the global `buf`; the copy is a distinct
 * block, held by the global `copy`, with equal contents (`heapscope aliases`
 * lists the two as duplicates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapscope/heapscope.h>

/* A small text buffer: a length and the characters. */
struct Buffer {
    size_t len;
    char data[56];
};

/* The caller's variables, in globals so that heapscope can name them. */
struct Buffer *buf;
struct Buffer *copy;

/* A new, empty buffer. calloc zeroes it, so the bytes after the text are
 * zero too and two buffers with the same text have equal contents. */
static struct Buffer *new_buffer(void)
{
    struct Buffer *b = calloc(1, sizeof *b);
    hs_tag(b, "Buffer");
    return b;
}

/* Writes through the pointer it was given: the caller's block changes. */
static void append(struct Buffer *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n >= sizeof b->data)
        n = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, text, n);
    b->len += n;
}

/* Assigns to its own copy of the pointer: the caller's variable does not
 * change. The new block belongs to this function alone; it frees it before
 * returning. */
static void rebind(struct Buffer *b, const char *text)
{
    b = new_buffer(); /* only the local b changes */
    append(b, text);
    printf("inside rebind: b reads \"%s\"\n", b->data);
    hs_snapshot("in_rebind"); /* heapscope: the new block is held by this local only */
    free(b);
}

/* Returns a new block with the same contents: equal, not identical. */
static struct Buffer *copy_of(const struct Buffer *b)
{
    struct Buffer *c = new_buffer();
    memcpy(c, b, sizeof *c);
    return c;
}

int main(void)
{
    buf = new_buffer();

    /* 1. Mutation through the argument: the caller sees it. */
    append(buf, "hello");
    append(buf, ", world");
    printf("after append: buf reads \"%s\" (%zu chars)\n", buf->data, buf->len);

    /* 2. Rebinding the argument: the caller does not see it. */
    struct Buffer *before = buf;
    rebind(buf, "something else");
    printf("after rebind: buf reads \"%s\"; buf still points at the same block: %s\n", buf->data,
           buf == before ? "yes" : "no");
    before = NULL;

    /* 3. A copy: a distinct block with equal contents. */
    copy = copy_of(buf);
    printf("copy is buf: %s; copy equals buf: %s\n", copy == buf ? "yes" : "no",
           memcmp(copy, buf, sizeof *buf) == 0 ? "yes" : "no");

    /* Changing the copy leaves the original alone (then we undo it, so the
     * two are equal again at exit). */
    copy->data[0] = 'J';
    printf("after changing the copy: buf reads \"%s\", copy reads \"%s\"\n", buf->data, copy->data);
    copy->data[0] = 'h';

    /* At exit, heapscope finds buf and copy through the two globals. */
    return 0;
}

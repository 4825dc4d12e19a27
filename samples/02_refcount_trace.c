/*
 * Concept 2: tracing a reference count.
 *
 * A reference-counted object carries a number: how many references to it
 * exist. Whoever keeps a pointer to the object "retains" it (count + 1), and
 * whoever stops keeping it "releases" it (count - 1). When the count reaches
 * 0 nobody refers to the object any more and it is freed. (This is what
 * CPython does for every object, and what Swift, Objective-C, COM and
 * std::shared_ptr do.)
 *
 * The count alone tells you HOW MANY references there are, not WHO holds
 * them. When a count is wrong (an object never freed, or freed too early)
 * you want the history: every retain and release, in order, with the count
 * after it and the place in the code that did it.
 *
 * This program uses heapscope's refcount shim (<heapscope/refcount.h>):
 *   1. creates a Widget                          count 1
 *   2. stores it in a second variable, and in a container (a Box)
 *                                                count 3
 *   3. drops the second variable                 count 2
 *   4. clears the container                      count 1
 * and prints hs_rc_count after each step: 1, 3, 2, 1. Each step is its own
 * small function, so that each event's stack says who did it.
 *
 * What heapscope sees (`heapscope refs --type Widget TRACE`): the Widget's
 * five events, new 1, retain 2, retain 3, release 2, release 1, each with
 * the count after it and the stack of the function that made it. At the end
 * the Widget is still alive with count 1: the global `widget` holds it.
 */
#include <stdio.h>

#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>

/* The object we follow. */
struct Widget {
    int id;
};

/* A container with one slot. */
struct Box {
    struct Widget *item;
};

/* The references live in globals, so heapscope can name them. */
struct Widget *widget; /* the first reference: the one hs_rc_new gives us */
struct Widget *other;  /* a second variable */
struct Box *box;       /* a container */

/* Step 1: a new object starts with count 1: the reference we are given. */
static struct Widget *make_widget(int id)
{
    struct Widget *w = hs_rc_new("Widget", sizeof *w); /* EVENT_NEW */
    w->id = id;
    return w;
}

/* Step 2a: a second variable holds the object too, so it takes a reference. */
static void keep_in_variable(struct Widget *w)
{
    other = hs_rc_retain(w); /* EVENT_RETAIN_VARIABLE */
}

/* Step 2b: the container holds it too: another reference. */
static void put_in_box(struct Box *b, struct Widget *w)
{
    b->item = hs_rc_retain(w); /* EVENT_RETAIN_BOX */
}

/* Step 3: the second variable lets go: it gives its reference back. */
static void drop_variable(void)
{
    hs_rc_release(other); /* EVENT_RELEASE_VARIABLE */
    other = NULL;
}

/* Step 4: clearing the container gives back the container's reference. */
static void clear_box(struct Box *b)
{
    hs_rc_release(b->item); /* EVENT_RELEASE_BOX */
    b->item = NULL;
}

int main(void)
{
    /* The box is itself a refcounted object (zeroed, tagged "Box"). */
    box = hs_rc_new("Box", sizeof *box);

    widget = make_widget(7);
    printf("after creating the widget: count %ld\n", hs_rc_count(widget));

    keep_in_variable(widget);
    put_in_box(box, widget);
    printf("after storing it in a second variable and in a box: count %ld\n", hs_rc_count(widget));
    printf("the three references are one object: %s\n",
           widget == other && other == box->item ? "yes" : "no");

    drop_variable();
    printf("after dropping the second variable: count %ld\n", hs_rc_count(widget));

    clear_box(box);
    printf("after clearing the box: count %ld\n", hs_rc_count(widget));

    /* The Widget is still alive: `widget` holds the last reference. A count
     * of 1 and one reference left agree; nothing leaked, nothing freed too
     * early. (Releasing it now would take the count to 0 and free it.) */
    printf("still alive, id %d\n", widget->id);
    return 0;
}

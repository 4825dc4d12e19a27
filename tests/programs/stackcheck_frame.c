/* Loaded by stackcheck_resignal: built twice, with FRAME 16 and 80, so that
 * the two builds have the same code at the same offsets (the frame's size
 * is a one-byte immediate in both) and only the frame's size differs: a
 * return address into one is a return address into the other, with other
 * unwind information. plug_call calls back into the program from its frame. */
#include <stddef.h>

void plug_call(size_t n, void (*cb)(size_t))
{
    char pad[FRAME];
    pad[0] = 1;
    cb(n);
    __asm__ volatile("" : : "r"(pad) : "memory"); /* the frame stays, and is used */
}

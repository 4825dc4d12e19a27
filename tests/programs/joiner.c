/* Three threads created and joined, and nothing else: glibc keeps their
 * stack for the next thread, and with it the DTV it allocated, reachable
 * only from the thread control block at the top of that cached stack (16
 * bytes into the DTV's block). Nothing leaks. */
#include <pthread.h>

static void *work(void *arg) { return arg; }

int main(void)
{
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, work, NULL) != 0 || pthread_join(t, NULL) != 0)
            return 1;
    }
    return 0;
}

/* Four threads retain and release shared refcounted objects through weak
 * references for about a second, and replace objects as they go. Every
 * operation that succeeds is counted; at the end everything is released and
 * the program prints its counts. Every object must be freed. */
#include <heapscope/refcount.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SLOTS 64
#define THREADS 4

struct slot {
    _Atomic(hs_weak *) weak; /* a weak reference to the slot's object */
};

static _Atomic(void *) owners[SLOTS]; /* the one strong reference each slot holds */
static struct slot slots[SLOTS];
static atomic_long news, retains, releases, frees, weak_news, weak_dead_reads;
static atomic_int stop;

static void count_free(void *obj)
{
    (void)obj;
    atomic_fetch_add(&frees, 1);
}

static void *make(void)
{
    void *o = hs_rc_new("Shared", 48);
    hs_rc_set_finalizer(o, count_free);
    atomic_fetch_add(&news, 1);
    return o;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    while (!atomic_load(&stop)) {
        int i = (int)(rand_r(&seed) % SLOTS);
        if (rand_r(&seed) % 16 == 0) { /* replace the slot's object */
            void *fresh = make();
            hs_weak *w = hs_weak_new(fresh);
            atomic_fetch_add(&weak_news, 1);
            void *old = atomic_exchange(&owners[i], fresh);
            hs_weak *old_w = atomic_exchange(&slots[i].weak, w);
            if (old) {
                hs_rc_release(old);
                atomic_fetch_add(&releases, 1);
            }
            if (old_w) {
                if (!hs_weak_get(old_w))
                    atomic_fetch_add(&weak_dead_reads, 1);
                hs_weak_free(old_w);
            }
            continue;
        }
        /* take a strong reference through the weak one, use it, drop it */
        hs_weak *w = atomic_exchange(&slots[i].weak, NULL);
        if (!w)
            continue;
        void *o = hs_weak_retain(w);
        atomic_store(&slots[i].weak, w);
        if (!o)
            continue;
        atomic_fetch_add(&retains, 1);
        hs_rc_retain(o);
        atomic_fetch_add(&retains, 1);
        hs_rc_release(o);
        hs_rc_release(o);
        atomic_fetch_add(&releases, 2);
    }
    return NULL;
}

int main(void)
{
    for (int i = 0; i < SLOTS; i++) {
        owners[i] = make();
        slots[i].weak = hs_weak_new(owners[i]);
        atomic_fetch_add(&weak_news, 1);
    }
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    struct timespec second = { 1, 0 };
    nanosleep(&second, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < SLOTS; i++) {
        hs_rc_release(owners[i]);
        atomic_fetch_add(&releases, 1);
        hs_weak_free(slots[i].weak);
    }
    printf("new %ld retain %ld release %ld free %ld weak_new %ld\n", (long)news, (long)retains,
           (long)releases, (long)frees, (long)weak_news);
    return news == frees ? 0 : 1;
}

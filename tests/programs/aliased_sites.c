/* Call sites whose return addresses are 256 KiB apart, so that their low 18
 * bits are the same: a cache of unwind rules indexed by an address's low
 * bits puts them all in one slot. Usage: aliased_sites ROUNDS; each round
 * allocates and frees once from each site. */
#include <stdio.h>
#include <stdlib.h>

#define SITE(name)                                                  \
    __attribute__((noinline, aligned(1 << 18))) static void name(void) \
    {                                                               \
        char *volatile p = malloc(24);                              \
        p[0] = 1;                                                   \
        free(p);                                                    \
    }
SITE(site_a)
SITE(site_b)
SITE(site_c)
SITE(site_d)

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 1;
    for (long i = 0; i < rounds; i++) {
        site_a();
        site_b();
        site_c();
        site_d();
    }
    printf("%ld\n", rounds);
    return 0;
}

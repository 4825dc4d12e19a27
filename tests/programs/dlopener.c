/* dlopens ARGV[1], calls its plugin_leak (which leaks 555 bytes), dlcloses
 * it, and does it once more. The leak's stacks point into a library that is
 * gone by exit. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    for (int i = 0; i < 2; i++) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) {
            fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
        void (*leak)(void) = (void (*)(void))dlsym(h, "plugin_leak");
        leak(); /* CALL-PLUGIN */
        dlclose(h);
    }
    puts("done");
    return 0;
}

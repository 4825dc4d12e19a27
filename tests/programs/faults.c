/* Programs that make life hard for a tracer. Each prints what it knows.
 *   closefds      once the tracer has its file open, closes every descriptor
 *                 above 2 (the tracer's too), opens a file of its own, puts
 *                 it on numbers 700-999 too (where the tracer's were) and
 *                 writes to it
 *   forks N       forks N children that allocate and exit
 *   signals       allocates in a signal handler firing every 50 us, for 1 s
 *   threadexit    a thread calls exit() while main keeps allocating
 *   load T S      T threads allocate and free for S seconds, then join;
 *                 prints how many allocations they made
 *   smallstack K  a coroutine on a stack of K KiB (a guard page below)
 *                 allocates and frees 1000 times
 *   fsize K       lowers RLIMIT_FSIZE to K KiB, then allocates 300,000 times
 *   daemon DIR    allocates, calls daemon(1, 1), and the daemon allocates
 *                 and writes DIR/daemon.txt
 *   lowfds DIR    puts files of its own on descriptors 3 and 4 (as a shell's
 *                 `exec 3<in 4>out`), allocates from signal handlers (whose
 *                 stacks libunwind walks), then reads 3 and writes 4
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static void *volatile sink;

static int closefds(const char *path)
{
    for (int i = 0; i < 200000; i++) { /* enough for the tracer to open its file */
        void *p = malloc(100);
        free(p);
    }
    usleep(1200000); /* and for its once-a-second flush */
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    FILE *f = fopen(path, "w");
    if (!f)
        return 5;
    for (int fd = 700; fd < 1000; fd++)
        if (dup2(fileno(f), fd) != fd)
            return 6;
    for (int i = 0; i < 20000; i++) { /* enough allocation for the tracer to write */
        char *p = malloc(64);
        snprintf(p, 64, "line %d\n", i);
        fputs(p, f);
        free(p);
    }
    for (int i = 0; i < 300000; i++) { /* and more: new regions, new chunks */
        void *p = malloc(100);
        free(p);
    }
    fclose(f);
    for (int fd = 700; fd < 1000; fd++)
        close(fd);
    printf("wrote %s\n", path);
    return 0;
}

static int forks(int n)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            sink = malloc(32 + (size_t)i);
            _exit(0);
        }
    }
    int ok = 0, status;
    while (wait(&status) > 0)
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("%d children exited 0\n", ok);
    return 0;
}

static atomic_long handler_allocs;

static void on_alarm(int sig)
{
    (void)sig;
    void *p = malloc(48); /* not async-signal-safe by the book, but programs do it */
    free(p);
    atomic_fetch_add(&handler_allocs, 1);
}

static int signals(void)
{
    signal(SIGALRM, on_alarm);
    struct itimerval it = { { 0, 50 }, { 0, 50 } };
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long main_allocs = 0;
    do {
        void *p = malloc(64 + (size_t)(main_allocs % 512));
        free(p);
        main_allocs++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 1);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("signals: main and handler allocated (%s)\n", atomic_load(&handler_allocs) > 10 ? "many" : "few");
    return 0;
}

static void *exiter(void *arg)
{
    (void)arg;
    usleep(100000);
    printf("thread calls exit\n");
    fflush(stdout);
    exit(7);
}

__attribute__((noreturn)) static int threadexit(void)
{
    pthread_t t;
    pthread_create(&t, NULL, exiter, NULL);
    for (;;) {
        void *p = malloc(128);
        free(p);
    }
}

static atomic_int stop;
static atomic_long made;

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    void *ring[64] = { 0 };
    long n = 0;
    while (!atomic_load(&stop)) {
        unsigned i = (unsigned)rand_r(&seed) % 64;
        free(ring[i]);
        ring[i] = malloc(16 + (size_t)(rand_r(&seed) % 2000));
        n++;
    }
    for (int i = 0; i < 64; i++)
        free(ring[i]);
    atomic_fetch_add(&made, n);
    return NULL;
}

static int load(int threads, int seconds)
{
    pthread_t t[64];
    for (long i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    struct timespec left = { seconds, 0 }; /* signals cut a sleep short: sleep on */
    while (nanosleep(&left, &left) != 0)
        ;
    atomic_store(&stop, 1);
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    printf("load: %d threads made %ld allocations\n", threads, (long)made);
    return 0;
}

static void on_usr1(int sig)
{
    (void)sig;
    sink = malloc(100);
    free(sink);
}

__attribute__((noinline)) static void nest(int n)
{
    if (n > 0)
        nest(n - 1);
    else {
        sink = malloc(32);
        free(sink);
    }
    __asm__ volatile("" ::: "memory");
}

static int lowfds(const char *dir)
{
    char in[4096], out[4096];
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    int a = open(in, O_RDWR | O_CREAT | O_TRUNC, 0644), b = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (a < 0 || b < 0 || write(a, "0123456789\n", 11) != 11 || lseek(a, 0, SEEK_SET) != 0)
        return 1;
    int a2 = fcntl(a, F_DUPFD, 100), b2 = fcntl(b, F_DUPFD, 100);
    close(a);
    close(b);
    if (dup2(a2, 3) != 3 || dup2(b2, 4) != 4)
        return 1;
    close(a2);
    close(b2);
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 2000; i++) {
        nest(i % 40);
        if (i % 10 == 0)
            raise(SIGUSR1);
    }
    char buf[8] = { 0 };
    ssize_t n = read(3, buf, 5);
    printf("read(3) %zd %s, write(4) %zd\n", n, buf, write(4, "mine\n", 5));
    return 0;
}

static int fsize(long kib)
{
    struct rlimit r = { (rlim_t)kib * 1024, (rlim_t)kib * 1024 };
    if (setrlimit(RLIMIT_FSIZE, &r) != 0)
        return 1;
    for (int i = 0; i < 300000; i++) {
        sink = malloc(16 + i % 200);
        if (i % 3)
            free(sink);
    }
    printf("fsize: 300000 allocations\n");
    return 0;
}

static void *volatile kept[100];

static int to_daemon(const char *dir)
{
    for (int i = 0; i < 1000; i++) {
        sink = malloc(24 + i % 100);
        kept[i % 100] = sink;
    }
    printf("parent goes\n");
    fflush(stdout);
    if (daemon(1, 1) != 0)
        return 1;
    for (int i = 0; i < 500; i++) {
        sink = malloc(40);
        free(sink);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/daemon.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "daemon %d done\n", (int)getpid());
    fclose(f);
    return 0;
}

static ucontext_t main_ctx, co_ctx;

static void co_body(void)
{
    for (int i = 0; i < 1000; i++) {
        sink = malloc(16 + i % 64);
        free(sink);
    }
}

static int smallstack(size_t kib)
{
    size_t page = (size_t)getpagesize(), size = (kib * 1024 + page - 1) / page * page;
    char *stack = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED || mprotect(stack, page, PROT_NONE) != 0 || getcontext(&co_ctx) != 0)
        return 1;
    co_ctx.uc_stack.ss_sp = stack + page;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, co_body, 0);
    if (swapcontext(&main_ctx, &co_ctx) != 0)
        return 1;
    printf("a coroutine on %zu KiB allocated 1000 times\n", kib);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "closefds") && argc > 2)
        return closefds(argv[2]);
    if (!strcmp(argv[1], "forks") && argc > 2)
        return forks(atoi(argv[2]));
    if (!strcmp(argv[1], "signals"))
        return signals();
    if (!strcmp(argv[1], "threadexit"))
        return threadexit();
    if (!strcmp(argv[1], "load") && argc > 3)
        return load(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(argv[1], "fsize") && argc > 2)
        return fsize(atol(argv[2]));
    if (!strcmp(argv[1], "daemon") && argc > 2)
        return to_daemon(argv[2]);
    if (!strcmp(argv[1], "lowfds") && argc > 2)
        return lowfds(argv[2]);
    if (!strcmp(argv[1], "smallstack") && argc > 2)
        return smallstack((size_t)atoi(argv[2]));
    return 2;
}

/* The parent leaks 111 bytes, forks; the child leaks 222 bytes and exits 7;
 * the parent waits and leaks 333 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

int main(void)
{
    sink = malloc(111); /* LEAK-PARENT-BEFORE */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sink = malloc(222); /* LEAK-CHILD */
        printf("child %d\n", (int)getpid());
        exit(7);
    }
    int status;
    waitpid(pid, &status, 0);
    sink = malloc(333); /* LEAK-PARENT-AFTER */
    printf("child pid %d exited %d\n", (int)pid, WEXITSTATUS(status));
    return 0;
}

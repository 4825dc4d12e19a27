/* Reaps children with each of the wait family (wait, waitpid, wait3, wait4,
 * waitid), each child killed by another signal before it does anything, and
 * prints what each call returned: the same traced or not. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child(int sig)
{
    pid_t pid = fork();
    if (pid == 0) {
        raise(sig);
        _exit(99);
    }
    return pid;
}

int main(void)
{
    int st = 0, ok;
    struct rusage ru;
    pid_t p = child(SIGKILL);
    ok = wait(&st) == p;
    printf("wait: %d %d\n", ok, st);
    p = child(SIGTERM);
    ok = waitpid(p, NULL, 0) == p; /* no status asked for */
    printf("waitpid: %d\n", ok);
    p = child(SIGHUP);
    ok = wait3(&st, 0, &ru) == p;
    printf("wait3: %d %d\n", ok, st);
    p = child(SIGUSR1);
    ok = wait4(p, &st, 0, NULL) == p;
    printf("wait4: %d %d\n", ok, st);
    p = child(SIGALRM);
    siginfo_t si = { 0 };
    ok = waitid(P_PID, (id_t)p, &si, WEXITED) == 0;
    printf("waitid: %d %d %d\n", ok, si.si_code, si.si_status);
    ok = wait(NULL) == -1;
    printf("none left: %d\n", ok);
    return 0;
}

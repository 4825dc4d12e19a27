/* Runs a command and prints its exit status and peak RSS in KiB (wait4's
 * ru_maxrss). A small C parent, so the child's high-water mark before exec is
 * small too (a child forked from python would start with python's). The
 * command's stdout goes to /dev/null.
 * Usage: maxrss COMMAND ARGS... */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO); /* stdout is for the result */
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        return 1;
    printf("%d %ld\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128, ru.ru_maxrss);
    return 0;
}

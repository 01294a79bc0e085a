// Writes the CLOCK_MONOTONIC time in nanoseconds to stderr as "stamp-exec start NS", then
// replaces itself with the given command. Linked statically so it also runs in a bare root.
// The benchmarks compare that time with when the first request of the command arrives, so the
// cost of entering a sandbox is not counted.
//
// With --wait it runs the command as a child instead, waits for it and also writes
// "stamp-exec exit NS STATUS CPU_NS". NS is the time from start to exit. CPU_NS is the user plus
// system CPU time of the command and of every descendant that was waited for.
//
// Build: gcc -O2 -static -o stamp-exec stamp-exec.c
// Run:   stamp-exec [--wait] COMMAND [ARGUMENT...]

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

int main(int argc, char **argv) {
  int wait_for_exit = argc > 1 && strcmp(argv[1], "--wait") == 0;
  char **command = argv + 1 + wait_for_exit;
  if (command[0] == NULL) {
    fputs("usage: stamp-exec [--wait] COMMAND [ARGUMENT...]\n", stderr);
    return 2;
  }

  long long started = monotonic_ns();
  fprintf(stderr, "stamp-exec start %lld\n", started);
  fflush(stderr);

  if (!wait_for_exit) {
    execv(command[0], command);
    perror("stamp-exec: execv");
    return 127;
  }

  pid_t child = fork();
  if (child == 0) {
    execv(command[0], command);
    perror("stamp-exec: execv");
    _exit(127);
  }

  int status = 0;
  waitpid(child, &status, 0);
  long long ended = monotonic_ns();
  struct rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
  long long cpu_ns = ((long long)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
                     ((long long)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
  fprintf(stderr, "stamp-exec exit %lld %d %lld\n", ended - started, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), cpu_ns);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

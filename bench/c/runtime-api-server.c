// A minimal Lambda Runtime API server (version 2018-06-01) for benchmarks: it hands out a fixed
// event on GET /runtime/invocation/next and accepts every POST /runtime/invocation/{id}/response
// or /error with 202, one invocation at a time, so that a runtime's own cost per invocation is
// visible. The Node.js emulator in src/emulator/ checks the protocol, while this server checks
// nothing beyond what it needs to parse the requests.
//
// Usage: runtime-api-server --warmup W --invocations N [--checkpoint K]... [--pause] [--event JSON]
//
// It listens on 127.0.0.1 on a free port and writes one JSON object per line to stdout:
//   {"listening":PORT}
//   {"checkpoint":0,"seconds":0}  at the end of the warm-up, where the timed window starts
//   {"checkpoint":K,"seconds":S}  after the K-th report of the timed window, and after the last
//   {"done":N,"seconds":S,"serverCpuSeconds":C,"errors":E}  after the last report
// With --pause it stops at each checkpoint until a line arrives on stdin, so the caller can
// read the runtime's CPU time or RSS while the runtime waits in /next. The time spent paused is
// not counted. After the last report it exits, which closes the
// runtime's connection.
//
// Build: gcc -O2 -o runtime-api-server runtime-api-server.c

#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 8
#define MAX_CHECKPOINTS 16
#define BUFFER_BYTES (8 * 1024 * 1024)

static const char RUNTIME_PREFIX[] = "/2018-06-01/runtime/";
static const char ACCEPTED_RESPONSE[] =
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n";

struct connection {
  int fd;
  char *buffer;
  size_t used;
};

struct settings {
  long warmup;
  long invocations;
  long checkpoints[MAX_CHECKPOINTS];
  int checkpoint_count;
  int pause;
  const char *event;
};

static struct settings settings = {.warmup = 0, .invocations = 1000, .event = "{}"};
static long reports = 0;
static long errors = 0;
static double window_start = 0;
static double server_cpu_start = 0;

static void fail(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  fputs("runtime-api-server: ", stderr);
  vfprintf(stderr, format, arguments);
  fputc('\n', stderr);
  va_end(arguments);
  exit(2);
}

static double monotonic_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
         (double)usage.ru_stime.tv_usec / 1e6;
}

static void wait_for_caller(void) {
  if (!settings.pause) {
    return;
  }

  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) {
    fail("stdin closed while paused");
  }
}

static void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t written = write(fd, data, length);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write failed: %s", strerror(errno));
    }
    data += written;
    length -= (size_t)written;
  }
}

static void send_next_response(int fd) {
  long long deadline_ms = (long long)time(NULL) * 1000 + 900000;
  char head[1024];
  int length = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: application/json\r\n"
                        "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-%012ld\r\n"
                        "Lambda-Runtime-Deadline-Ms: %lld\r\n"
                        "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:012345678912:function:bench\r\n"
                        "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        reports + 1, deadline_ms, strlen(settings.event));
  write_all(fd, head, (size_t)length);
  write_all(fd, settings.event, strlen(settings.event));
}

// Called after each response or error report: starts the timed window after the warm-up, prints
// checkpoints and ends the run after the last invocation.
static void count_report(void) {
  reports++;
  long measured = reports - settings.warmup;

  if (measured == 0) {
    printf("{\"checkpoint\":0,\"seconds\":0}\n");
    fflush(stdout);
    wait_for_caller();
    window_start = monotonic_seconds();
    server_cpu_start = cpu_seconds();
    return;
  }

  if (measured < 0) {
    return;
  }

  double elapsed = monotonic_seconds() - window_start;
  if (measured == settings.invocations) {
    double server_cpu = cpu_seconds() - server_cpu_start;
    printf("{\"checkpoint\":%ld,\"seconds\":%.6f}\n", measured, elapsed);
    fflush(stdout);
    wait_for_caller();
    printf("{\"done\":%ld,\"seconds\":%.6f,\"serverCpuSeconds\":%.6f,\"errors\":%ld}\n", measured, elapsed, server_cpu,
           errors);
    fflush(stdout);
    exit(0);
  }

  for (int i = 0; i < settings.checkpoint_count; i++) {
    if (settings.checkpoints[i] == measured) {
      printf("{\"checkpoint\":%ld,\"seconds\":%.6f}\n", measured, elapsed);
      fflush(stdout);
      double paused_at = monotonic_seconds();
      wait_for_caller();
      window_start += monotonic_seconds() - paused_at;
    }
  }
}

// Returns the value of a header in the request head [head, end), or NULL.
static const char *find_header(const char *head, const char *end, const char *name, size_t *value_length) {
  size_t name_length = strlen(name);
  const char *line = memchr(head, '\n', (size_t)(end - head));

  while (line != NULL && line + 1 < end) {
    line++;
    const char *line_end = memchr(line, '\r', (size_t)(end - line));
    if (line_end == NULL) {
      return NULL;
    }
    if ((size_t)(line_end - line) > name_length && line[name_length] == ':' && strncasecmp(line, name, name_length) == 0) {
      const char *value = line + name_length + 1;
      while (value < line_end && *value == ' ') {
        value++;
      }
      *value_length = (size_t)(line_end - value);
      return value;
    }
    line = memchr(line, '\n', (size_t)(end - line));
  }

  return NULL;
}

// Returns the length of a complete chunked body at `body` (up to and including the last CRLF), or 0.
static size_t chunked_length(const char *body, const char *end) {
  const char *cursor = body;

  while (cursor < end) {
    char *after_size;
    unsigned long size = strtoul(cursor, &after_size, 16);
    const char *line_end = memmem(after_size, (size_t)(end - after_size), "\r\n", 2);
    if (line_end == NULL) {
      return 0;
    }
    cursor = line_end + 2;

    if (size == 0) {
      // Trailers, if any, end with an empty line.
      const char *trailers_end = memmem(cursor - 2, (size_t)(end - cursor + 2), "\r\n\r\n", 4);
      return trailers_end == NULL ? 0 : (size_t)(trailers_end + 4 - body);
    }

    if ((size_t)(end - cursor) < size + 2) {
      return 0;
    }
    cursor += size + 2;
  }

  return 0;
}

// Handles complete requests in the connection's buffer and returns 0, or -1 to close it.
static int handle_requests(struct connection *connection) {
  for (;;) {
    char *start = connection->buffer;
    char *end = start + connection->used;
    char *head_end = memmem(start, connection->used, "\r\n\r\n", 4);
    if (head_end == NULL) {
      return 0;
    }
    head_end += 4;

    size_t value_length = 0;
    const char *expect = find_header(start, head_end, "Expect", &value_length);
    const char *content_length = find_header(start, head_end, "Content-Length", &value_length);
    const char *transfer_encoding = find_header(start, head_end, "Transfer-Encoding", &value_length);

    size_t body_length = 0;
    if (content_length != NULL) {
      body_length = strtoul(content_length, NULL, 10);
      if ((size_t)(end - head_end) < body_length) {
        if (expect != NULL && strncasecmp(expect, "100-continue", 12) == 0) {
          static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";
          write_all(connection->fd, CONTINUE, sizeof CONTINUE - 1);
        }
        return 0;
      }
    } else if (transfer_encoding != NULL && strncasecmp(transfer_encoding, "chunked", 7) == 0) {
      body_length = chunked_length(head_end, end);
      if (body_length == 0) {
        return 0;
      }
    }

    char method[8] = {0};
    char path[512] = {0};
    if (sscanf(start, "%7s %511s", method, path) != 2) {
      fail("cannot parse request line: %.60s", start);
    }

    const char *route = strncmp(path, RUNTIME_PREFIX, sizeof RUNTIME_PREFIX - 1) == 0 ? path + sizeof RUNTIME_PREFIX - 1 : "";
    if (strcmp(method, "GET") == 0 && strcmp(route, "invocation/next") == 0) {
      send_next_response(connection->fd);
    } else if (strcmp(method, "POST") == 0 && strncmp(route, "invocation/", 11) == 0) {
      size_t route_length = strlen(route);
      int is_error = route_length > 6 && strcmp(route + route_length - 6, "/error") == 0;
      if (is_error) {
        errors++;
      }
      write_all(connection->fd, ACCEPTED_RESPONSE, sizeof ACCEPTED_RESPONSE - 1);
      count_report();
    } else if (strcmp(method, "POST") == 0 && strcmp(route, "init/error") == 0) {
      fprintf(stderr, "runtime-api-server: the runtime posted an init error: %.*s\n", (int)body_length, head_end);
      exit(1);
    } else {
      fail("unexpected request %s %s", method, path);
    }

    size_t consumed = (size_t)(head_end - start) + body_length;
    memmove(start, start + consumed, connection->used - consumed);
    connection->used -= consumed;
  }
}

static void parse_arguments(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *name = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(name, "--pause") == 0) {
      settings.pause = 1;
      continue;
    }
    if (value == NULL) {
      fail("missing value after %s", name);
    }
    i++;

    if (strcmp(name, "--warmup") == 0) {
      settings.warmup = atol(value);
    } else if (strcmp(name, "--invocations") == 0) {
      settings.invocations = atol(value);
    } else if (strcmp(name, "--checkpoint") == 0) {
      if (settings.checkpoint_count == MAX_CHECKPOINTS) {
        fail("at most %d checkpoints", MAX_CHECKPOINTS);
      }
      settings.checkpoints[settings.checkpoint_count++] = atol(value);
    } else if (strcmp(name, "--event") == 0) {
      settings.event = value;
    } else {
      fail("unknown option %s", name);
    }
  }

  // The timed window starts at the end of the warm-up, so at least one invocation warms up.
  if (settings.invocations <= 0 || settings.warmup < 1) {
    fail("--invocations and --warmup must be 1 or more");
  }
}

int main(int argc, char **argv) {
  parse_arguments(argc, argv);

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0) {
    fail("cannot listen on 127.0.0.1: %s", strerror(errno));
  }
  socklen_t address_length = sizeof address;
  getsockname(listener, (struct sockaddr *)&address, &address_length);
  printf("{\"listening\":%d}\n", ntohs(address.sin_port));
  fflush(stdout);

  struct connection connections[MAX_CONNECTIONS];
  int connection_count = 0;

  for (;;) {
    struct pollfd polls[MAX_CONNECTIONS + 1];
    polls[0] = (struct pollfd){.fd = listener, .events = POLLIN};
    for (int i = 0; i < connection_count; i++) {
      polls[i + 1] = (struct pollfd){.fd = connections[i].fd, .events = POLLIN};
    }

    if (poll(polls, (nfds_t)connection_count + 1, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("poll failed: %s", strerror(errno));
    }

    for (int i = connection_count - 1; i >= 0; i--) {
      if (polls[i + 1].revents == 0) {
        continue;
      }

      struct connection *connection = &connections[i];
      ssize_t received = read(connection->fd, connection->buffer + connection->used, BUFFER_BYTES - connection->used);
      if (received > 0) {
        connection->used += (size_t)received;
        if (connection->used == BUFFER_BYTES) {
          fail("request over %d bytes", BUFFER_BYTES);
        }
        if (handle_requests(connection) == 0) {
          continue;
        }
      }

      close(connection->fd);
      free(connection->buffer);
      connections[i] = connections[--connection_count];
    }

    if (polls[0].revents != 0) {
      int fd = accept(listener, NULL, NULL);
      if (fd < 0) {
        continue;
      }
      if (connection_count == MAX_CONNECTIONS) {
        close(fd);
        continue;
      }
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      connections[connection_count++] = (struct connection){.fd = fd, .buffer = malloc(BUFFER_BYTES), .used = 0};
    }
  }
}

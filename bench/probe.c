/* Bench probes for docker secretfs (bench/): what readbench does not cover, timed inside the
   process so process start-up never counts. Prints one JSON line.
     probe readall FILE N        open + read to EOF + close, N times: p50/p99 us, bytes of the last read
     probe readdir DIR N         opendir + readdir to the end + closedir, N times: p50/p99 us, entries
     probe loop FILE MS THREADS  THREADS threads open+read+close FILE for MS milliseconds: ops, ops/s
     probe burst FILE THREADS    THREADS threads wait on a barrier, then each opens+reads+closes FILE once:
                                 failures and the wall time of the whole burst in us
     probe burstkeys DIR THREADS the same, thread i reading DIR/k<i> (distinct files of one directory)
     probe each FILE...          open + read to EOF + close of each file once, back to back: p50/p99 us
                                 of the successful ones, each one's us in order (-1 when it failed), and
                                 how many failed (exit 1 when all failed)
     probe eachdir DIR...        the same with opendir + readdir to the end + closedir of each directory */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static long read_all(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, cap);
    if (n < 0) { int e = errno; close(fd); return -e; }
    if (n == 0) break;
    total += n;
  }
  close(fd);
  return total;
}
static void print_quantiles(double *t, int n, const char *extra_key, long extra) {
  qsort(t, n, sizeof *t, cmp);
  printf("{\"p50_us\":%.1f,\"p99_us\":%.1f,\"n\":%d,\"%s\":%ld}\n", t[n / 2], t[(long)n * 99 / 100], n, extra_key, extra);
}

struct loop_arg { const char *path; double until; long ops; long errors; };
static void *loop_thread(void *p) {
  struct loop_arg *a = p;
  static __thread char buf[65536];
  while (now_us() < a->until) {
    if (read_all(a->path, buf, sizeof buf) < 0) a->errors++;
    else a->ops++;
  }
  return NULL;
}

static pthread_barrier_t barrier;
struct burst_arg { const char *path; char own[4096]; long result; };
static void *burst_thread(void *p) {
  struct burst_arg *a = p;
  static __thread char buf[65536];
  pthread_barrier_wait(&barrier);
  a->result = read_all(a->path, buf, sizeof buf);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: probe readall|readdir|loop|burst|burstkeys|each ARGS\n"); return 2; }
  const char *mode = argv[1], *path = argv[2];
  static char buf[1 << 16];
  if (!strcmp(mode, "each") || !strcmp(mode, "eachdir")) {
    int dirs = !strcmp(mode, "eachdir");
    int n = argc - 2;
    double *t = malloc(n * sizeof *t), *each = malloc(n * sizeof *each);
    long bytes = 0;
    int ok = 0, failures = 0;
    for (int i = 0; i < n; i++) {
      double a = now_us();
      long r;
      if (dirs) {
        DIR *d = opendir(argv[2 + i]);
        if (!d) r = -errno;
        else {
          r = 0;
          while (readdir(d)) r++;
          closedir(d);
        }
      } else r = read_all(argv[2 + i], buf, sizeof buf);
      double us = now_us() - a;
      each[i] = r < 0 ? -1 : us;
      if (r < 0) { fprintf(stderr, "%s: %s\n", argv[2 + i], strerror(-r)); failures++; continue; }
      t[ok++] = us;
      bytes = r;
    }
    if (ok == 0) return 1;
    qsort(t, ok, sizeof *t, cmp);
    printf("{\"p50_us\":%.1f,\"p99_us\":%.1f,\"n\":%d,\"failures\":%d,\"%s\":%ld,\"us\":[", t[ok / 2], t[(long)ok * 99 / 100], n, failures, dirs ? "entries" : "bytes", bytes);
    for (int i = 0; i < n; i++) printf(i ? ",%.1f" : "%.1f", each[i]);
    printf("]}\n");
    return 0;
  }
  if (argc < 4) { fprintf(stderr, "usage: probe readall|readdir|loop|burst|burstkeys|each ARGS\n"); return 2; }
  if (!strcmp(mode, "readall") || !strcmp(mode, "readdir")) {
    int n = atoi(argv[3]);
    if (n < 1) n = 1;
    double *t = malloc(n * sizeof *t);
    long extra = 0;
    for (int i = 0; i < n; i++) {
      double a = now_us();
      if (!strcmp(mode, "readall")) {
        long r = read_all(path, buf, sizeof buf);
        if (r < 0) { fprintf(stderr, "%s: %s\n", path, strerror(-r)); return 1; }
        extra = r;
      } else {
        DIR *d = opendir(path);
        if (!d) { perror(path); return 1; }
        long entries = 0;
        while (readdir(d)) entries++;
        closedir(d);
        extra = entries;
      }
      t[i] = now_us() - a;
    }
    print_quantiles(t, n, !strcmp(mode, "readall") ? "bytes" : "entries", extra);
    return 0;
  }
  if (!strcmp(mode, "loop") && argc >= 5) {
    double ms = atof(argv[3]);
    int threads = atoi(argv[4]);
    if (threads < 1) threads = 1;
    pthread_t *tid = calloc(threads, sizeof *tid);
    struct loop_arg *args = calloc(threads, sizeof *args);
    double start = now_us();
    for (int i = 0; i < threads; i++) {
      args[i].path = path;
      args[i].until = start + ms * 1000;
      pthread_create(&tid[i], NULL, loop_thread, &args[i]);
    }
    long ops = 0, errors = 0;
    for (int i = 0; i < threads; i++) {
      pthread_join(tid[i], NULL);
      ops += args[i].ops;
      errors += args[i].errors;
    }
    double secs = (now_us() - start) / 1e6;
    printf("{\"ops\":%ld,\"errors\":%ld,\"ops_per_s\":%.0f,\"threads\":%d}\n", ops, errors, ops / secs, threads);
    return 0;
  }
  if (!strcmp(mode, "burst") || !strcmp(mode, "burstkeys")) {
    int threads = atoi(argv[3]);
    if (threads < 1) threads = 1;
    pthread_t *tid = calloc(threads, sizeof *tid);
    struct burst_arg *args = calloc(threads, sizeof *args);
    pthread_barrier_init(&barrier, NULL, threads + 1);
    for (int i = 0; i < threads; i++) {
      if (!strcmp(mode, "burstkeys")) {
        snprintf(args[i].own, sizeof args[i].own, "%s/k%d", path, i);
        args[i].path = args[i].own;
      } else args[i].path = path;
      pthread_create(&tid[i], NULL, burst_thread, &args[i]);
    }
    double start = now_us();
    pthread_barrier_wait(&barrier);
    long failures = 0, bytes = -1;
    for (int i = 0; i < threads; i++) {
      pthread_join(tid[i], NULL);
      if (args[i].result < 0) failures++;
      else bytes = args[i].result;
    }
    printf("{\"threads\":%d,\"failures\":%ld,\"bytes\":%ld,\"wall_us\":%.1f}\n", threads, failures, bytes, now_us() - start);
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}

/*
 * Shared by bench/wxnet_bench.c and bench/curl_bench.c: command line, timing, CPU
 * accounting, the POST body and the one RESULT line each run prints.
 *
 * Both programs take the same arguments and print one line
 *   RESULT backend=<wxnet|curl> scenario=<name> key=value ...
 * that scripts/bench.sh parses (bench/report.py builds the table).
 *
 *   --scenario NAME   label only (copied to the RESULT line)
 *   --port P          the test server's TLS port (api.wxnet.test:443 is pinned to 127.0.0.1:P)
 *   --ca FILE         CA certificate(s), PEM
 *   --path /json      route to request
 *   --n N             timed requests                      (default 1000)
 *   --conc C          requests in flight                   (default 1)
 *   --warmup W        untimed requests first, C in flight  (default 2*C, at least 4)
 *   --h2              HTTP/2 (wxnet enableHttp2; curl CURL_HTTP_VERSION_2TLS + multiplexing)
 *   --arraybuffer     wxnet responseType arraybuffer (curl: no difference, bytes are bytes)
 *   --post BYTES      POST a JSON body of exactly BYTES bytes (Content-Type application/json)
 *   --data-in-options wxnet only: the body goes as the wx `data` object inside the options
 *                     JSON (what JS `wx.request({data: obj})` becomes) instead of the
 *                     ArrayBuffer argument
 *   --expect-len L    every body must be exactly L bytes (else: error)
 *   --threads         curl only: C threads each looping curl_easy_perform on its own
 *                     handle, instead of one curl_multi event loop
 *   --hops            curl only: the curl_multi loop on a network thread; requests handed to
 *                     it and results handed back to the calling thread through queues (the
 *                     thread hops of a real container, as wxnet has)
 *   --ttfr K          time-to-first-request mode: K times a fresh app / fresh easy handle
 *                     doing one request (new TCP connection + full TLS handshake)
 *   --expect-proto S  sanity check before timing: GET /alpn must answer S
 *   --wx-extra JSON   wxnet only: members appended to the wx options object,
 *                     e.g. '"dataType":"text"'
 */
#ifndef WXNET_BENCH_COMMON_H
#define WXNET_BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct bench_args {
  const char *scenario;
  int port;
  const char *ca;
  const char *path;
  long n;
  int conc;
  long warmup;
  int h2;
  int arraybuffer;
  size_t post;
  int data_in_options;
  long expect_len;
  int threads;
  int hops;
  int ttfr;
  const char *expect_proto;
  const char *wx_extra;
} bench_args;

static void bench_usage(const char *prog) {
  fprintf(stderr,
          "usage: %s --port P --ca FILE [--scenario NAME] [--path /json] [--n N] [--conc C]\n"
          "          [--warmup W] [--h2] [--arraybuffer] [--post BYTES] [--data-in-options]\n"
          "          [--expect-len L] [--threads] [--hops] [--ttfr K] [--expect-proto HTTP/1.1]\n"
          "          [--wx-extra '\"dataType\":\"text\"']\n",
          prog);
  exit(2);
}

static void bench_parse(int argc, char **argv, bench_args *a) {
  memset(a, 0, sizeof *a);
  a->scenario = "unnamed";
  a->path = "/json";
  a->n = 1000;
  a->conc = 1;
  a->warmup = -1;
  a->expect_len = -1;
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL() (v ? (i++, v) : (bench_usage(argv[0]), ""))
    if (!strcmp(k, "--scenario")) a->scenario = VAL();
    else if (!strcmp(k, "--port")) a->port = atoi(VAL());
    else if (!strcmp(k, "--ca")) a->ca = VAL();
    else if (!strcmp(k, "--path")) a->path = VAL();
    else if (!strcmp(k, "--n")) a->n = atol(VAL());
    else if (!strcmp(k, "--conc")) a->conc = atoi(VAL());
    else if (!strcmp(k, "--warmup")) a->warmup = atol(VAL());
    else if (!strcmp(k, "--h2")) a->h2 = 1;
    else if (!strcmp(k, "--arraybuffer")) a->arraybuffer = 1;
    else if (!strcmp(k, "--post")) a->post = (size_t)atol(VAL());
    else if (!strcmp(k, "--data-in-options")) a->data_in_options = 1;
    else if (!strcmp(k, "--expect-len")) a->expect_len = atol(VAL());
    else if (!strcmp(k, "--threads")) a->threads = 1;
    else if (!strcmp(k, "--hops")) a->hops = 1;
    else if (!strcmp(k, "--ttfr")) a->ttfr = atoi(VAL());
    else if (!strcmp(k, "--expect-proto")) a->expect_proto = VAL();
    else if (!strcmp(k, "--wx-extra")) a->wx_extra = VAL();
    else bench_usage(argv[0]);
#undef VAL
  }
  if (a->port <= 0 || a->ca == NULL || a->n <= 0 || a->conc <= 0) bench_usage(argv[0]);
  if (a->warmup < 0) a->warmup = a->conc * 2 < 4 ? 4 : a->conc * 2;
}

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of the whole process, every thread included. */
typedef struct bench_cpu {
  double user, sys;
  long csw; /* context switches, voluntary + involuntary */
} bench_cpu;

static bench_cpu bench_cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  bench_cpu c = {(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
                 ru.ru_nvcsw + ru.ru_nivcsw};
  return c;
}

static inline char *bench_read_file(const char *path, size_t *len_out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len - 1 == 0) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[len] = 0;
  if (len_out) *len_out = len;
  return buf;
}

/* A JSON document of exactly `n` bytes (n >= 32): {"items":[{"id":0,"name":"item-00000",
 * "tags":["a","b"],"score":0.5},...],"pad":"xxx"}. Deterministic, ASCII, no escapes. */
static inline char *bench_json_body(size_t n) {
  char *out = malloc(n + 1);
  size_t len = 0;
  len += (size_t)sprintf(out, "{\"items\":[");
  for (long i = 0;; i++) {
    char item[128];
    int k = snprintf(item, sizeof item,
                     "%s{\"id\":%ld,\"name\":\"item-%05ld\",\"tags\":[\"a\",\"b\"],\"score\":%ld.5}",
                     i ? "," : "", i, i, i % 100);
    if (len + (size_t)k + 32 > n) break;
    memcpy(out + len, item, (size_t)k);
    len += (size_t)k;
  }
  len += (size_t)sprintf(out + len, "],\"pad\":\"");
  while (len < n - 2) out[len++] = 'x';
  out[len++] = '"';
  out[len++] = '}';
  out[len] = 0;
  return out;
}

static int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n) {
  if (n <= 0) return 0;
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The RESULT line of a throughput run. */
static inline void bench_report(const char *backend, const bench_args *a, double wall, bench_cpu c0,
                         bench_cpu c1, unsigned long long bytes, long errors) {
  double user = c1.user - c0.user, sys = c1.sys - c0.sys;
  printf("RESULT backend=%s scenario=%s n=%ld conc=%d wall_s=%.6f rps=%.2f cpu_user_s=%.6f "
         "cpu_sys_s=%.6f cpu_us_per_req=%.2f csw_per_req=%.2f bytes=%llu mb_per_s=%.2f "
         "errors=%ld\n",
         backend, a->scenario, a->n, a->conc, wall, (double)a->n / wall, user, sys,
         (user + sys) * 1e6 / (double)a->n, (double)(c1.csw - c0.csw) / (double)a->n, bytes,
         (double)bytes / wall / 1e6, errors);
  fflush(stdout);
}

/* The RESULT line of a time-to-first-request run: iteration 0 (cold process: library
 * init, first thread pool / global init) and the median of the others (fresh app or
 * handle in a warm process). setup = app_new / easy_init+setopt, first = the request. */
static inline void bench_report_ttfr(const char *backend, const bench_args *a, double cold_setup,
                              double cold_first, double *setup, double *first, double *total,
                              int k, double cpu_per_fresh, long errors) {
  double cold = (cold_setup + cold_first) * 1e3;
  double ms_total = bench_median(total, k) * 1e3;
  double ms_setup = bench_median(setup, k) * 1e3;
  double ms_first = bench_median(first, k) * 1e3;
  printf("RESULT backend=%s scenario=%s n=%d cold_ms=%.3f cold_setup_ms=%.3f fresh_ms=%.3f "
         "fresh_setup_ms=%.3f fresh_first_ms=%.3f cpu_ms_per_fresh=%.3f errors=%ld\n",
         backend, a->scenario, k, cold, cold_setup * 1e3, ms_total, ms_setup, ms_first,
         cpu_per_fresh * 1e3, errors);
  fflush(stdout);
}

#endif

/*
 * wxnet side of the benchmark (see bench_common.h for the arguments, BENCHMARKS.md for
 * the method). One app in callback mode; every request's SUCCESS event carries the full
 * body (the library read it into memory) and the wx `res` JSON; the callback checks the
 * status code and body length and starts the next request from inside the callback (the
 * ABI allows it), so C requests stay in flight without another thread hop.
 *
 * With WXNET_BENCH_POLL=1 the app is in poll mode instead: the main thread blocks in
 * wxnet_app_poll, handles each event the same way (starting the next request) and frees
 * it, as a host with its own event thread (Python, a container's network thread) does.
 */
#include "bench_common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "wxnet.h"

typedef struct run {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  wxnet_app *app;
  const char *opts;
  size_t opts_len;
  const uint8_t *body;
  size_t body_len;
  long target;
  atomic_long issued;
  long done;
  long errors;
  unsigned long long bytes;
  long expect_len;
  const char *expect_body; /* sanity checks: body must equal this */
} run_t;

static void finish_one(run_t *r, int error) {
  pthread_mutex_lock(&r->mu);
  r->done++;
  if (error) r->errors++;
  if (r->done >= r->target) pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void start_next(run_t *r) {
  if (atomic_fetch_add(&r->issued, 1) >= r->target) return;
  wxnet_task_id id;
  wxnet_status st = wxnet_request(r->app, r->opts, r->opts_len, r->body, r->body_len, r, &id);
  if (st != WXNET_OK) {
    fprintf(stderr, "wxnet_request: %s: %s\n", wxnet_status_str(st), wxnet_last_error());
    finish_one(r, 1);
  }
}

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  run_t *r = ev->task_user_data;
  int error = 0;
  if (ev->kind == WXNET_EVENT_SUCCESS) {
    if (strstr(ev->json, "\"statusCode\":200") == NULL) error = 1;
    if (r->expect_len >= 0 && (long)ev->data_len != r->expect_len) error = 1;
    if (r->expect_body &&
        (ev->data_len != strlen(r->expect_body) || memcmp(ev->data, r->expect_body, ev->data_len)))
      error = 1;
    r->bytes += ev->data_len; /* only this (dispatcher) thread writes it */
    if (error && r->errors < 3)
      fprintf(stderr, "unexpected success: %.300s (data_len %zu)\n", ev->json, ev->data_len);
  } else if (ev->kind == WXNET_EVENT_FAIL) {
    error = 1;
    if (r->errors < 3) fprintf(stderr, "FAIL: %.300s\n", ev->json);
  } else {
    return; /* HEADERS_RECEIVED: nothing to do (a container would forward it) */
  }
  start_next(r);
  finish_one(r, error);
}

static int poll_mode; /* WXNET_BENCH_POLL=1: no callback, the main thread polls */

/* Runs `n` requests with `conc` in flight; returns the number of errors. */
static long run_requests(run_t *r, long n, int conc) {
  r->target = n;
  atomic_store(&r->issued, 0);
  r->done = 0;
  r->errors = 0;
  r->bytes = 0;
  for (int i = 0; i < conc && i < n; i++) start_next(r);
  while (poll_mode && r->done < r->target) {
    wxnet_event *ev = NULL;
    wxnet_status st = wxnet_app_poll(r->app, 30000, &ev);
    if (st != WXNET_OK || ev == NULL) {
      fprintf(stderr, "wxnet_app_poll: %s\n", st != WXNET_OK ? wxnet_status_str(st) : "timed out");
      exit(1);
    }
    on_event(NULL, ev);
    wxnet_event_free(ev);
  }
  pthread_mutex_lock(&r->mu);
  while (r->done < r->target) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  return r->errors;
}

/* JSON string escape of the PEM (only \n, " and \\ can appear). */
static char *json_escape(const char *s) {
  char *out = malloc(strlen(s) * 2 + 1), *o = out;
  for (; *s; s++) {
    if (*s == '\n') { *o++ = '\\'; *o++ = 'n'; }
    else if (*s == '\r') continue;
    else if (*s == '"' || *s == '\\') { *o++ = '\\'; *o++ = *s; }
    else *o++ = *s;
  }
  *o = 0;
  return out;
}

static char *make_config(const bench_args *a) {
  char *pem = bench_read_file(a->ca, NULL);
  char *esc = json_escape(pem);
  size_t cap = strlen(esc) + 512;
  char *cfg = malloc(cap);
  snprintf(cfg, cap,
           "{\"appId\":\"wxbench\",\"domains\":{\"request\":[\"https://api.wxnet.test\"]},"
           "\"caCertificates\":[\"%s\"],\"resolve\":{\"api.wxnet.test:443\":\"127.0.0.1:%d\"},"
           "\"maxConcurrentRequests\":%d}",
           esc, a->port, a->conc < 10 ? 10 : a->conc);
  free(pem);
  free(esc);
  return cfg;
}

static char *make_options(const bench_args *a, const char *path, const char *body_in_options) {
  size_t cap = 512 + (body_in_options ? strlen(body_in_options) : 0) +
               (a->wx_extra ? strlen(a->wx_extra) : 0);
  char *o = malloc(cap);
  int k = snprintf(o, cap, "{\"url\":\"https://api.wxnet.test%s\"", path);
  if (a->h2) k += snprintf(o + k, cap - (size_t)k, ",\"enableHttp2\":true");
  if (a->arraybuffer) k += snprintf(o + k, cap - (size_t)k, ",\"responseType\":\"arraybuffer\"");
  if (a->post)
    k += snprintf(o + k, cap - (size_t)k,
                  ",\"method\":\"POST\",\"header\":{\"content-type\":\"application/json\"}");
  if (a->wx_extra) k += snprintf(o + k, cap - (size_t)k, ",%s", a->wx_extra);
  if (body_in_options) k += snprintf(o + k, cap - (size_t)k, ",\"data\":%s", body_in_options);
  snprintf(o + k, cap - (size_t)k, "}");
  return o;
}

static wxnet_app *new_app(const char *cfg) {
  wxnet_app *app = NULL;
  wxnet_status st = wxnet_app_new(cfg, strlen(cfg), poll_mode ? NULL : on_event, NULL, &app);
  if (st != WXNET_OK) {
    fprintf(stderr, "wxnet_app_new: %s: %s\n", wxnet_status_str(st), wxnet_last_error());
    exit(1);
  }
  return app;
}

static void run_init(run_t *r, wxnet_app *app, const char *opts, const uint8_t *body,
                     size_t body_len, long expect_len) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->app = app;
  r->opts = opts;
  r->opts_len = strlen(opts);
  r->body = body;
  r->body_len = body_len;
  r->expect_len = expect_len;
}

static int ttfr(const bench_args *a, const char *cfg) {
  int k = a->ttfr;
  double *setup = calloc((size_t)k, sizeof(double)), *first = calloc((size_t)k, sizeof(double));
  double *total = calloc((size_t)k, sizeof(double));
  char *opts = make_options(a, a->path, NULL);
  double cold_setup = 0, cold_first = 0;
  long errors = 0;
  bench_cpu c0 = {0, 0, 0};
  for (int i = 0; i <= k; i++) {
    if (i == 1) c0 = bench_cpu_now();
    double t0 = bench_now();
    wxnet_app *app = new_app(cfg);
    double t1 = bench_now();
    run_t r;
    run_init(&r, app, opts, NULL, 0, a->expect_len);
    errors += run_requests(&r, 1, 1);
    double t2 = bench_now();
    wxnet_app_free(app);
    if (i == 0) {
      cold_setup = t1 - t0;
      cold_first = t2 - t1;
    } else {
      setup[i - 1] = t1 - t0;
      first[i - 1] = t2 - t1;
      total[i - 1] = t2 - t0;
    }
  }
  bench_cpu c1 = bench_cpu_now();
  double cpu = (c1.user - c0.user + c1.sys - c0.sys) / k;
  bench_report_ttfr("wxnet", a, cold_setup, cold_first, setup, first, total, k, cpu, errors);
  return errors != 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("wxnet %s (C ABI %d)\n", wxnet_version(), WXNET_ABI_VERSION);
    return 0;
  }
  bench_args a;
  bench_parse(argc, argv, &a);
  const char *poll_env = getenv("WXNET_BENCH_POLL");
  poll_mode = poll_env != NULL && !strcmp(poll_env, "1");
  char *cfg = make_config(&a);
  if (a.ttfr) return ttfr(&a, cfg);

  wxnet_app *app = new_app(cfg);
  run_t r;
  if (a.expect_proto) { /* the protocol really is the one we claim to measure */
    char *o = make_options(&a, "/alpn", NULL);
    char *p = strstr(o, ",\"responseType\"");
    if (p) strcpy(p, "}"); /* text, not arraybuffer */
    p = strstr(o, ",\"method\"");
    if (p) strcpy(p, "}");
    run_init(&r, app, o, NULL, 0, -1);
    r.expect_body = a.expect_proto;
    if (run_requests(&r, 1, 1)) {
      fprintf(stderr, "wxnet: /alpn did not answer %s\n", a.expect_proto);
      return 1;
    }
    free(o);
  }

  char *body = a.post ? bench_json_body(a.post) : NULL;
  char *opts = make_options(&a, a.path, a.data_in_options ? body : NULL);
  const uint8_t *bin = a.post && !a.data_in_options ? (const uint8_t *)body : NULL;
  size_t bin_len = bin ? a.post : 0;
  run_init(&r, app, opts, bin, bin_len, a.expect_len);

  long errors = run_requests(&r, a.warmup, a.conc); /* opens the connections */
  bench_cpu c0 = bench_cpu_now();
  double t0 = bench_now();
  errors += run_requests(&r, a.n, a.conc);
  double t1 = bench_now();
  bench_cpu c1 = bench_cpu_now();
  bench_report("wxnet", &a, t1 - t0, c0, c1, r.bytes, errors);
  wxnet_app_free(app);
  free(opts);
  free(body);
  free(cfg);
  return errors != 0;
}

/*
 * libcurl side of the benchmark: what a competent container built on libcurl does for
 * wx.request (see bench_common.h for the arguments, BENCHMARKS.md for the method).
 *
 * - Connections are reused: 1 in flight = one easy handle reused with curl_easy_perform;
 *   C in flight = one curl_multi event loop with C easy handles, each re-added after its
 *   transfer (they share the multi's connection cache), or with --threads C threads each
 *   looping curl_easy_perform on its own handle.
 *   With --hops the multi loop runs on its own network thread and requests/results cross
 *   threads as in a real container (see run_hops).
 * - HTTP/1.1 (CURL_HTTP_VERSION_1_1, ALPN http/1.1 only) or, with --h2,
 *   CURL_HTTP_VERSION_2TLS with CURLPIPE_MULTIPLEX and CURLOPT_PIPEWAIT (one multiplexed
 *   connection, as wxnet's hyper client does).
 * - Same request as wxnet sends: Accept-Encoding "gzip, deflate, br" (decoded by curl),
 *   Content-Type application/json on POST, no "Expect: 100-continue" round trip.
 * - Response handling: status code checked, headers collected into a buffer, the body
 *   read into one contiguous malloc'd buffer (sized from Content-Length when known),
 *   handed over (freed) after the transfer. Nothing is parsed.
 */
#include "bench_common.h"

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

typedef struct buf {
  char *p;
  size_t len, cap;
} buf_t;

typedef struct xfer {
  CURL *h;
  CURLcode rc; /* --hops: the result, carried to the event thread */
  buf_t body, hdr;
  unsigned long long bytes;
  long errors;
  long expect_len;
  const char *expect_body;
} xfer_t;

static const bench_args *A;
static struct curl_slist *g_connect_to, *g_headers;
static char g_url[512];
static char *g_post;

static void buf_reserve(buf_t *b, size_t need) {
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  b->p = realloc(b->p, cap);
  b->cap = cap;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer_t *x = ud;
  size_t n = size * nmemb;
  if (x->body.cap == 0) { /* first chunk: size the buffer from Content-Length */
    curl_off_t cl = -1;
    curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl > 0) {
      x->body.p = malloc((size_t)cl);
      x->body.cap = (size_t)cl;
    }
  }
  buf_reserve(&x->body, x->body.len + n);
  memcpy(x->body.p + x->body.len, ptr, n);
  x->body.len += n;
  return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
  xfer_t *x = ud;
  size_t n = size * nmemb;
  buf_reserve(&x->hdr, x->hdr.len + n);
  memcpy(x->hdr.p + x->hdr.len, ptr, n);
  x->hdr.len += n;
  return n;
}

static void setup(xfer_t *x, const char *url, int post) {
  CURL *h = x->h;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CONNECT_TO, g_connect_to);
  curl_easy_setopt(h, CURLOPT_CAINFO, A->ca);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                   A->h2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
  if (A->h2) curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip, deflate, br");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
  if (post) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, g_post);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)A->post);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, g_headers);
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
}

static void xfer_init(xfer_t *x, long expect_len) {
  memset(x, 0, sizeof *x);
  x->h = curl_easy_init();
  x->expect_len = expect_len;
}

/* After a transfer: check it, hand the body over (free it), reset for the next one. */
static void xfer_done(xfer_t *x, CURLcode rc) {
  long code = 0;
  curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
  int error = rc != CURLE_OK || code != 200 ||
              (x->expect_len >= 0 && (long)x->body.len != x->expect_len) ||
              (x->expect_body && (x->body.len != strlen(x->expect_body) ||
                                  memcmp(x->body.p, x->expect_body, x->body.len)));
  if (error) {
    if (x->errors < 3)
      fprintf(stderr, "curl: rc %d (%s), status %ld, body %zu bytes\n", rc,
              curl_easy_strerror(rc), code, x->body.len);
    x->errors++;
  }
  x->bytes += x->body.len;
  free(x->body.p);
  free(x->hdr.p);
  memset(&x->body, 0, sizeof x->body);
  memset(&x->hdr, 0, sizeof x->hdr);
}

/* ---- 1 in flight: one easy handle, reused ---- */
static void run_easy(xfer_t *x, long n) {
  for (long i = 0; i < n; i++) xfer_done(x, curl_easy_perform(x->h));
}

/* ---- C in flight, one event loop ---- */
typedef struct multi_ctx {
  CURLM *m;
  xfer_t *x;
  int conc;
} multi_ctx;

static void run_multi(multi_ctx *mc, long n) {
  long issued = 0, done = 0;
  for (int i = 0; i < mc->conc && issued < n; i++, issued++) curl_multi_add_handle(mc->m, mc->x[i].h);
  while (done < n) {
    int running;
    curl_multi_perform(mc->m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(mc->m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL *h = msg->easy_handle;
      CURLcode rc = msg->data.result;
      xfer_t *x;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
      xfer_done(x, rc);
      done++;
      curl_multi_remove_handle(mc->m, h);
      if (issued < n) {
        issued++;
        curl_multi_add_handle(mc->m, h);
      }
    }
    if (done < n) curl_multi_poll(mc->m, NULL, 0, 1000, NULL);
  }
}

/* ---- C in flight, C threads ---- */
typedef struct thr_ctx {
  xfer_t *x;
  atomic_long *issued;
  long n;
} thr_ctx;

static void *thr_main(void *p) {
  thr_ctx *t = p;
  while (atomic_fetch_add(t->issued, 1) < t->n) xfer_done(t->x, curl_easy_perform(t->x->h));
  return NULL;
}

static void run_threads(xfer_t *x, int conc, long n) {
  atomic_long issued = 0;
  pthread_t th[conc];
  thr_ctx ctx[conc];
  for (int i = 0; i < conc; i++) {
    ctx[i] = (thr_ctx){&x[i], &issued, n};
    pthread_create(&th[i], NULL, thr_main, &ctx[i]);
  }
  for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
}

/* ---- --hops: shaped like a container. A network thread runs the curl_multi loop; the
 * thread that starts requests and gets their results (here: main, standing for the
 * container's JS/event thread) hands requests over through a queue + curl_multi_wakeup,
 * and gets each finished transfer back through a queue + condition variable. The same
 * two thread hops per request that wxnet's design has (host -> worker, worker ->
 * dispatcher), with none of its extra ones. ---- */
typedef struct xq {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  xfer_t **items;
  int head, len, cap;
} xq_t;

static void xq_init(xq_t *q, int cap) {
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  q->items = calloc((size_t)cap, sizeof *q->items);
  q->head = q->len = 0;
  q->cap = cap;
}

static void xq_push(xq_t *q, xfer_t *x) {
  pthread_mutex_lock(&q->mu);
  q->items[(q->head + q->len++) % q->cap] = x;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
}

/* Takes everything queued (waits for at least one if `wait`). */
static int xq_take(xq_t *q, xfer_t **out, int wait) {
  pthread_mutex_lock(&q->mu);
  while (wait && q->len == 0) pthread_cond_wait(&q->cv, &q->mu);
  int k = 0;
  for (; q->len > 0; q->len--, k++) {
    out[k] = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
  }
  pthread_mutex_unlock(&q->mu);
  return k;
}

typedef struct hops {
  CURLM *m;
  xq_t submit, done;
  atomic_int stop;
  xfer_t **batch;
} hops_t;

static void *hops_net_thread(void *p) {
  hops_t *hp = p;
  while (!atomic_load(&hp->stop)) {
    int k = xq_take(&hp->submit, hp->batch, 0);
    for (int i = 0; i < k; i++) curl_multi_add_handle(hp->m, hp->batch[i]->h);
    int running;
    curl_multi_perform(hp->m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(hp->m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      xfer_t *x;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      x->rc = msg->data.result;
      curl_multi_remove_handle(hp->m, msg->easy_handle);
      xq_push(&hp->done, x);
    }
    curl_multi_poll(hp->m, NULL, 0, 1000, NULL);
  }
  return NULL;
}

static void run_hops(hops_t *hp, xfer_t *x, int conc, long n) {
  long issued = 0, done = 0;
  for (int i = 0; i < conc && issued < n; i++, issued++) xq_push(&hp->submit, &x[i]);
  curl_multi_wakeup(hp->m);
  xfer_t **got = calloc((size_t)conc, sizeof *got);
  while (done < n) {
    int k = xq_take(&hp->done, got, 1);
    for (int i = 0; i < k; i++) { /* the "event callback" */
      xfer_done(got[i], got[i]->rc);
      done++;
      if (issued < n) {
        issued++;
        xq_push(&hp->submit, got[i]);
        curl_multi_wakeup(hp->m);
      }
    }
  }
  free(got);
}

static int ttfr(const bench_args *a, double global_init_s) {
  int k = a->ttfr;
  double *setup_t = calloc((size_t)k, sizeof(double)), *first = calloc((size_t)k, sizeof(double));
  double *total = calloc((size_t)k, sizeof(double));
  double cold_setup = 0, cold_first = 0;
  long errors = 0;
  bench_cpu c0 = {0, 0, 0};
  for (int i = 0; i <= k; i++) {
    if (i == 1) c0 = bench_cpu_now();
    double t0 = bench_now();
    xfer_t x;
    xfer_init(&x, a->expect_len);
    setup(&x, g_url, 0);
    double t1 = bench_now();
    xfer_done(&x, curl_easy_perform(x.h));
    double t2 = bench_now();
    errors += x.errors;
    curl_easy_cleanup(x.h);
    if (i == 0) {
      cold_setup = global_init_s + t1 - t0;
      cold_first = t2 - t1;
    } else {
      setup_t[i - 1] = t1 - t0;
      first[i - 1] = t2 - t1;
      total[i - 1] = t2 - t0;
    }
  }
  bench_cpu c1 = bench_cpu_now();
  double cpu = (c1.user - c0.user + c1.sys - c0.sys) / k;
  bench_report_ttfr("curl", a, cold_setup, cold_first, setup_t, first, total, k, cpu, errors);
  return errors != 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    printf("%s\n", curl_version());
    return 0;
  }
  bench_args a;
  bench_parse(argc, argv, &a);
  A = &a;
  double g0 = bench_now();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  double global_init_s = bench_now() - g0;
  char connect_to[128];
  snprintf(connect_to, sizeof connect_to, "api.wxnet.test:443:127.0.0.1:%d", a.port);
  g_connect_to = curl_slist_append(NULL, connect_to);
  g_headers = curl_slist_append(NULL, "Content-Type: application/json");
  g_headers = curl_slist_append(g_headers, "Expect:");
  snprintf(g_url, sizeof g_url, "https://api.wxnet.test%s", a.path);
  if (a.post) g_post = bench_json_body(a.post);
  if (a.ttfr) return ttfr(&a, global_init_s);

  int conc = a.conc;
  xfer_t *x = calloc((size_t)conc, sizeof *x);
  multi_ctx mc = {NULL, x, conc};
  hops_t hp;
  pthread_t net;
  if (a.hops) {
    memset(&hp, 0, sizeof hp);
    hp.m = curl_multi_init();
    curl_multi_setopt(hp.m, CURLMOPT_PIPELINING, a.h2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(hp.m, CURLMOPT_MAXCONNECTS, (long)conc);
    xq_init(&hp.submit, conc);
    xq_init(&hp.done, conc);
    hp.batch = calloc((size_t)conc, sizeof *hp.batch);
    pthread_create(&net, NULL, hops_net_thread, &hp);
  } else if (conc > 1 && !a.threads) {
    mc.m = curl_multi_init();
    curl_multi_setopt(mc.m, CURLMOPT_PIPELINING, a.h2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    curl_multi_setopt(mc.m, CURLMOPT_MAXCONNECTS, (long)conc);
  }
  long errors = 0;
  if (a.expect_proto) { /* the protocol really is the one we claim to measure */
    char url[512];
    snprintf(url, sizeof url, "https://api.wxnet.test/alpn");
    xfer_t s;
    xfer_init(&s, -1);
    s.expect_body = a.expect_proto;
    setup(&s, url, 0);
    xfer_done(&s, curl_easy_perform(s.h));
    if (s.errors) {
      fprintf(stderr, "curl: /alpn did not answer %s\n", a.expect_proto);
      return 1;
    }
    curl_easy_cleanup(s.h);
  }
  for (int i = 0; i < conc; i++) {
    xfer_init(&x[i], a.expect_len);
    setup(&x[i], g_url, a.post > 0);
    curl_easy_setopt(x[i].h, CURLOPT_PRIVATE, (char *)&x[i]);
  }

  /* warm-up (opens the connections), then the timed run */
  for (int pass = 0; pass < 2; pass++) {
    long n = pass == 0 ? a.warmup : a.n;
    for (int i = 0; i < conc; i++) {
      errors += x[i].errors;
      x[i].errors = 0;
      x[i].bytes = 0;
    }
    bench_cpu c0 = bench_cpu_now();
    double t0 = bench_now();
    if (a.hops) run_hops(&hp, x, conc, n);
    else if (conc == 1) run_easy(&x[0], n);
    else if (a.threads) run_threads(x, conc, n);
    else run_multi(&mc, n);
    double t1 = bench_now();
    bench_cpu c1 = bench_cpu_now();
    if (pass == 1) {
      unsigned long long bytes = 0;
      for (int i = 0; i < conc; i++) {
        bytes += x[i].bytes;
        errors += x[i].errors;
      }
      bench_report("curl", &a, t1 - t0, c0, c1, bytes, errors);
    }
  }
  if (a.hops) {
    atomic_store(&hp.stop, 1);
    curl_multi_wakeup(hp.m);
    pthread_join(net, NULL);
    curl_multi_cleanup(hp.m);
  }
  for (int i = 0; i < conc; i++) curl_easy_cleanup(x[i].h);
  if (mc.m) curl_multi_cleanup(mc.m);
  curl_global_cleanup();
  return errors != 0;
}

/* Helpers shared by the wxnet C examples; see common.h. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ex_failures;

void ex_fail_at(const char *file, int line, const char *what) {
  __atomic_add_fetch(&ex_failures, 1, __ATOMIC_SEQ_CST);
  fprintf(stderr, "CHECK FAILED %s:%d: %s\n", file, line, what);
}

int ex_finish(const char *program) {
  int n = __atomic_load_n(&ex_failures, __ATOMIC_SEQ_CST);
  if (n == 0) {
    printf("%s: ok\n", program);
    return 0;
  }
  fprintf(stderr, "%s: %d check(s) failed\n", program, n);
  return 1;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("examples-c: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static const char *need_env(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0')
    die("%s is not set: run scripts/c-examples.sh (it starts wxnet-testserver and exports "
        "WXNET_TEST_HTTPS_PORT, WXNET_TEST_HTTP_PORT and WXNET_TEST_CA)", name);
  return v;
}

static int env_port(const char *name) {
  const char *v = need_env(name);
  char *end;
  long port = strtol(v, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) die("%s=%s is not a port number", name, v);
  return (int)port;
}

int ex_plain(void) {
  const char *v = getenv("WXNET_TEST_PLAIN");
  return v != NULL && strcmp(v, "1") == 0;
}

/* A growable string. */
typedef struct { char *p; size_t len, cap; } buf_t;

static void buf_put(buf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL) die("out of memory");
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_fmt(buf_t *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) die("formatted text too long");
  buf_put(b, tmp, (size_t)n);
}

/* Appends `s` as a JSON string literal (quotes included). */
static void buf_json_str(buf_t *b, const char *s, size_t n) {
  buf_put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') buf_put(b, "\\\"", 2);
    else if (c == '\\') buf_put(b, "\\\\", 2);
    else if (c == '\n') buf_put(b, "\\n", 2);
    else if (c == '\r') buf_put(b, "\\r", 2);
    else if (c == '\t') buf_put(b, "\\t", 2);
    else if (c < 0x20) buf_fmt(b, "\\u%04x", c);
    else buf_put(b, (const char *)&s[i], 1);
  }
  buf_put(b, "\"", 1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) die("cannot open %s: %s", path, strerror(errno));
  buf_t b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  if (ferror(f)) die("cannot read %s", path);
  fclose(f);
  if (b.len == 0) die("%s is empty", path);
  *len = b.len;
  return b.p;
}

char *ex_config(const char *extra) {
  buf_t b = {0};
  buf_fmt(&b, "{\"appId\":\"wxexample0123456789\"");
  if (ex_plain()) {
    (void)env_port("WXNET_TEST_HTTP_PORT");
    buf_fmt(&b, ",\"urlCheck\":false");
  } else {
    int port = env_port("WXNET_TEST_HTTPS_PORT");
    size_t pem_len;
    char *pem = read_file(need_env("WXNET_TEST_CA"), &pem_len);
    buf_fmt(&b, ",\"domains\":{\"request\":[\"https://api.wxnet.test\"]},\"caCertificates\":[");
    buf_json_str(&b, pem, pem_len);
    free(pem);
    buf_fmt(&b, "],\"resolve\":{\"api.wxnet.test:443\":\"127.0.0.1:%d\","
                "\"other.wxnet.test:443\":\"127.0.0.1:%d\"}", port, port);
  }
  if (extra != NULL && *extra != '\0') buf_fmt(&b, ",%s", extra);
  buf_put(&b, "}", 1);
  return b.p;
}

void ex_url(char *buf, size_t n, const char *path) {
  if (ex_plain())
    snprintf(buf, n, "http://127.0.0.1:%d%s", env_port("WXNET_TEST_HTTP_PORT"), path);
  else
    snprintf(buf, n, "https://api.wxnet.test%s", path);
}

char *ex_options(const char *path, const char *extra) {
  char url[512];
  buf_t b = {0};
  if (strncmp(path, "http", 4) == 0) snprintf(url, sizeof url, "%s", path);
  else ex_url(url, sizeof url, path);
  buf_put(&b, "{\"url\":", 7);
  buf_json_str(&b, url, strlen(url));
  if (extra != NULL && *extra != '\0') buf_fmt(&b, ",%s", extra);
  buf_put(&b, "}", 1);
  return b.p;
}

wxnet_status ex_request(wxnet_app *app, const char *path, const char *extra, void *ud,
                        wxnet_task_id *out) {
  char *opts = ex_options(path, extra);
  wxnet_status st = wxnet_request(app, opts, strlen(opts), NULL, 0, ud, out);
  free(opts);
  return st;
}

/* Under valgrind everything is ~20x slower: the script sets WXNET_TEST_TIMEOUT_SCALE. */
long ex_scaled(long ms) {
  const char *v = getenv("WXNET_TEST_TIMEOUT_SCALE");
  long k = v != NULL ? strtol(v, NULL, 10) : 1;
  return ms * (k > 0 ? k : 1);
}

void ex_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

long ex_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *json_value(const char *json, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = json != NULL ? strstr(json, pat) : NULL;
  return p != NULL ? p + strlen(pat) : NULL;
}

long ex_json_num(const char *json, const char *key, long missing) {
  const char *v = json_value(json, key);
  char *end;
  if (v == NULL) return missing;
  long n = strtol(v, &end, 10);
  return end == v ? missing : n;
}

int ex_json_str(const char *json, const char *key, char *buf, size_t n) {
  const char *v = json_value(json, key);
  size_t i = 0;
  if (v == NULL || n == 0) return 0;
  if (*v == '"') {
    for (v++; *v != '\0' && *v != '"' && i + 1 < n; v++) {
      if (*v == '\\' && v[1] != '\0') buf[i++] = *v++;
      if (i + 1 < n) buf[i++] = *v;
    }
  } else {
    while (*v != '\0' && *v != ',' && *v != '}' && i + 1 < n) buf[i++] = *v++;
  }
  buf[i] = '\0';
  return 1;
}

const char *ex_kind_name(int kind) {
  switch (kind) {
    case WXNET_EVENT_SUCCESS: return "SUCCESS";
    case WXNET_EVENT_FAIL: return "FAIL";
    case WXNET_EVENT_HEADERS_RECEIVED: return "HEADERS_RECEIVED";
    case WXNET_EVENT_PROGRESS: return "PROGRESS";
    case WXNET_EVENT_CHUNK_RECEIVED: return "CHUNK_RECEIVED";
    case WXNET_EVENT_SOCKET_OPEN: return "SOCKET_OPEN";
    case WXNET_EVENT_SOCKET_MESSAGE: return "SOCKET_MESSAGE";
    case WXNET_EVENT_SOCKET_ERROR: return "SOCKET_ERROR";
    case WXNET_EVENT_SOCKET_CLOSE: return "SOCKET_CLOSE";
    default: return "UNKNOWN";
  }
}

void ex_print_event(const char *label, const wxnet_event *ev) {
  printf("  [%s] task=%llu %s json(%zu)=%.160s%s data_len=%zu\n", label,
         (unsigned long long)ev->task, ex_kind_name(ev->kind), ev->json_len,
         ev->json != NULL ? ev->json : "(null)", ev->json_len > 160 ? "..." : "", ev->data_len);
  fflush(stdout);
}

void ex_waiter_init(ex_waiter *w) {
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  w->count = 0;
}

void ex_waiter_destroy(ex_waiter *w) {
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
}

void ex_waiter_add(ex_waiter *w, int n) {
  pthread_mutex_lock(&w->mu);
  w->count += n;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int ex_waiter_wait(ex_waiter *w, int target, long timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  long ms = ex_scaled(timeout_ms);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&w->mu);
  int rc = 0;
  while (w->count < target && rc == 0) rc = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
  int ok = w->count >= target;
  pthread_mutex_unlock(&w->mu);
  return ok;
}

/* ---- task tracking ---- */

#define EX_MAGIC 0x77786e65u /* "wxne" */
typedef struct { unsigned magic; ex_rec *rec; } ex_ud;

void ex_tracker_init(ex_tracker *t) {
  memset(t, 0, sizeof *t);
  ex_waiter_init(&t->w);
  t->quiet = getenv("WXNET_EXAMPLES_QUIET") != NULL;
}

void ex_tracker_free(ex_tracker *t) {
  for (int i = 0; i < t->n; i++) free(t->recs[i].ud);
  ex_waiter_destroy(&t->w);
}

ex_rec *ex_track(ex_tracker *t, const char *name, void **ud) {
  pthread_mutex_lock(&t->w.mu);
  if (t->n == EX_MAX_TASKS) die("too many tasks");
  ex_rec *r = &t->recs[t->n++];
  memset(r, 0, sizeof *r);
  r->name = name;
  r->status_code = r->err_no = -1;
  ex_ud *u = malloc(sizeof *u);
  if (u == NULL) die("out of memory");
  u->magic = EX_MAGIC;
  u->rec = r;
  r->ud = u;
  pthread_mutex_unlock(&t->w.mu);
  *ud = u;
  return r;
}

ex_rec *ex_track_request(ex_tracker *t, wxnet_app *app, const char *name, const char *path,
                         const char *extra) {
  void *ud;
  ex_rec *r = ex_track(t, name, &ud);
  wxnet_task_id id = 0;
  wxnet_status st = ex_request(app, path, extra, ud, &id);
  pthread_mutex_lock(&t->w.mu);
  if (st == WXNET_OK) r->id = id;
  else { free(r->ud); r->ud = NULL; r->terminals = -1; /* no event may come */ }
  pthread_mutex_unlock(&t->w.mu);
  if (st != WXNET_OK) {
    fprintf(stderr, "  start of %s failed: %s: %s\n", name, wxnet_status_str(st), wxnet_last_error());
    ex_fail_at(__FILE__, __LINE__, "wxnet_request returned an error");
    return NULL;
  }
  EX_CHECK(id != 0 && id < (1ULL << 63), "task id is non-zero and below 2^63");
  return r;
}

ex_rec *ex_track_event(ex_tracker *t, const wxnet_event *ev) {
  ex_ud *u = ev->task_user_data;
  if (u == NULL || u->magic != EX_MAGIC) {
    __atomic_add_fetch(&t->bad_user_data, 1, __ATOMIC_SEQ_CST);
    ex_fail_at(__FILE__, __LINE__, "event carries a task_user_data we never gave");
    return NULL;
  }
  ex_rec *r = u->rec;
  if (!t->quiet) ex_print_event(r->name, ev);
  EX_CHECK(ev->json != NULL && ev->json[ev->json_len] == '\0' && strlen(ev->json) == ev->json_len,
           "event json is NUL-terminated at json_len");
  EX_CHECK(ev->data_len == 0 || ev->data != NULL, "data is non-NULL when data_len > 0");
  int terminal = ev->kind == WXNET_EVENT_SUCCESS || ev->kind == WXNET_EVENT_FAIL;
  pthread_mutex_lock(&t->w.mu);
  if (r->seen == 0) r->seen = ev->task;
  else if (r->seen != ev->task) r->wrong_task++;
  if (r->terminals > 0) r->after_terminal++;
  if (ev->kind == WXNET_EVENT_HEADERS_RECEIVED) r->headers++;
  if (ev->kind == WXNET_EVENT_CHUNK_RECEIVED) { r->chunks++; r->chunk_bytes += ev->data_len; }
  if (terminal) {
    r->terminals++;
    r->kind = ev->kind;
    r->status_code = ex_json_num(ev->json, "statusCode", -1);
    r->err_no = ex_json_num(ev->json, "errno", -1);
    snprintf(r->json, sizeof r->json, "%s", ev->json);
    r->data_len = ev->data_len;
    size_t n = ev->data_len < sizeof r->data - 1 ? ev->data_len : sizeof r->data - 1;
    if (n > 0) memcpy(r->data, ev->data, n);
    r->data[n] = '\0';
    /* The library never touches task_user_data after the terminal event: free it now. */
    u->magic = 0;
    free(u);
    r->ud = NULL;
  }
  pthread_mutex_unlock(&t->w.mu);
  if (terminal) ex_waiter_add(&t->w, 1);
  return r;
}

int ex_track_wait(ex_tracker *t, int terminals, long timeout_ms) {
  int ok = ex_waiter_wait(&t->w, terminals, timeout_ms);
  if (!ok) fprintf(stderr, "  timed out waiting for %d terminal events (have %d)\n", terminals, t->w.count);
  return ok;
}

ex_rec ex_track_get(ex_tracker *t, const ex_rec *r) {
  pthread_mutex_lock(&t->w.mu);
  ex_rec copy = *r;
  pthread_mutex_unlock(&t->w.mu);
  return copy;
}

void ex_track_verify(ex_tracker *t) {
  for (int i = 0; i < t->n; i++) {
    ex_rec r = ex_track_get(t, &t->recs[i]);
    if (r.terminals < 0) continue; /* never started */
    if (r.terminals != 1 || r.seen != r.id || r.wrong_task != 0 || r.after_terminal != 0) {
      fprintf(stderr, "  task %s id=%llu seen=%llu terminals=%d after_terminal=%d wrong_task=%d\n",
              r.name, (unsigned long long)r.id, (unsigned long long)r.seen, r.terminals,
              r.after_terminal, r.wrong_task);
      ex_fail_at(__FILE__, __LINE__, "exactly one terminal event, last, with the task's own id");
    }
  }
  EX_CHECK(t->bad_user_data == 0, "every event carried its own task_user_data");
}

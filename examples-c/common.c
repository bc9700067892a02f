/* Helpers shared by the wxnet C examples; see common.h. */
#include "common.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* ---- the sandbox: <root>/tmp and <root>/usr, made once per process, removed at exit ---- */

static char sandbox_root[4096], sandbox_tmp[4200], sandbox_usr[4200];

/* Removes `path` and everything below it (no symlink is followed). */
static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (d != NULL) {
      struct dirent *e;
      while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char child[4600];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        remove_tree(child);
      }
      closedir(d);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void sandbox_remove(void) {
  if (sandbox_root[0] != '\0') remove_tree(sandbox_root);
  sandbox_root[0] = '\0';
}

static pthread_once_t sandbox_once = PTHREAD_ONCE_INIT;

static void sandbox_make(void) {
  const char *base = getenv("TMPDIR");
  char cwd[2048] = "";
  if (base == NULL || *base == '\0') base = "/tmp";
  if (base[0] != '/' && getcwd(cwd, sizeof cwd - 1) != NULL) strcat(cwd, "/"); /* absolute paths only */
  snprintf(sandbox_root, sizeof sandbox_root, "%s%s/wxnet-example.XXXXXX", cwd, base);
  if (mkdtemp(sandbox_root) == NULL) die("mkdtemp %s: %s", sandbox_root, strerror(errno));
  snprintf(sandbox_tmp, sizeof sandbox_tmp, "%s/tmp", sandbox_root);
  snprintf(sandbox_usr, sizeof sandbox_usr, "%s/usr", sandbox_root);
  if (mkdir(sandbox_tmp, 0700) != 0 || mkdir(sandbox_usr, 0700) != 0)
    die("mkdir in %s: %s", sandbox_root, strerror(errno));
  atexit(sandbox_remove);
}

const char *ex_temp_dir(void) {
  pthread_once(&sandbox_once, sandbox_make);
  return sandbox_tmp;
}

const char *ex_user_dir(void) {
  pthread_once(&sandbox_once, sandbox_make);
  return sandbox_usr;
}

int ex_real_path(const char *vpath, char *buf, size_t n) {
  static const char tmp_prefix[] = "wxfile://tmp_", usr_prefix[] = "wxfile://usr/";
  int len;
  if (vpath == NULL) return 0;
  if (strncmp(vpath, tmp_prefix, sizeof tmp_prefix - 1) == 0)
    len = snprintf(buf, n, "%s/%s", ex_temp_dir(), vpath + strlen("wxfile://"));
  else if (strncmp(vpath, usr_prefix, sizeof usr_prefix - 1) == 0)
    len = snprintf(buf, n, "%s/%s", ex_user_dir(), vpath + sizeof usr_prefix - 1);
  else
    return 0;
  return len > 0 && (size_t)len < n;
}

int ex_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return 0;
  int ok = fwrite(data, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

unsigned char *ex_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  buf_t b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, n);
  int bad = ferror(f);
  fclose(f);
  if (bad) { free(b.p); return NULL; }
  if (b.p == NULL) buf_put(&b, "", 0); /* an empty file is a valid, empty result */
  *len = b.len;
  return (unsigned char *)b.p;
}

int ex_dir_entries(const char *dir, char *first, size_t n) {
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int count = 0;
  struct dirent *e;
  if (first != NULL && n > 0) first[0] = '\0';
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (count++ == 0 && first != NULL && n > 0) snprintf(first, n, "%s", e->d_name);
  }
  closedir(d);
  return count;
}

/* ---- SHA-256 (FIPS 180-4), to check what the test server's /upload reports ---- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define SHA_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = SHA_ROR(w[i - 15], 7) ^ SHA_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = SHA_ROR(w[i - 2], 17) ^ SHA_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(v, h, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = v[7] + (SHA_ROR(v[4], 6) ^ SHA_ROR(v[4], 11) ^ SHA_ROR(v[4], 25)) +
                  ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha_k[i] + w[i];
    uint32_t t2 = (SHA_ROR(v[0], 2) ^ SHA_ROR(v[0], 13) ^ SHA_ROR(v[0], 22)) +
                  ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof *v);
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) h[i] += v[i];
}

void ex_sha256_hex(const void *data, size_t len, char hex[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const unsigned char *p = data;
  size_t i = 0;
  for (; len - i >= 64; i += 64) sha256_block(h, p + i);
  unsigned char tail[128] = {0};
  size_t rest = len - i, tail_len = rest < 56 ? 64 : 128;
  if (rest > 0) memcpy(tail, p + i, rest);
  tail[rest] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int k = 0; k < 8; k++) tail[tail_len - 1 - k] = (unsigned char)(bits >> (8 * k));
  for (size_t k = 0; k < tail_len; k += 64) sha256_block(h, tail + k);
  for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", (unsigned)(h[k / 4] >> (24 - 8 * (k % 4))) & 0xffu);
}

/* ---- config and URLs ---- */

const char *ex_api_name(ex_api api) {
  switch (api) {
    case EX_UPLOAD: return "uploadFile";
    case EX_DOWNLOAD: return "downloadFile";
    case EX_SOCKET: return "connectSocket";
    default: return "request";
  }
}

char *ex_config(const char *extra) {
  buf_t b = {0};
  buf_fmt(&b, "{\"appId\":\"wxexample0123456789\",\"tempDir\":");
  buf_json_str(&b, ex_temp_dir(), strlen(ex_temp_dir()));
  buf_fmt(&b, ",\"userDataDir\":");
  buf_json_str(&b, ex_user_dir(), strlen(ex_user_dir()));
  if (ex_plain()) {
    (void)env_port("WXNET_TEST_HTTP_PORT");
    buf_fmt(&b, ",\"urlCheck\":false");
  } else {
    int port = env_port("WXNET_TEST_HTTPS_PORT");
    size_t pem_len;
    char *pem = read_file(need_env("WXNET_TEST_CA"), &pem_len);
    buf_fmt(&b, ",\"domains\":{\"request\":[\"https://api.wxnet.test\"],"
                "\"uploadFile\":[\"https://up.wxnet.test\"],"
                "\"downloadFile\":[\"https://cdn.wxnet.test\"],"
                "\"socket\":[\"wss://ws.wxnet.test\"]},\"caCertificates\":[");
    buf_json_str(&b, pem, pem_len);
    free(pem);
    buf_fmt(&b, "],\"resolve\":{");
    static const char *const hosts[] = {"api", "up", "cdn", "ws", "other"};
    for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++)
      buf_fmt(&b, "%s\"%s.wxnet.test:443\":\"127.0.0.1:%d\"", i ? "," : "", hosts[i], port);
    buf_put(&b, "}", 1);
  }
  if (extra != NULL && *extra != '\0') buf_fmt(&b, ",%s", extra);
  buf_put(&b, "}", 1);
  return b.p;
}

void ex_api_url(ex_api api, char *buf, size_t n, const char *path) {
  static const char *const tls_origin[] = {"https://api.wxnet.test", "https://up.wxnet.test",
                                           "https://cdn.wxnet.test", "wss://ws.wxnet.test"};
  if (ex_plain())
    snprintf(buf, n, "%s://127.0.0.1:%d%s", api == EX_SOCKET ? "ws" : "http",
             env_port("WXNET_TEST_HTTP_PORT"), path);
  else
    snprintf(buf, n, "%s%s", tls_origin[api], path);
}

void ex_url(char *buf, size_t n, const char *path) { ex_api_url(EX_REQUEST, buf, n, path); }

char *ex_options(const char *path, const char *extra) { return ex_api_options(EX_REQUEST, path, extra); }

char *ex_api_options(ex_api api, const char *path, const char *extra) {
  char url[512];
  buf_t b = {0};
  if (path[0] != '/') snprintf(url, sizeof url, "%s", path); /* a full URL */
  else ex_api_url(api, url, sizeof url, path);
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

wxnet_status ex_start(wxnet_app *app, ex_api api, const char *path, const char *extra, void *ud,
                      wxnet_task_id *out) {
  char *opts = ex_api_options(api, path, extra);
  size_t len = strlen(opts);
  wxnet_status st;
  switch (api) {
    case EX_UPLOAD: st = wxnet_upload_file(app, opts, len, ud, out); break;
    case EX_DOWNLOAD: st = wxnet_download_file(app, opts, len, ud, out); break;
    case EX_SOCKET: st = wxnet_connect_socket(app, opts, len, ud, out); break;
    default: st = wxnet_request(app, opts, len, NULL, 0, ud, out); break;
  }
  free(opts);
  return st;
}

/* Under valgrind everything is ~20x slower: the script sets WXNET_TEST_TIMEOUT_SCALE. */
long ex_scaled(long ms) {
  const char *v = getenv("WXNET_TEST_TIMEOUT_SCALE");
  long k = v != NULL ? strtol(v, NULL, 10) : 1;
  return ms * (k > 0 ? k : 1);
}

int ex_server_wait_hits(const char *path_and_query, int n, long timeout_ms) {
  long ms = ex_scaled(timeout_ms);
  buf_t path = {0};
  buf_fmt(&path, "/wait-hits?n=%d&timeout_ms=%ld&path=", n, ms);
  for (const unsigned char *c = (const unsigned char *)path_and_query; *c; c++) {
    if (isalnum(*c) || strchr("-._~", *c) != NULL) buf_put(&path, (const char *)c, 1);
    else buf_fmt(&path, "%%%02X", *c);
  }
  char *config = ex_config(NULL);
  wxnet_app *app = NULL;
  int ok = 0;
  if (wxnet_app_new(config, strlen(config), NULL, NULL, &app) == WXNET_OK) { /* poll mode */
    wxnet_task_id id = 0;
    if (ex_request(app, path.p, NULL, NULL, &id) == WXNET_OK) {
      /* The server answers within `ms`; the rest is slack for the request itself. */
      long deadline = ex_now_ms() + ms + ex_scaled(10000);
      for (int ended = 0; !ended && ex_now_ms() < deadline;) {
        wxnet_event *ev = NULL;
        if (wxnet_app_poll(app, (int32_t)(deadline - ex_now_ms()), &ev) != WXNET_OK) break;
        if (ev == NULL) continue;
        if (ev->kind == WXNET_EVENT_SUCCESS || ev->kind == WXNET_EVENT_FAIL) {
          ended = 1;
          ok = ev->kind == WXNET_EVENT_SUCCESS && ex_json_num(ev->json, "statusCode", 0) == 200;
        }
        wxnet_event_free(ev);
      }
    }
    wxnet_app_free(app);
  }
  free(config);
  free(path.p);
  return ok;
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

/* The CLOCK_REALTIME instant (what pthread_cond_timedwait takes) timeout_ms (scaled) from now. */
static struct timespec deadline_in(long timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  long ms = ex_scaled(timeout_ms);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
  return deadline;
}

int ex_waiter_wait(ex_waiter *w, int target, long timeout_ms) {
  struct timespec deadline = deadline_in(timeout_ms);
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

ex_rec *ex_track_api(ex_tracker *t, ex_api api, const char *name, void **ud) {
  pthread_mutex_lock(&t->w.mu);
  if (t->n == EX_MAX_TASKS) die("too many tasks");
  ex_rec *r = &t->recs[t->n++];
  memset(r, 0, sizeof *r);
  r->name = name;
  r->api = api;
  r->status_code = r->err_no = r->close_code = r->last_progress = -1;
  r->last_bytes = r->expected_bytes = -1;
  ex_ud *u = malloc(sizeof *u);
  if (u == NULL) die("out of memory");
  u->magic = EX_MAGIC;
  u->rec = r;
  r->ud = u;
  pthread_mutex_unlock(&t->w.mu);
  *ud = u;
  return r;
}

ex_rec *ex_track(ex_tracker *t, const char *name, void **ud) {
  return ex_track_api(t, EX_REQUEST, name, ud);
}

ex_rec *ex_track_start(ex_tracker *t, wxnet_app *app, ex_api api, const char *name,
                       const char *path, const char *extra) {
  void *ud;
  ex_rec *r = ex_track_api(t, api, name, &ud);
  wxnet_task_id id = 0;
  wxnet_status st = ex_start(app, api, path, extra, ud, &id);
  pthread_mutex_lock(&t->w.mu);
  if (st == WXNET_OK) r->id = id;
  else { free(r->ud); r->ud = NULL; r->terminals = -1; /* no event may come */ }
  pthread_mutex_unlock(&t->w.mu);
  if (st != WXNET_OK) {
    fprintf(stderr, "  start of %s failed: %s: %s\n", name, wxnet_status_str(st), wxnet_last_error());
    ex_fail_at(__FILE__, __LINE__, "the start call returned an error");
    return NULL;
  }
  EX_CHECK(id != 0 && id < (1ULL << 63), "task id is non-zero and below 2^63");
  return r;
}

ex_rec *ex_track_request(ex_tracker *t, wxnet_app *app, const char *name, const char *path,
                         const char *extra) {
  return ex_track_start(t, app, EX_REQUEST, name, path, extra);
}

static int is_socket_kind(int kind) {
  return kind == WXNET_EVENT_SOCKET_OPEN || kind == WXNET_EVENT_SOCKET_MESSAGE ||
         kind == WXNET_EVENT_SOCKET_ERROR || kind == WXNET_EVENT_SOCKET_CLOSE;
}

/* Is `ev` the task's terminal event? Also counts events that break the order rules.
 * Called with the tracker's lock held. */
static int classify(ex_rec *r, const wxnet_event *ev) {
  int bad = 0, terminal = 0;
  if (r->api == EX_SOCKET) {
    switch (ev->kind) {
      case WXNET_EVENT_SUCCESS: /* connectSocket:ok, first and once */
        bad = r->oks++ > 0 || r->opens + r->messages + r->socket_errors > 0 ||
              strstr(ev->json, "\"errMsg\":\"connectSocket:ok\"") == NULL;
        break;
      case WXNET_EVENT_FAIL: /* the call was refused: only instead of SUCCESS */
        bad = r->oks > 0;
        terminal = 1;
        break;
      case WXNET_EVENT_SOCKET_OPEN: bad = r->oks != 1 || r->opens++ > 0; break;
      case WXNET_EVENT_SOCKET_MESSAGE: bad = r->opens != 1; r->messages++; break;
      case WXNET_EVENT_SOCKET_ERROR: bad = r->oks != 1; r->socket_errors++; break;
      case WXNET_EVENT_SOCKET_CLOSE:
        bad = r->oks != 1;
        terminal = 1;
        r->close_code = ex_json_num(ev->json, "code", -1);
        break;
      default: bad = 1; /* HEADERS, PROGRESS, CHUNK have no place on a socket */
    }
  } else {
    terminal = ev->kind == WXNET_EVENT_SUCCESS || ev->kind == WXNET_EVENT_FAIL;
    bad = is_socket_kind(ev->kind) ||
          (ev->kind == WXNET_EVENT_PROGRESS && r->api == EX_REQUEST) ||
          (ev->kind == WXNET_EVENT_CHUNK_RECEIVED && r->api != EX_REQUEST);
  }
  if (ev->kind == WXNET_EVENT_PROGRESS && r->api != EX_REQUEST && r->api != EX_SOCKET) {
    int up = r->api == EX_UPLOAD;
    long pct = ex_json_num(ev->json, "progress", -1);
    long long done = ex_json_num(ev->json, up ? "totalBytesSent" : "totalBytesWritten", -1);
    long long total = ex_json_num(ev->json, up ? "totalBytesExpectedToSend" : "totalBytesExpectedToWrite", -1);
    r->progresses++;
    r->hundreds += pct == 100;
    bad |= pct < 0 || pct > 100 || done < 0 || total < 0;
    if (pct < r->last_progress || done < r->last_bytes || r->hundreds > 1 ||
        (r->last_progress == 100 && r->progresses > 1))
      r->progress_back++;
    /* Throttled to one event per 1% step: with a known total, the same percentage twice
     * is one event too many (with an unknown total every event says 0). */
    if (total > 0 && pct == r->last_progress) r->progress_back++;
    r->last_progress = pct;
    r->last_bytes = done;
    r->expected_bytes = total;
  }
  if (bad) {
    r->order_errors++;
    fprintf(stderr, "  %s: %s out of order: %s\n", r->name, ex_kind_name(ev->kind), ev->json);
  }
  return terminal;
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
  pthread_mutex_lock(&t->w.mu);
  int terminal = classify(r, ev);
  if (r->seen == 0) r->seen = ev->task;
  else if (r->seen != ev->task) r->wrong_task++;
  if (r->terminals > 0) r->after_terminal++;
  if (ev->kind == WXNET_EVENT_HEADERS_RECEIVED) {
    r->headers++;
    pthread_cond_broadcast(&t->w.cv); /* for ex_track_wait_headers */
  }
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

int ex_track_wait_headers(ex_tracker *t, ex_rec *const *recs, int n, long timeout_ms) {
  struct timespec deadline = deadline_in(timeout_ms);
  pthread_mutex_lock(&t->w.mu);
  int waiting = 1, rc = 0;
  while (rc == 0) {
    waiting = 0;
    for (int i = 0; i < n; i++) waiting += recs[i] != NULL && recs[i]->headers == 0;
    if (waiting == 0) break;
    rc = pthread_cond_timedwait(&t->w.cv, &t->w.mu, &deadline);
  }
  pthread_mutex_unlock(&t->w.mu);
  if (waiting != 0) fprintf(stderr, "  timed out: %d tasks still without HEADERS_RECEIVED\n", waiting);
  return waiting == 0;
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
    if (r.order_errors != 0 || r.progress_back != 0) {
      fprintf(stderr, "  task %s: %d event(s) out of order, %d progress regression(s) or repeat(s)\n", r.name,
              r.order_errors, r.progress_back);
      ex_fail_at(__FILE__, __LINE__, "events in order; progress never goes back");
    }
    if ((r.api == EX_UPLOAD || r.api == EX_DOWNLOAD) && r.kind == WXNET_EVENT_SUCCESS &&
        (r.hundreds != 1 || r.last_progress != 100 || r.last_bytes != r.expected_bytes)) {
      fprintf(stderr, "  task %s: %d PROGRESS, %d at 100, last %ld%% (%lld of %lld bytes)\n", r.name,
              r.progresses, r.hundreds, r.last_progress, r.last_bytes, r.expected_bytes);
      ex_fail_at(__FILE__, __LINE__, "a finished transfer ends its progress with exactly one 100");
    }
  }
  EX_CHECK(t->bad_user_data == 0, "every event carried its own task_user_data");
}

/*
 * Helpers shared by the wxnet C examples (not part of the library).
 *
 * Environment (set by scripts/c-examples.sh and scripts/demo.sh):
 *   WXNET_TEST_HTTPS_PORT, WXNET_TEST_CA  the test server's TLS port and CA file (PEM);
 *   WXNET_TEST_PLAIN=1                    use the plain-HTTP port instead (TLS-free run):
 *   WXNET_TEST_HTTP_PORT                  with "urlCheck": false and http://127.0.0.1:PORT.
 *   WXNET_TEST_TIMEOUT_SCALE=N            multiply waits and time limits (valgrind: 10);
 *   WXNET_EXAMPLES_QUIET=1                don't print every event.
 *
 * TLS mode keeps the whole policy on: the app lists https://api.wxnet.test (request),
 * https://up.wxnet.test (uploadFile), https://cdn.wxnet.test (downloadFile) and
 * wss://ws.wxnet.test (socket), trusts the server's CA and pins those hosts (and
 * other.wxnet.test, which no list names) on port 443 to 127.0.0.1:PORT.
 *
 * Every config also gets "tempDir" and "userDataDir": <dir>/tmp and <dir>/usr of a fresh
 * directory made under $TMPDIR by the first ex_config() call and removed at exit.
 */
#ifndef WXNET_EXAMPLES_COMMON_H
#define WXNET_EXAMPLES_COMMON_H

#define _POSIX_C_SOURCE 200809L /* pipe, poll, nanosleep, clock_gettime */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wxnet.h"

/* ---- checks: print and count failures; ex_finish() turns them into the exit code ---- */
extern int ex_failures; /* updated atomically */
void ex_fail_at(const char *file, int line, const char *what);
#define EX_CHECK(cond, what) ((cond) ? (void)0 : ex_fail_at(__FILE__, __LINE__, (what)))
#define EX_CHECK_STATUS(call, expected)                                                  \
  do {                                                                                   \
    wxnet_status ex_st_ = (call);                                                        \
    if (ex_st_ != (expected)) {                                                          \
      fprintf(stderr, "  got %d (%s), want %d: %s\n", ex_st_, wxnet_status_str(ex_st_), \
              (expected), wxnet_last_error());                                           \
      ex_fail_at(__FILE__, __LINE__, #call);                                             \
    }                                                                                    \
  } while (0)
int ex_finish(const char *program); /* prints "<program>: ok" or the failure count */

/* ---- environment, config and URLs ---- */
/* The four wx APIs; each has its own listed host in TLS mode. */
typedef enum ex_api { EX_REQUEST, EX_UPLOAD, EX_DOWNLOAD, EX_SOCKET } ex_api;
const char *ex_api_name(ex_api api); /* "request", "uploadFile", "downloadFile", "connectSocket" */

int ex_plain(void);                         /* 1 in WXNET_TEST_PLAIN mode */
char *ex_config(const char *extra_members); /* malloc'd app config; extra e.g. "\"maxConcurrentRequests\":2" */
void ex_url(char *buf, size_t n, const char *path); /* "https://api.wxnet.test/json" or plain equivalent */
/* The URL of `path` for `api`: https://{api,up,cdn}.wxnet.test or wss://ws.wxnet.test
 * (plain mode: http:// or ws://127.0.0.1:PORT). */
void ex_api_url(ex_api api, char *buf, size_t n, const char *path);
/* malloc'd {"url":...,extra}; `path` is "/route" on the test server, or a full URL as is. */
char *ex_options(const char *path, const char *extra_members);
char *ex_api_options(ex_api api, const char *path, const char *extra_members);
/* Starts wx.request for `path` (+ extra option members). */
wxnet_status ex_request(wxnet_app *app, const char *path, const char *extra, void *ud,
                        wxnet_task_id *out);
/* Starts a task of any API (request without an ArrayBuffer body). */
wxnet_status ex_start(wxnet_app *app, ex_api api, const char *path, const char *extra, void *ud,
                      wxnet_task_id *out);
/* Waits until the test server has seen `n` requests for exactly `path_and_query` (e.g.
 * "/hang?t=abort-42": a tag of the caller's own), at most `timeout_ms` (scaled): 1 when it
 * has, 0 on timeout or error. Asks the server's /wait-hits route from an app of its own, so
 * the caller's apps, their queues and limits are untouched. Instead of sleeping "long enough"
 * for a request to reach the server. */
int ex_server_wait_hits(const char *path_and_query, int n, long timeout_ms);
void ex_sleep_ms(long ms);
long ex_scaled(long ms); /* ms times WXNET_TEST_TIMEOUT_SCALE (set under valgrind) */
long ex_now_ms(void); /* monotonic */

/* ---- the app's sandbox directories and files ---- */
const char *ex_temp_dir(void); /* the config's "tempDir" (created on first use) */
const char *ex_user_dir(void); /* the config's "userDataDir" */
/* wxfile://tmp_X -> <tempDir>/tmp_X, wxfile://usr/P -> <userDataDir>/P; 0 if neither. */
int ex_real_path(const char *vpath, char *buf, size_t n);
int ex_write_file(const char *path, const void *data, size_t len); /* 1 on success */
/* malloc'd contents of a file (NULL if it cannot be read); *len its size. */
unsigned char *ex_read_file(const char *path, size_t *len);
/* Number of entries in `dir` (NULL-safe `first` gets the first name seen); -1 on error. */
int ex_dir_entries(const char *dir, char *first, size_t n);
/* SHA-256 of `len` bytes as 64 lowercase hex digits plus NUL. */
void ex_sha256_hex(const void *data, size_t len, char hex[65]);

/* ---- tiny JSON peeks (the event JSON is compact, produced by serde_json) ---- */
long ex_json_num(const char *json, const char *key, long missing); /* first "key":<number> */
/* Copies the first "key":"value" string (escapes kept raw) or a literal (true/false/null). */
int ex_json_str(const char *json, const char *key, char *buf, size_t n);
const char *ex_kind_name(int kind);
void ex_print_event(const char *label, const wxnet_event *ev);

/* ---- waiting: a counter guarded by a mutex, signalled from callbacks ---- */
typedef struct ex_waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int count;
} ex_waiter;
void ex_waiter_init(ex_waiter *w);
void ex_waiter_destroy(ex_waiter *w);
void ex_waiter_add(ex_waiter *w, int n);
int ex_waiter_wait(ex_waiter *w, int target, long timeout_ms); /* 1 once count >= target */

/* ---- task tracking: one record per started task, checked against every event ----
 * Terminal events: SUCCESS or FAIL for request/upload/download; for a socket FAIL (the
 * connectSocket call was refused) or SOCKET_CLOSE, while its SUCCESS (connectSocket:ok)
 * is not terminal. The tracker also checks the order of socket events (SUCCESS first,
 * at most one OPEN, MESSAGE only after OPEN) and progress (0..100, never going back, one
 * event per 1% step at most when the total is known, exactly one 100 and it is the last
 * PROGRESS, on upload/download tasks only). */
#define EX_MAX_TASKS 64
typedef struct ex_rec {
  const char *name;
  ex_api api;
  int tag;                 /* free for the example's own use */
  wxnet_task_id id;        /* what the start call returned */
  wxnet_task_id seen;      /* what the events carried (must be the same) */
  void *ud;                /* the malloc'd task_user_data, NULL once freed */
  int headers, chunks, terminals, after_terminal, wrong_task, kind;
  int oks, opens, messages, socket_errors; /* sockets: non-terminal SUCCESS, OPEN, MESSAGE, ERROR */
  int progresses, hundreds; /* PROGRESS events, those at 100 */
  int progress_back;       /* PROGRESS going back, or repeating a percentage (throttle: 1% steps) */
  int order_errors;        /* events of the wrong kind or in the wrong order */
  long status_code, err_no, close_code, last_progress;
  long long last_bytes, expected_bytes; /* totalBytesSent/Written, ...ExpectedTo... */
  size_t data_len, chunk_bytes;
  char json[2048];         /* the terminal event's JSON (truncated) */
  char data[4096];         /* the start of the terminal event's data, NUL-terminated */
} ex_rec;

typedef struct ex_tracker {
  ex_waiter w;             /* count = terminal events seen */
  int quiet;
  int n;
  ex_rec recs[EX_MAX_TASKS];
  int bad_user_data;
} ex_tracker;

void ex_tracker_init(ex_tracker *t);
void ex_tracker_free(ex_tracker *t); /* frees user data of tasks whose terminal event was dropped */
/* Allocates a record and its malloc'd task_user_data (returned through *ud). */
ex_rec *ex_track(ex_tracker *t, const char *name, void **ud); /* a request */
ex_rec *ex_track_api(ex_tracker *t, ex_api api, const char *name, void **ud);
/* ex_track + wxnet_request; returns the record (its id set) or NULL if the start failed. */
ex_rec *ex_track_request(ex_tracker *t, wxnet_app *app, const char *name, const char *path,
                         const char *extra);
/* The same for any API (ex_start). */
ex_rec *ex_track_start(ex_tracker *t, wxnet_app *app, ex_api api, const char *name,
                       const char *path, const char *extra);
/* Validates and records one event; frees task_user_data on the terminal event.
 * Returns the task's record (NULL for a foreign user_data pointer). */
ex_rec *ex_track_event(ex_tracker *t, const wxnet_event *ev);
int ex_track_wait(ex_tracker *t, int terminals, long timeout_ms);
/* Waits (bounded) until each of the n records (NULL ones skipped) has had HEADERS_RECEIVED. */
int ex_track_wait_headers(ex_tracker *t, ex_rec *const *recs, int n, long timeout_ms);
/* Checks the common invariants of every record: one terminal, ids match, nothing after it,
 * event order, progress (a successful upload/download had exactly one PROGRESS at 100). */
void ex_track_verify(ex_tracker *t);
/* Snapshot of a record's counters under the lock. */
ex_rec ex_track_get(ex_tracker *t, const ex_rec *r);

#endif

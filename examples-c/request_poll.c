/*
 * wx.request in poll mode: the wakeup hook (called on a library thread when the queue
 * goes from empty to non-empty) only writes a byte to a pipe; the main thread waits on
 * the pipe with poll(2) and drains with wxnet_app_poll(timeout 0) + wxnet_event_free.
 */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ex_tracker tracker;
static int wake_pipe[2];
static int wakeups; /* atomic */

static void on_wake(void *ud) {
  EX_CHECK(ud == wake_pipe, "the wakeup hook gets its ud back");
  __atomic_add_fetch(&wakeups, 1, __ATOMIC_SEQ_CST);
  char byte = 1;
  if (write(wake_pipe[1], &byte, 1) < 0) { /* full pipe: a drain is pending anyway */ }
}

/* The last section's hook: counts wakeups into an ex_waiter. */
static void count_wakeup(void *ud) { ex_waiter_add(ud, 1); }

static int poller_started, poller_closed; /* atomics */

/* Blocks in wxnet_app_poll(-1) until the app is freed, then polls twice more. */
static void *poll_until_closed(void *arg) {
  wxnet_app *app = arg;
  __atomic_store_n(&poller_started, 1, __ATOMIC_SEQ_CST);
  int closed = 0;
  for (int i = 0; i < 1000 && closed < 3; i++) {
    wxnet_event *ev = NULL;
    wxnet_status st = wxnet_app_poll(app, -1, &ev);
    if (st == WXNET_E_CLOSED) closed++;
    else EX_CHECK(st == WXNET_OK && ev == NULL, "an idle app only returns when freed");
    wxnet_event_free(ev);
  }
  __atomic_store_n(&poller_closed, closed, __ATOMIC_SEQ_CST);
  return NULL;
}

static void never_called(void *ud, const wxnet_event *ev) {
  (void)ud, (void)ev;
  EX_CHECK(0, "no task was started on the callback-mode app");
}

static void drain(wxnet_app *app) {
  for (;;) {
    wxnet_event *ev = NULL;
    EX_CHECK_STATUS(wxnet_app_poll(app, 0, &ev), WXNET_OK);
    if (ev == NULL) return;
    ex_track_event(&tracker, ev);
    wxnet_event_free(ev);
  }
}

/* The host's event loop: sleep on the pipe until `terminals` tasks ended. */
/* Without the wakeup hook: blocks in wxnet_app_poll(-1) until `terminals` terminal events
 * were seen in all. */
static void poll_blocking(wxnet_app *app, int terminals) {
  while (!ex_waiter_wait(&tracker.w, terminals, 0)) {
    wxnet_event *ev = NULL;
    EX_CHECK_STATUS(wxnet_app_poll(app, -1, &ev), WXNET_OK);
    if (ev == NULL) break;
    ex_track_event(&tracker, ev);
    wxnet_event_free(ev);
  }
}

static void run_loop(wxnet_app *app, int terminals, long timeout_ms) {
  long deadline = ex_now_ms() + ex_scaled(timeout_ms);
  while (!ex_waiter_wait(&tracker.w, terminals, 0) && ex_now_ms() < deadline) {
    struct pollfd pfd = {wake_pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, 1000) > 0) {
      char buf[64];
      while (read(wake_pipe[0], buf, sizeof buf) > 0) {}
    }
    drain(app);
  }
  EX_CHECK(ex_track_wait(&tracker, terminals, 0), "all tasks ended within the time limit");
}

int main(void) {
  ex_tracker_init(&tracker);
  char *config = ex_config(NULL);
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), NULL, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return ex_finish("request_poll");

  /* Idle: timeout 0 returns at once with no event; a short timeout waits, then NULL. */
  static wxnet_event sentinel;
  wxnet_event *ev = &sentinel;
  EX_CHECK_STATUS(wxnet_app_poll(app, 0, &ev), WXNET_OK);
  EX_CHECK(ev == NULL, "poll(0) on an idle app gives a NULL event");
  long t0 = ex_now_ms();
  ev = &sentinel;
  EX_CHECK_STATUS(wxnet_app_poll(app, 100, &ev), WXNET_OK);
  EX_CHECK(ev == NULL && ex_now_ms() - t0 >= 90, "poll(100) waits ~100 ms, then NULL");

  if (pipe(wake_pipe) != 0) return 2;
  for (int i = 0; i < 2; i++) fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
  EX_CHECK_STATUS(wxnet_app_set_wakeup(app, on_wake, wake_pipe), WXNET_OK);

  ex_rec *get = ex_track_request(&tracker, app, "GET /json", "/json", NULL);
  ex_rec *post = ex_track_request(&tracker, app, "POST /echo", "/echo",
                                  "\"method\":\"POST\",\"data\":\"plain string body\"");
  ex_rec *err = ex_track_request(&tracker, app, "GET /status/500", "/status/500", NULL);
  ex_rec *chunked = ex_track_request(&tracker, app, "chunked", "/chunked?n=4&size=512&interval_ms=20",
                                     "\"enableChunked\":true");
  run_loop(app, 4, 20000);
  EX_CHECK(__atomic_load_n(&wakeups, __ATOMIC_SEQ_CST) > 0, "the wakeup hook was called");
  ex_rec r;
  if (get) {
    r = ex_track_get(&tracker, get);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && r.status_code == 200 && strstr(r.data, "\"hello\""), "GET /json");
  }
  if (post) {
    r = ex_track_get(&tracker, post);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && strstr(r.data, "\"body\":\"plain string body\""),
             "a string body is sent as is");
  }
  if (err) {
    r = ex_track_get(&tracker, err);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && r.status_code == 500, "a 500 is a SUCCESS with statusCode 500");
  }
  if (chunked) {
    r = ex_track_get(&tracker, chunked);
    printf("  chunked: %d chunks, %zu bytes\n", r.chunks, r.chunk_bytes);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && r.headers == 1, "chunked request succeeded");
    EX_CHECK(r.chunks >= 1 && r.chunk_bytes == 4 * 512, "enableChunked: CHUNK_RECEIVED carry the whole body");
  }

  /* Without the hook, a host can block in wxnet_app_poll(-1) instead. */
  EX_CHECK_STATUS(wxnet_app_set_wakeup(app, NULL, NULL), WXNET_OK);
  int before = __atomic_load_n(&wakeups, __ATOMIC_SEQ_CST);
  ex_rec *blocking = ex_track_request(&tracker, app, "GET /json (poll -1)", "/json", NULL);
  if (blocking) poll_blocking(app, 5);
  EX_CHECK(__atomic_load_n(&wakeups, __ATOMIC_SEQ_CST) == before, "no wakeup after the hook was removed");
  if (blocking) {
    r = ex_track_get(&tracker, blocking);
    EX_CHECK(strstr(r.json, "\"socketReused\":true") != NULL, "the pooled connection is reused");
  }

  /* The device's network changed: the pool is dropped, the next request connects anew. */
  EX_CHECK_STATUS(wxnet_app_reset_connections(app), WXNET_OK);
  ex_rec *fresh = ex_track_request(&tracker, app, "GET /json (after a reset)", "/json", NULL);
  if (fresh) {
    poll_blocking(app, 6);
    r = ex_track_get(&tracker, fresh);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && strstr(r.json, "\"socketReused\":false") != NULL,
             "after wxnet_app_reset_connections the next request connects anew");
  }

  /* An owned event outlives its app; queued events of a freed poll-mode app are dropped. The
   * hook now only counts: the last request's first event is known to be queued (the queue
   * went from empty to non-empty) when the app is freed. */
  ex_waiter queued;
  ex_waiter_init(&queued);
  EX_CHECK_STATUS(wxnet_app_set_wakeup(app, count_wakeup, &queued), WXNET_OK);
  ex_rec *kept = ex_track_request(&tracker, app, "GET /json (event kept)", "/json", NULL);
  wxnet_event *keep = NULL;
  for (int i = 0; i < 16 && keep == NULL; i++) {
    ev = NULL;
    EX_CHECK_STATUS(wxnet_app_poll(app, (int32_t)ex_scaled(10000), &ev), WXNET_OK);
    if (ev == NULL) break;
    ex_track_event(&tracker, ev);
    if (ev->kind == WXNET_EVENT_SUCCESS || ev->kind == WXNET_EVENT_FAIL) keep = ev; /* kept, not freed */
    else wxnet_event_free(ev);
  }
  EX_CHECK(kept && keep && keep->kind == WXNET_EVENT_SUCCESS, "the kept request succeeded");
  /* Nothing is queued or running now: the next event queued calls the hook. */
  pthread_mutex_lock(&queued.mu);
  int wakes = queued.count;
  pthread_mutex_unlock(&queued.mu);
  ex_rec *dropped = ex_track_request(&tracker, app, "GET /delay/3000 (dropped)", "/delay/3000", NULL);
  ex_rec *waiting = ex_track_request(&tracker, app, "GET /json (events dropped)", "/json", NULL);
  EX_CHECK(ex_waiter_wait(&queued, wakes + 1, 10000), "an event of GET /json is queued");
  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_waiter_destroy(&queued);
  EX_CHECK(keep == NULL || strstr(keep->json, "\"statusCode\":200") != NULL, "the kept event is still valid");
  wxnet_event_free(keep);
  if (dropped) EX_CHECK_STATUS(wxnet_task_abort(dropped->id), WXNET_E_UNKNOWN_TASK);
  if (waiting) EX_CHECK_STATUS(wxnet_task_abort(waiting->id), WXNET_E_UNKNOWN_TASK);
  if (dropped) { EX_CHECK(ex_track_get(&tracker, dropped).terminals == 0, "terminal dropped"); dropped->terminals = -1; }
  if (waiting) { EX_CHECK(ex_track_get(&tracker, waiting).terminals == 0, "terminal dropped"); waiting->terminals = -1; }
  close(wake_pipe[0]);
  close(wake_pipe[1]);

  /* Poll-mode calls on a callback-mode app are misuse. */
  wxnet_app *cb_app = NULL;
  config = ex_config(NULL);
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), never_called, NULL, &cb_app), WXNET_OK);
  free(config);
  ev = &sentinel;
  EX_CHECK_STATUS(wxnet_app_poll(cb_app, 0, &ev), WXNET_E_WRONG_MODE);
  EX_CHECK(ev == &sentinel, "out_event is untouched on error");
  EX_CHECK_STATUS(wxnet_app_set_wakeup(cb_app, on_wake, wake_pipe), WXNET_E_WRONG_MODE);
  EX_CHECK_STATUS(wxnet_app_free(cb_app), WXNET_OK);

  /* wxnet_app_free wakes a thread blocked in wxnet_app_poll(-1) with WXNET_E_CLOSED, and every
   * later call with the freed handle gets WXNET_E_CLOSED too (a handle names no memory),
   * however the two threads interleave. */
  wxnet_app *raced = NULL;
  config = ex_config(NULL);
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), NULL, NULL, &raced), WXNET_OK);
  free(config);
  if (raced) {
    pthread_t poller;
    EX_CHECK(pthread_create(&poller, NULL, poll_until_closed, raced) == 0, "poller thread");
    long deadline = ex_now_ms() + 10000;
    while (!__atomic_load_n(&poller_started, __ATOMIC_SEQ_CST) && ex_now_ms() < deadline) sched_yield();
    EX_CHECK_STATUS(wxnet_app_free(raced), WXNET_OK);
    pthread_join(poller, NULL);
    EX_CHECK(__atomic_load_n(&poller_closed, __ATOMIC_SEQ_CST) == 3, "the poller got WXNET_E_CLOSED, then again");
    ev = &sentinel;
    EX_CHECK_STATUS(wxnet_app_poll(raced, 0, &ev), WXNET_E_CLOSED);
    EX_CHECK(ev == &sentinel, "out_event is untouched on error");
    EX_CHECK_STATUS(wxnet_app_free(raced), WXNET_E_CLOSED);
    EX_CHECK_STATUS(wxnet_app_set_background(raced, true), WXNET_E_CLOSED);
    EX_CHECK_STATUS(wxnet_app_reset_connections(raced), WXNET_E_CLOSED);
    EX_CHECK_STATUS(wxnet_app_set_wakeup(raced, on_wake, wake_pipe), WXNET_E_CLOSED);
    char *options = ex_options("/json", NULL);
    wxnet_task_id id = 42;
    EX_CHECK_STATUS(wxnet_request(raced, options, strlen(options), NULL, 0, NULL, &id), WXNET_E_CLOSED);
    EX_CHECK(id == 42, "out_task is untouched on errors");
    free(options);
  }

  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  return ex_finish("request_poll");
}

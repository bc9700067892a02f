/*
 * RequestTask.abort(): wxnet_task_abort on in-flight and queued requests, twice, on an
 * ended task, on unknown ids, and re-entrantly from inside an event callback; starting a
 * request from inside a callback.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ex_tracker tracker;
static wxnet_app *app;
static const char CHUNKED[] = "chunked, aborted in its HEADERS_RECEIVED callback";
static const char STARTER[] = "GET /status/204, starts a request in its callback";
static wxnet_status abort_in_cb = 1, abort_again_in_cb = 1, abort_ended_in_cb = 1;
static ex_rec *started_in_cb;

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  ex_rec *r = ex_track_event(&tracker, ev);
  if (r == NULL) return;
  if (r->name == CHUNKED && ev->kind == WXNET_EVENT_HEADERS_RECEIVED) {
    abort_in_cb = wxnet_task_abort(ev->task); /* re-entrant: we are on the dispatcher */
    abort_again_in_cb = wxnet_task_abort(ev->task);
  }
  if (r->name == STARTER && ev->kind == WXNET_EVENT_SUCCESS) {
    abort_ended_in_cb = wxnet_task_abort(ev->task); /* ended: OK, nothing happens */
    started_in_cb = ex_track_request(&tracker, app, "GET /json, started in a callback", "/json", NULL);
  }
}

static void expect_abort(const ex_rec *rec) {
  if (rec == NULL) return;
  ex_rec r = ex_track_get(&tracker, rec);
  if (r.kind != WXNET_EVENT_FAIL || strstr(r.json, "\"errMsg\":\"request:fail abort\"") == NULL) {
    fprintf(stderr, "  %s: %s %s\n", r.name, ex_kind_name(r.kind), r.json);
    ex_fail_at(__FILE__, __LINE__, "FAIL request:fail abort");
  }
}

int main(void) {
  ex_tracker_init(&tracker);
  /* Two requests in flight at most: the third one waits in the app's FIFO queue. */
  char *config = ex_config("\"maxConcurrentRequests\":2");
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return ex_finish("abort");

  /* 1. In flight (/delay/5000, /hang) and queued (/json behind them). The test server counts
   * each tagged path; the aborts start once it has seen both in-flight requests. */
  char slow_path[64], hang_path[64];
  snprintf(slow_path, sizeof slow_path, "/delay/5000?t=abort-%ld", (long)getpid());
  snprintf(hang_path, sizeof hang_path, "/hang?t=abort-%ld", (long)getpid());
  ex_rec *slow = ex_track_request(&tracker, app, "GET /delay/5000", slow_path, NULL);
  ex_rec *hang = ex_track_request(&tracker, app, "GET /hang", hang_path, NULL);
  ex_rec *queued = ex_track_request(&tracker, app, "GET /json (queued)", "/json", NULL);
  EX_CHECK(ex_server_wait_hits(slow_path, 1, 10000) && ex_server_wait_hits(hang_path, 1, 10000),
           "both in-flight requests reached the server");
  long t0 = ex_now_ms();
  if (queued) EX_CHECK_STATUS(wxnet_task_abort(queued->id), WXNET_OK);
  if (slow) {
    EX_CHECK_STATUS(wxnet_task_abort(slow->id), WXNET_OK);
    EX_CHECK_STATUS(wxnet_task_abort(slow->id), WXNET_OK); /* idempotent */
  }
  if (hang) EX_CHECK_STATUS(wxnet_task_abort(hang->id), WXNET_OK);
  EX_CHECK(ex_track_wait(&tracker, 3, 3000), "aborted tasks end");
  EX_CHECK(ex_now_ms() - t0 < ex_scaled(1000), "abort ends a task at once");
  expect_abort(slow);
  expect_abort(hang);
  expect_abort(queued);
  if (queued) EX_CHECK(ex_track_get(&tracker, queued).headers == 0, "the queued task never got headers");

  /* 2. Ended and unknown ids. */
  if (slow) EX_CHECK_STATUS(wxnet_task_abort(slow->id), WXNET_OK);
  if (slow) EX_CHECK_STATUS(wxnet_task_abort(slow->id + 1000000), WXNET_E_UNKNOWN_TASK);
  EX_CHECK_STATUS(wxnet_task_abort(0), WXNET_E_UNKNOWN_TASK);
  EX_CHECK_STATUS(wxnet_task_abort(UINT64_MAX), WXNET_E_UNKNOWN_TASK);
  EX_CHECK_STATUS(wxnet_task_abort(1ULL << 62), WXNET_E_UNKNOWN_TASK);

  /* 3. Abort from inside the task's own HEADERS_RECEIVED callback: 50 chunks, 100 ms apart,
   * so the stream would last ~5 s; it must end right after the headers. */
  t0 = ex_now_ms();
  ex_rec *chunked = ex_track_request(&tracker, app, CHUNKED, "/chunked?n=50&size=100&interval_ms=100",
                                     "\"enableChunked\":true");
  EX_CHECK(ex_track_wait(&tracker, 4, 10000), "the chunked request ended");
  EX_CHECK_STATUS(abort_in_cb, WXNET_OK);
  EX_CHECK_STATUS(abort_again_in_cb, WXNET_OK);
  expect_abort(chunked);
  if (chunked) {
    ex_rec r = ex_track_get(&tracker, chunked);
    printf("  chunked: aborted after %ld ms, %d chunk(s) delivered\n", ex_now_ms() - t0, r.chunks);
    EX_CHECK(r.headers == 1 && r.chunks < 50, "the stream stopped after the abort");
    EX_CHECK(ex_now_ms() - t0 < ex_scaled(3000), "the abort did not wait for the stream");
  }

  /* 4. Start a request from inside a callback (and abort the ended task there). */
  ex_rec *starter = ex_track_request(&tracker, app, STARTER, "/status/204", NULL);
  EX_CHECK(ex_track_wait(&tracker, 6, 10000), "the request started in the callback ended");
  EX_CHECK_STATUS(abort_ended_in_cb, WXNET_OK);
  if (starter) EX_CHECK(ex_track_get(&tracker, starter).status_code == 204, "204 is a SUCCESS");
  EX_CHECK(started_in_cb != NULL, "wxnet_request works inside a callback");
  if (started_in_cb) {
    ex_rec r = ex_track_get(&tracker, started_in_cb);
    EX_CHECK(r.kind == WXNET_EVENT_SUCCESS && strstr(r.data, "\"hello\":\"world\""), "it succeeded");
  }

  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  if (slow) EX_CHECK_STATUS(wxnet_task_abort(slow->id), WXNET_E_UNKNOWN_TASK);
  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  return ex_finish("abort");
}

/*
 * wxnet_app_free with 20 requests in flight: every task gets exactly one terminal event
 * before it returns and no callback runs afterwards; free from inside a callback is
 * refused; old ids become unknown. Plus API misuse, status strings, version, logging.
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static ex_tracker tracker;
static int app_token, app2_token;
static wxnet_app *app2;
static int freed, late_callbacks, log_count, log_bad, log_leak; /* atomics */
static wxnet_status free_in_cb = 1;
static int stray; /* task_user_data of misuse calls: no task may start, no event may come */

static void on_event(void *ud, const wxnet_event *ev) {
  if (ud == &app_token && __atomic_load_n(&freed, __ATOMIC_SEQ_CST))
    __atomic_add_fetch(&late_callbacks, 1, __ATOMIC_SEQ_CST);
  if (ev->task_user_data == &stray) {
    ex_print_event("misuse call", ev);
    ex_fail_at(__FILE__, __LINE__, "a start call that returned an error must emit no event");
    return;
  }
  ex_track_event(&tracker, ev);
  if (ud == &app2_token && ev->kind == WXNET_EVENT_HEADERS_RECEIVED) free_in_cb = wxnet_app_free(app2);
}

static void on_log(void *ud, int32_t level, const char *msg, size_t len) {
  __atomic_add_fetch(&log_count, 1, __ATOMIC_SEQ_CST);
  if (ud != &log_count || level < 1 || level > 5 || msg[len] != '\0' || strlen(msg) != len)
    __atomic_add_fetch(&log_bad, 1, __ATOMIC_SEQ_CST);
  if (strstr(msg, "s3cr3t") != NULL) __atomic_add_fetch(&log_leak, 1, __ATOMIC_SEQ_CST);
}

/* A pthread_key destructor runs after the thread's Rust thread-locals are gone: a wxnet call
 * from there must still just return its status (it used to abort the process). */
static pthread_key_t dtor_key;
static int dtor_status = 1; /* atomic */

static void key_destructor(void *unused) {
  (void)unused;
  __atomic_store_n(&dtor_status, wxnet_task_abort(12345), __ATOMIC_SEQ_CST);
  (void)wxnet_last_error();
}

static void *thread_with_key(void *unused) {
  (void)unused;
  pthread_setspecific(dtor_key, &dtor_key);
  (void)wxnet_task_abort(999); /* a failed call: this thread has a last error */
  return NULL;
}

static void misuse(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", WXNET_VERSION_MAJOR, WXNET_VERSION_MINOR, WXNET_VERSION_PATCH);
  EX_CHECK(strcmp(wxnet_version(), want) == 0, "wxnet_version matches the header");
  EX_CHECK(*wxnet_status_str(WXNET_E_UNKNOWN_TASK) != '\0', "status strings are not empty");
  EX_CHECK(strcmp(wxnet_status_str(WXNET_OK), wxnet_status_str(WXNET_E_CLOSED)) != 0, "distinct strings");
  EX_CHECK(strcmp(wxnet_status_str(12345), "unknown status") == 0, "unknown status");

  wxnet_app *app = (wxnet_app *)&app_token; /* sentinel: must stay untouched on errors */
  static const char bad_field[] = "{\"appId\":\"wxmisuse\",\"bogusField\":1}";
  static const char no_app_id[] = "{\"urlCheck\":false}";
  EX_CHECK_STATUS(wxnet_app_new(NULL, 4, NULL, NULL, &app), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_app_new(bad_field, strlen(bad_field), NULL, NULL, NULL), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_app_new(bad_field, strlen(bad_field), NULL, NULL, &app), WXNET_E_INVALID_CONFIG);
  printf("  unknown field: %s\n", wxnet_last_error());
  EX_CHECK(strstr(wxnet_last_error(), "bogusField") != NULL, "wxnet_last_error names the field");
  EX_CHECK_STATUS(wxnet_app_new(no_app_id, strlen(no_app_id), NULL, NULL, &app), WXNET_E_INVALID_CONFIG);
  EX_CHECK(strstr(wxnet_last_error(), "appId") != NULL, "wxnet_last_error names appId");
  EX_CHECK(app == (wxnet_app *)&app_token, "out_app is untouched on errors");
  EX_CHECK_STATUS(wxnet_app_free(NULL), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_app_poll(NULL, 0, NULL), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_app_set_background(NULL, true), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_app_reset_connections(NULL), WXNET_E_NULL_ARGUMENT);
  wxnet_event_free(NULL); /* ignored */

  EX_CHECK(pthread_key_create(&dtor_key, key_destructor) == 0, "pthread key");
  pthread_t thread;
  EX_CHECK(pthread_create(&thread, NULL, thread_with_key, NULL) == 0, "thread");
  pthread_join(thread, NULL);
  EX_CHECK_STATUS(__atomic_load_n(&dtor_status, __ATOMIC_SEQ_CST), WXNET_E_UNKNOWN_TASK);
  pthread_key_delete(dtor_key);
}

static void misuse_request(wxnet_app *app) {
  char *ok = ex_options("/json", NULL);
  static const char *const malformed[] = {"{\"url\":", "[1,2]", "\"just a string\"", "{\"url\":\"\xff\"}"};
  wxnet_task_id id = 42;
  uint8_t byte = 0;
  EX_CHECK_STATUS(wxnet_request(NULL, ok, strlen(ok), NULL, 0, &stray, &id), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_request(app, NULL, 10, NULL, 0, &stray, &id), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_request(app, ok, strlen(ok), NULL, 10, &stray, &id), WXNET_E_NULL_ARGUMENT);
  EX_CHECK_STATUS(wxnet_request(app, ok, strlen(ok), &byte, 1, &stray, NULL), WXNET_E_NULL_ARGUMENT);
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    EX_CHECK_STATUS(wxnet_request(app, malformed[i], strlen(malformed[i]), NULL, 0, &stray, &id),
                    WXNET_E_INVALID_ARGUMENT);
    EX_CHECK(*wxnet_last_error() != '\0', "wxnet_last_error explains the malformed options");
  }
  EX_CHECK(id == 42, "out_task is untouched on errors (and no event comes)");
  free(ok);
}

int main(void) {
  ex_tracker_init(&tracker);
  EX_CHECK_STATUS(wxnet_set_log_callback(on_log, &log_count, WXNET_LOG_DEBUG), WXNET_OK);
  misuse();
  wxnet_app *app = NULL;
  char *config = ex_config(NULL);
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, &app_token, &app), WXNET_OK);
  if (app == NULL) return ex_finish("free_in_flight");
  misuse_request(app);

  /* An invalid option value is a wx failure (an event), not a misuse. */
  ex_rec *brew = ex_track_request(&tracker, app, "method BREW", "/json", "\"method\":\"BREW\"");
  ex_rec *secret = ex_track_request(&tracker, app, "GET /json?token=s3cr3t", "/json?token=s3cr3t", NULL);
  EX_CHECK(ex_track_wait(&tracker, 2, 10000), "both ended");
  if (brew) EX_CHECK(ex_track_get(&tracker, brew).kind == WXNET_EVENT_FAIL, "method BREW fails");
  if (secret) EX_CHECK(ex_track_get(&tracker, secret).kind == WXNET_EVENT_SUCCESS, "query request ok");

  /* 20 requests (10 queued: maxConcurrentRequests is 10), then free while the ten slow ones
   * are in flight: each has its headers, its body comes in 3 s. */
  ex_rec *recs[20] = {0}, *slow[10] = {0};
  for (int i = 0; i < 20; i++) {
    recs[i] = ex_track_request(&tracker, app, i % 2 ? "GET /json" : "GET /delay-body/3000",
                               i % 2 ? "/json" : "/delay-body/3000", NULL);
    if (i % 2 == 0) slow[i / 2] = recs[i];
  }
  EX_CHECK(ex_track_wait_headers(&tracker, slow, 10, 10000), "the ten slow requests are in flight");
  long t0 = ex_now_ms();
  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  printf("  wxnet_app_free returned after %ld ms\n", ex_now_ms() - t0);
  int aborted = 0;
  for (int i = 0; i < 20; i++) {
    if (recs[i] == NULL) continue;
    ex_rec r = ex_track_get(&tracker, recs[i]);
    EX_CHECK(r.terminals == 1, "terminal event delivered before wxnet_app_free returned");
    aborted += r.kind == WXNET_EVENT_FAIL && strstr(r.json, "request:fail abort") != NULL;
    if (i % 2 == 0) EX_CHECK(r.kind == WXNET_EVENT_FAIL, "/delay-body/3000 was aborted by the free");
  }
  printf("  %d of 20 requests ended with request:fail abort\n", aborted);
  /* No callback of the freed app may come: checked now and again at the end of the run. */
  __atomic_store_n(&freed, 1, __ATOMIC_SEQ_CST);
  EX_CHECK(__atomic_load_n(&late_callbacks, __ATOMIC_SEQ_CST) == 0, "no callback after wxnet_app_free");
  for (int i = 0; i < 20; i++)
    if (recs[i]) EX_CHECK_STATUS(wxnet_task_abort(recs[i]->id), WXNET_E_UNKNOWN_TASK);

  /* wxnet_app_free from inside the app's own callback would deadlock: refused. */
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, &app2_token, &app2), WXNET_OK);
  free(config);
  if (app2 != NULL && ex_track_request(&tracker, app2, "GET /json (free in callback)", "/json", NULL)) {
    EX_CHECK(ex_track_wait(&tracker, 23, 10000), "app2 request ended");
    EX_CHECK_STATUS(free_in_cb, WXNET_E_WOULD_DEADLOCK);
    EX_CHECK_STATUS(wxnet_app_free(app2), WXNET_OK);
  }

  EX_CHECK(__atomic_load_n(&late_callbacks, __ATOMIC_SEQ_CST) == 0, "still no callback of the freed app");
  EX_CHECK_STATUS(wxnet_set_log_callback(NULL, NULL, 0), WXNET_OK);
  printf("  log callback: %d messages\n", log_count);
  EX_CHECK(log_count > 0, "the log callback received messages");
  EX_CHECK(log_bad == 0, "log messages are NUL-terminated at len, levels 1..5, ud passed back");
  EX_CHECK(log_leak == 0, "log messages never contain query strings");
  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  return ex_finish("free_in_flight");
}

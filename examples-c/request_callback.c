/*
 * wx.request in callback mode: every event arrives on the app's dispatcher thread and is
 * checked there (task id, user_data pointer, one terminal event); the malloc'd
 * task_user_data is freed on the terminal event (see ex_track_event in common.c).
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static ex_tracker tracker;
static int app_token; /* its address is the app_user_data */

static void on_event(void *app_ud, const wxnet_event *ev) {
  EX_CHECK(app_ud == &app_token, "app_user_data is passed back as given");
  ex_track_event(&tracker, ev);
}

static wxnet_app *new_app(const char *config) {
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, &app_token, &app), WXNET_OK);
  return app;
}

static void expect(const ex_rec *r, int kind, long status, const char *in_json, const char *in_data) {
  ex_rec got = ex_track_get(&tracker, r);
  int ok = got.kind == kind && (status < 0 || got.status_code == status) &&
           (in_json == NULL || strstr(got.json, in_json) != NULL) &&
           (in_data == NULL || strstr(got.data, in_data) != NULL);
  if (!ok) {
    fprintf(stderr, "  %s: kind=%s status=%ld json=%.300s\n  data=%.300s\n", got.name,
            ex_kind_name(got.kind), got.status_code, got.json, got.data);
    ex_fail_at(__FILE__, __LINE__, got.name);
  }
}

int main(void) {
  ex_tracker_init(&tracker);
  char *config = ex_config(NULL);
  wxnet_app *app = new_app(config);
  free(config);
  if (app == NULL) return ex_finish("request_callback");

  /* With urlCheck off (plain mode) the domain list is not enforced: use a strict app for
   * the policy check there. A policy failure never opens a connection. */
  wxnet_app *strict = app;
  if (ex_plain())
    strict = new_app("{\"appId\":\"wxstrict\",\"domains\":{\"request\":[\"https://api.wxnet.test\"]}}");

  static const char *const json_post =
      "\"method\":\"post\",\"data\":{\"name\":\"wxnet\",\"n\":42},\"header\":{\"X-Example\":\"c\"}";
  ex_rec *get = ex_track_request(&tracker, app, "GET /json", "/json", NULL);
  ex_rec *post = ex_track_request(&tracker, app, "POST /echo", "/echo", json_post);
  ex_rec *missing = ex_track_request(&tracker, app, "GET /status/404", "/status/404", NULL);
  ex_rec *text = ex_track_request(&tracker, app, "GET /text", "/text", NULL);
  ex_rec *bytes = ex_track_request(&tracker, app, "GET /bytes/1000", "/bytes/1000",
                                   "\"responseType\":\"arraybuffer\"");
  ex_rec *unlisted = strict ? ex_track_request(&tracker, strict, "unlisted domain",
                                               "https://other.wxnet.test/json", NULL) : NULL;

  /* An ArrayBuffer body goes beside the JSON options and comes back verbatim. */
  uint8_t body[200];
  for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)('a' + i % 26);
  void *ud;
  ex_rec *raw = ex_track(&tracker, "PUT /echo/raw (binary body)", &ud);
  char *opts = ex_options("/echo/raw", "\"method\":\"PUT\",\"responseType\":\"arraybuffer\","
                                       "\"header\":{\"content-type\":\"application/octet-stream\"}");
  EX_CHECK_STATUS(wxnet_request(app, opts, strlen(opts), body, sizeof body, ud, &raw->id), WXNET_OK);
  free(opts);

  int started = 7 - (unlisted == NULL);
  EX_CHECK(ex_track_wait(&tracker, started, 30000), "every request ended");

  if (get) {
    expect(get, WXNET_EVENT_SUCCESS, 200, "\"errMsg\":\"request:ok\"", "\"hello\":\"world\"");
    expect(get, WXNET_EVENT_SUCCESS, 200, "\"dataKind\":\"json\"", NULL);
    expect(get, WXNET_EVENT_SUCCESS, 200, "\"profile\":{", NULL);
    ex_rec g = ex_track_get(&tracker, get);
    EX_CHECK(g.headers == 1, "GET /json: one HEADERS_RECEIVED before SUCCESS");
    EX_CHECK(strstr(g.json, "\"data\":") == NULL, "the success res has no data member");
  }
  if (post) {
    expect(post, WXNET_EVENT_SUCCESS, 200, NULL, "\"method\":\"POST\"");
    expect(post, WXNET_EVENT_SUCCESS, 200, NULL, "\\\"name\\\":\\\"wxnet\\\"");
    expect(post, WXNET_EVENT_SUCCESS, 200, NULL, "\"contentType\":\"application/json\"");
    expect(post, WXNET_EVENT_SUCCESS, 200, NULL, "\"x-example\":\"c\"");
    expect(post, WXNET_EVENT_SUCCESS, 200, NULL,
           "https://servicewechat.com/wxexample0123456789/0/page-frame.html");
  }
  if (missing) expect(missing, WXNET_EVENT_SUCCESS, 404, "\"errMsg\":\"request:ok\"", "status 404");
  if (text) expect(text, WXNET_EVENT_SUCCESS, 200, "\"dataKind\":\"text\"", "plain text, not json");
  if (bytes) {
    expect(bytes, WXNET_EVENT_SUCCESS, 200, "\"dataKind\":\"arraybuffer\"", NULL);
    ex_rec b = ex_track_get(&tracker, bytes);
    EX_CHECK(b.data_len == 1000, "/bytes/1000 gives 1000 bytes");
    int pattern_ok = 1;
    for (size_t i = 0; i < b.data_len && i + 1 < sizeof b.data; i++)
      pattern_ok &= (uint8_t)b.data[i] == (uint8_t)(i % 251);
    EX_CHECK(pattern_ok, "/bytes/1000 carries the server's byte pattern");
  }
  {
    ex_rec r = ex_track_get(&tracker, raw);
    expect(raw, WXNET_EVENT_SUCCESS, 200, "\"dataKind\":\"arraybuffer\"", NULL);
    EX_CHECK(r.data_len == sizeof body && memcmp(r.data, body, sizeof body) == 0,
             "the binary body comes back verbatim");
  }
  if (unlisted) {
    expect(unlisted, WXNET_EVENT_FAIL, -1, "\"errMsg\":\"request:fail", NULL);
    ex_rec u = ex_track_get(&tracker, unlisted);
    EX_CHECK(u.err_no == 600002, "unlisted domain fails with errno 600002");
    EX_CHECK(u.headers == 0, "a policy failure has no HEADERS_RECEIVED");
  }
  for (int i = 0; i < tracker.n; i++)
    for (int j = i + 1; j < tracker.n; j++)
      EX_CHECK(tracker.recs[i].id != tracker.recs[j].id, "task ids are never reused");

  if (strict != app) EX_CHECK_STATUS(wxnet_app_free(strict), WXNET_OK);
  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  return ex_finish("request_callback");
}

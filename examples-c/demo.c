/*
 * wxnet demo: a few wx.request calls through the shared library in callback mode, one
 * after the other, printing every event the way a mini-program container would see it.
 * Run it with scripts/demo.sh (starts the local test server with a generated CA).
 */
#include "common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static ex_waiter done;  /* terminal events so far */
static int last_kind;   /* kind of the last terminal event (read after the waiter) */
static int chunk_no;

static void preview(const uint8_t *data, size_t len) {
  size_t n = len < 72 ? len : 72;
  printf("    body (%zu bytes): \"", len);
  for (size_t i = 0; i < n; i++) putchar(isprint(data[i]) ? data[i] : '.');
  printf("\"%s\n", len > n ? "..." : "");
}

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  char err_msg[256] = "", kind[16] = "", proto[16] = "", ip[64] = "", reused[8] = "", enc[32] = "";
  printf("  %-16s task %llu", ex_kind_name(ev->kind), (unsigned long long)ev->task);
  switch (ev->kind) {
    case WXNET_EVENT_HEADERS_RECEIVED:
      ex_json_str(ev->json, "content-encoding", enc, sizeof enc);
      printf("  statusCode %ld%s%s\n", ex_json_num(ev->json, "statusCode", -1),
             *enc ? "  content-encoding " : "", enc);
      break;
    case WXNET_EVENT_CHUNK_RECEIVED:
      printf("  chunk #%d: %zu bytes\n", ++chunk_no, ev->data_len);
      break;
    case WXNET_EVENT_SUCCESS:
      ex_json_str(ev->json, "errMsg", err_msg, sizeof err_msg);
      ex_json_str(ev->json, "dataKind", kind, sizeof kind);
      ex_json_str(ev->json, "protocol", proto, sizeof proto);
      ex_json_str(ev->json, "peerIP", ip, sizeof ip);
      ex_json_str(ev->json, "socketReused", reused, sizeof reused);
      printf("  %s  statusCode %ld  dataKind %s\n    profile: protocol %s, peerIP %s, socketReused %s\n",
             err_msg, ex_json_num(ev->json, "statusCode", -1), kind, proto, ip, reused);
      preview(ev->data, ev->data_len);
      break;
    case WXNET_EVENT_FAIL:
      ex_json_str(ev->json, "errMsg", err_msg, sizeof err_msg);
      printf("  %s  errno %ld\n", err_msg, ex_json_num(ev->json, "errno", -1));
      break;
    default:
      printf("  %s\n", ev->json);
  }
  fflush(stdout);
  if (ev->kind == WXNET_EVENT_SUCCESS || ev->kind == WXNET_EVENT_FAIL) {
    __atomic_store_n(&last_kind, ev->kind, __ATOMIC_SEQ_CST);
    ex_waiter_add(&done, 1);
  }
}

/* Starts one request, optionally aborts it after `abort_after_ms`, waits for its end. */
static void step(wxnet_app *app, const char *title, const char *path, const char *extra,
                 int want_kind, long abort_after_ms) {
  static int steps;
  wxnet_task_id task = 0;
  printf("\n== %s\n   wx.request(%s%s%s)\n", title, path, extra ? ", " : "", extra ? extra : "");
  chunk_no = 0;
  wxnet_status st = ex_request(app, path, extra, NULL, &task);
  if (st != WXNET_OK) {
    printf("   start failed: %s: %s\n", wxnet_status_str(st), wxnet_last_error());
    ex_fail_at(__FILE__, __LINE__, title);
    return;
  }
  steps++;
  if (abort_after_ms > 0) {
    ex_sleep_ms(abort_after_ms);
    printf("   (RequestTask.abort() after %ld ms)\n", abort_after_ms);
    EX_CHECK_STATUS(wxnet_task_abort(task), WXNET_OK);
  }
  EX_CHECK(ex_waiter_wait(&done, steps, 30000), title);
  EX_CHECK(__atomic_load_n(&last_kind, __ATOMIC_SEQ_CST) == want_kind, title);
}

int main(void) {
  ex_waiter_init(&done);
  printf("wxnet %s (C ABI %d): %s\n", wxnet_version(), WXNET_ABI_VERSION,
         ex_plain() ? "plain HTTP, urlCheck off" : "HTTPS with the full domain policy");
  char *config = ex_config(NULL);
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return ex_finish("demo");

  step(app, "A JSON GET", "/json", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, "The same host again: the pooled connection is reused", "/json", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, "POST with a JSON object (echoed back by the server)", "/echo",
       "\"method\":\"POST\",\"data\":{\"from\":\"demo\",\"n\":1}", WXNET_EVENT_SUCCESS, 0);
  step(app, "HTTP/2 via ALPN (enableHttp2; the server answers with the version it saw)",
       "/alpn", "\"enableHttp2\":true", WXNET_EVENT_SUCCESS, 0);
  step(app, "A gzip-encoded body, decoded by wxnet", "/gzip", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, "A chain of 3 redirects, followed", "/redirect/3", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, "A streamed body (enableChunked): one CHUNK_RECEIVED per chunk",
       "/chunked?n=5&size=2000&interval_ms=100", "\"enableChunked\":true", WXNET_EVENT_SUCCESS, 0);
  step(app, "A 404 is still a success for wx.request", "/status/404", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, "A slow request, aborted", "/delay/5000", NULL, WXNET_EVENT_FAIL, 300);
  if (!ex_plain())
    step(app, "A domain that is not in the app's request list", "https://other.wxnet.test/json", NULL,
         WXNET_EVENT_FAIL, 0);

  /* TODO(uploadFile): when wxnet_upload_file lands, upload a file to
   * https://up.wxnet.test/upload here and draw a progress bar from WXNET_EVENT_PROGRESS
   * ({progress, totalBytesSent, totalBytesExpectedToSend}). */
  /* TODO(downloadFile): when wxnet_download_file lands, download /bytes/N from
   * https://cdn.wxnet.test here with the same progress bar, then print tempFilePath. */
  /* TODO(connectSocket): when wxnet_connect_socket lands, open wss://ws.wxnet.test here,
   * send a text and a binary message, and print SOCKET_OPEN / SOCKET_MESSAGE /
   * SOCKET_CLOSE events. */

  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_waiter_destroy(&done);
  printf("\n");
  return ex_finish("demo");
}

/*
 * wxnet demo: wx.request, wx.downloadFile, wx.uploadFile and wx.connectSocket through the
 * shared library in callback mode, one after the other, printing every event the way a
 * mini-program container would see it (demo_print.c: one line per event, a progress bar
 * for transfers). Run it with scripts/demo.sh (starts the local test server with a
 * generated CA).
 */
#include "demo_print.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static ex_waiter done;  /* terminal events so far */
static int last_kind;   /* kind of the last terminal event (read after the waiter) */
static ex_api apis[] = {EX_REQUEST, EX_UPLOAD, EX_DOWNLOAD, EX_SOCKET}; /* task_user_data */
static int echoes;      /* socket messages received */
static long abort_at = -1; /* abort the download in flight once its progress reaches this */

/* The socket's side of the conversation: greet on open, say goodbye after three echoes. */
static void chat(const wxnet_event *ev) {
  static const uint8_t bytes[] = {0x77, 0x78, 0x6e, 0x65, 0x74, 0x00, 0x01, 0x02, 0xfe, 0xff};
  static const char *const texts[] = {"hello from wxnet", "\xe4\xbd\xa0\xe5\xa5\xbd (hello)"};
  if (ev->kind == WXNET_EVENT_SOCKET_OPEN) {
    for (int i = 0; i < 2; i++) {
      printf("  -> send text \"%s\"\n", texts[i]);
      EX_CHECK_STATUS(wxnet_socket_send(ev->task, (const uint8_t *)texts[i], strlen(texts[i]), false), WXNET_OK);
    }
    printf("  -> send arraybuffer, %zu bytes\n", sizeof bytes);
    EX_CHECK_STATUS(wxnet_socket_send(ev->task, bytes, sizeof bytes, true), WXNET_OK);
  } else if (ev->kind == WXNET_EVENT_SOCKET_MESSAGE && ++echoes == 3) {
    printf("  -> close(1000, \"done\")\n");
    EX_CHECK_STATUS(wxnet_socket_close(ev->task, 1000, "done", 4), WXNET_OK);
  }
  fflush(stdout);
}

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  ex_api api = *(const ex_api *)ev->task_user_data;
  demo_print_event(api, ev);
  if (api == EX_SOCKET) chat(ev);
  if (ev->kind == WXNET_EVENT_PROGRESS && abort_at >= 0 && ex_json_num(ev->json, "progress", 0) >= abort_at) {
    demo_note("(DownloadTask.abort() from its onProgressUpdate callback)");
    EX_CHECK_STATUS(wxnet_task_abort(ev->task), WXNET_OK);
    abort_at = -1;
  }
  int terminal = ev->kind == WXNET_EVENT_FAIL ||
                 ev->kind == (api == EX_SOCKET ? WXNET_EVENT_SOCKET_CLOSE : WXNET_EVENT_SUCCESS);
  if (terminal) {
    __atomic_store_n(&last_kind, ev->kind, __ATOMIC_SEQ_CST);
    ex_waiter_add(&done, 1);
  }
}

/* Starts one task, optionally aborts it after `abort_after_ms`, waits for its end. */
static void step(wxnet_app *app, ex_api api, const char *title, const char *path, const char *extra,
                 int want_kind, long abort_after_ms) {
  static int steps;
  wxnet_task_id task = 0;
  char url[512];
  if (path[0] == '/') ex_api_url(api, url, sizeof url, path);
  else snprintf(url, sizeof url, "%s", path);
  printf("\n== %s\n   wx.%s(%s%s%s)\n", title, ex_api_name(api), url, extra ? ", " : "", extra ? extra : "");
  fflush(stdout);
  wxnet_status st = ex_start(app, api, path, extra, &apis[api], &task);
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

/* A 6 MB "photo" in the user data directory (wxfile://usr/demo/photo.jpg). */
static void make_photo(void) {
  const size_t n = 6 * 1000 * 1000;
  char path[4096];
  unsigned char *photo = malloc(n);
  if (photo == NULL) return;
  for (size_t i = 0; i < n; i++) photo[i] = (unsigned char)(i * 31 % 255);
  snprintf(path, sizeof path, "%s/demo", ex_user_dir());
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/demo/photo.jpg", ex_user_dir());
  EX_CHECK(ex_write_file(path, photo, n), "write the file to upload");
  char sha[65];
  ex_sha256_hex(photo, n, sha);
  free(photo);
  printf("\n(wrote a %.1f MB \"photo\" to %s = wxfile://usr/demo/photo.jpg,\n sha256 %s)\n", n / 1e6,
         path, sha);
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

  step(app, EX_REQUEST, "A JSON GET", "/json", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "The same host again: the pooled connection is reused", "/json", NULL,
       WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "POST with a JSON object (echoed back by the server)", "/echo",
       "\"method\":\"POST\",\"data\":{\"from\":\"demo\",\"n\":1}", WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "HTTP/2 via ALPN (enableHttp2; the server answers with the version it saw)",
       "/alpn", "\"enableHttp2\":true", WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "A gzip-encoded body, decoded by wxnet", "/gzip", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "A chain of 3 redirects, followed", "/redirect/3", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "A streamed body (enableChunked): one CHUNK_RECEIVED per chunk",
       "/chunked?n=5&size=2000&interval_ms=100", "\"enableChunked\":true", WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "A 404 is still a success for wx.request", "/status/404", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, EX_REQUEST, "A slow request, aborted", "/delay/5000", NULL, WXNET_EVENT_FAIL, 300);
  if (!ex_plain())
    step(app, EX_REQUEST, "A domain that is not in the app's request list", "https://other.wxnet.test/json",
         NULL, WXNET_EVENT_FAIL, 0);

  step(app, EX_DOWNLOAD, "A 10 MB download to a temp file, at 8 MB/s (progress bar from PROGRESS events)",
       "/bytes/10000000?rate_kbps=8000", NULL, WXNET_EVENT_SUCCESS, 0);
  step(app, EX_DOWNLOAD, "A download into the user data directory (filePath)", "/bytes/200000",
       "\"filePath\":\"wxfile://usr/demo/data.bin\"", WXNET_EVENT_SUCCESS, 0);
  abort_at = 5;
  step(app, EX_DOWNLOAD, "A slow download, aborted at 5% (errno 603105)",
       "/bytes/30000000?rate_kbps=4000", NULL, WXNET_EVENT_FAIL, 0);
  make_photo();
  step(app, EX_UPLOAD, "Upload it as multipart/form-data (the server answers with its size and SHA-256)",
       "/upload", "\"filePath\":\"wxfile://usr/demo/photo.jpg\",\"name\":\"photo\",\"formData\":{\"album\":\"demo\"}",
       WXNET_EVENT_SUCCESS, 0);
  step(app, EX_SOCKET, "A WebSocket echo chat: three messages out, three back, then close", "/ws/echo", NULL,
       WXNET_EVENT_SOCKET_CLOSE, 0);

  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_waiter_destroy(&done);
  printf("\n");
  return ex_finish("demo");
}

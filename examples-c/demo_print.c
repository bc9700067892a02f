/* The demo's event printer; see demo_print.h. Not an example on its own. */
#include "demo_print.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int bar_open; /* a progress bar is on screen, its line not ended yet */
static int chunk_no;

static void end_bar(void) {
  if (bar_open) putchar('\n');
  bar_open = 0;
}

void demo_note(const char *text) {
  end_bar();
  printf("  %s\n", text);
  fflush(stdout);
}

/* `[#########.........]  45%  4.5/10.0 MB`, redrawn on the same line until 100%. */
static void progress_bar(ex_api api, const char *json) {
  int up = api == EX_UPLOAD;
  long pct = ex_json_num(json, "progress", 0);
  double done = (double)ex_json_num(json, up ? "totalBytesSent" : "totalBytesWritten", 0) / 1e6;
  double total = (double)ex_json_num(json, up ? "totalBytesExpectedToSend" : "totalBytesExpectedToWrite", 0) / 1e6;
  char bar[21];
  for (int i = 0; i < 20; i++) bar[i] = i < pct / 5 ? '#' : '.';
  bar[20] = '\0';
  printf("\r  %-16s [%s] %3ld%%  %.1f/%.1f MB", up ? "upload" : "download", bar, pct, done, total);
  bar_open = pct < 100;
  if (!bar_open) putchar('\n');
}

static void preview(const char *what, const uint8_t *data, size_t len) {
  size_t n = len < 72 ? len : 72;
  printf("    %s (%zu bytes): \"", what, len);
  for (size_t i = 0; i < n; i++) putchar(isprint(data[i]) ? data[i] : '.');
  printf("\"%s\n", len > n ? "..." : "");
}

/* A number member that may have a fraction (profile timings). */
static double json_double(const char *json, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(json, pat);
  return p != NULL ? strtod(p + strlen(pat), NULL) : -1;
}

static void hex_preview(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len && i < 16; i++) printf(" %02x", data[i]);
  printf("%s\n", len > 16 ? " ..." : "");
}

static void print_success(ex_api api, const wxnet_event *ev) {
  char err_msg[256] = "", kind[16] = "", proto[16] = "", ip[64] = "", reused[8] = "", path[256] = "";
  ex_json_str(ev->json, "errMsg", err_msg, sizeof err_msg);
  if (api == EX_SOCKET) {
    printf("  %s (the connection is being set up)\n", err_msg);
    return;
  }
  printf("  %s  statusCode %ld", err_msg, ex_json_num(ev->json, "statusCode", -1));
  if (api == EX_DOWNLOAD) {
    char real[4096];
    struct stat st;
    if (!ex_json_str(ev->json, "tempFilePath", path, sizeof path))
      ex_json_str(ev->json, "filePath", path, sizeof path);
    int found = ex_real_path(path, real, sizeof real) && stat(real, &st) == 0;
    printf("\n    saved as %s\n    (on disk: %s, %lld bytes)\n", path, found ? real : "?",
           found ? (long long)st.st_size : -1LL);
    return;
  }
  if (api == EX_REQUEST) {
    ex_json_str(ev->json, "dataKind", kind, sizeof kind);
    ex_json_str(ev->json, "protocol", proto, sizeof proto);
    ex_json_str(ev->json, "peerIP", ip, sizeof ip);
    ex_json_str(ev->json, "socketReused", reused, sizeof reused);
    printf("  dataKind %s\n    profile: protocol %s, peerIP %s, socketReused %s\n", kind, proto, ip, reused);
    preview("body", ev->data, ev->data_len);
    return;
  }
  /* Upload: the test server's answer, {"fields":{...},"files":[{...}]}. */
  const char *data = ev->data_len > 0 ? (const char *)ev->data : "", *files = strstr(data, "\"files\":[");
  char filename[128] = "", type[64] = "", sha[72] = "";
  const char *fields = strstr(data, "\"fields\":");
  const char *fields_end = fields != NULL ? strchr(fields, '}') : NULL;
  if (fields != NULL && fields_end != NULL) printf("\n    server got fields %.*s", (int)(fields_end + 1 - fields - 9), fields + 9);
  if (files != NULL && ex_json_str(files, "filename", filename, sizeof filename)) {
    ex_json_str(files, "contentType", type, sizeof type);
    ex_json_str(files, "sha256", sha, sizeof sha);
    printf("\n    and file \"%s\" (%s), %ld bytes, sha256 %s", filename, type, ex_json_num(files, "size", -1), sha);
  }
  printf("\n");
}

void demo_print_event(ex_api api, const wxnet_event *ev) {
  char text[256] = "", enc[32] = "";
  if (ev->kind == WXNET_EVENT_PROGRESS) {
    progress_bar(api, ev->json);
    fflush(stdout);
    return;
  }
  end_bar();
  printf("  %-16s", ex_kind_name(ev->kind));
  switch (ev->kind) {
    case WXNET_EVENT_HEADERS_RECEIVED:
      chunk_no = 0;
      ex_json_str(ev->json, "content-encoding", enc, sizeof enc);
      printf("  statusCode %ld%s%s\n", ex_json_num(ev->json, "statusCode", -1),
             *enc ? "  content-encoding " : "", enc);
      break;
    case WXNET_EVENT_CHUNK_RECEIVED:
      printf("  chunk #%d: %zu bytes\n", ++chunk_no, ev->data_len);
      break;
    case WXNET_EVENT_SUCCESS:
      print_success(api, ev);
      break;
    case WXNET_EVENT_FAIL:
      ex_json_str(ev->json, "errMsg", text, sizeof text);
      printf("  %s  errno %ld\n", text, ex_json_num(ev->json, "errno", -1));
      break;
    case WXNET_EVENT_SOCKET_OPEN:
      printf("  open (handshake %.1f ms, connect %.1f ms)\n", json_double(ev->json, "handshakeCost"),
             json_double(ev->json, "connectEnd") - json_double(ev->json, "connectStart"));
      break;
    case WXNET_EVENT_SOCKET_MESSAGE:
      if (strstr(ev->json, "\"arraybuffer\"") != NULL) {
        printf("  arraybuffer, %zu bytes:", ev->data_len);
        hex_preview(ev->data, ev->data_len);
      } else {
        printf("  text \"%.*s\"\n", (int)ev->data_len, ev->data_len ? (const char *)ev->data : "");
      }
      break;
    case WXNET_EVENT_SOCKET_ERROR:
      ex_json_str(ev->json, "errMsg", text, sizeof text);
      printf("  %s\n", text);
      break;
    case WXNET_EVENT_SOCKET_CLOSE:
      ex_json_str(ev->json, "reason", text, sizeof text);
      printf("  code %ld, reason \"%s\"\n", ex_json_num(ev->json, "code", -1), text);
      break;
    default:
      printf("  %s\n", ev->json);
  }
  fflush(stdout);
}

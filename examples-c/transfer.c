/*
 * wx.uploadFile and wx.downloadFile in callback mode: a multi-megabyte upload with form
 * fields, checked against the size and SHA-256 the test server computed; downloads to a
 * temp file and to a user file, checked byte for byte on disk through the app's sandbox
 * directories; progress printed as it arrives (the tracker checks it never goes back and
 * ends with exactly one 100); a slow download aborted from its first PROGRESS callback
 * (FAIL errno 603105, and nothing left in tempDir); bad file paths.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ex_tracker tracker;
static const char ABORTED[] = "download (aborted)";
static wxnet_status abort_in_cb = 1; /* 1: not called yet */

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  ex_rec *r = ex_track_event(&tracker, ev);
  if (r == NULL || ev->kind != WXNET_EVENT_PROGRESS) return;
  int up = r->api == EX_UPLOAD;
  printf("  %-20s %3ld%%  %ld/%ld bytes\n", r->name, ex_json_num(ev->json, "progress", -1),
         ex_json_num(ev->json, up ? "totalBytesSent" : "totalBytesWritten", -1),
         ex_json_num(ev->json, up ? "totalBytesExpectedToSend" : "totalBytesExpectedToWrite", -1));
  fflush(stdout);
  /* DownloadTask.abort() from inside its own first onProgressUpdate: re-entrant. */
  if (r->name == ABORTED && abort_in_cb == 1) abort_in_cb = wxnet_task_abort(ev->task);
}

/* Prints the terminal result and checks its kind. */
static int ended(const ex_rec *rec, int kind, const char *err_msg) {
  if (rec == NULL) return 0;
  ex_rec r = ex_track_get(&tracker, rec);
  int ok = r.terminals == 1 && r.kind == kind && strstr(r.json, err_msg) != NULL;
  if (!ok) {
    fprintf(stderr, "  %s: %s %.400s\n", r.name, ex_kind_name(r.kind), r.json);
    ex_fail_at(__FILE__, __LINE__, err_msg);
  }
  return ok;
}

static void sha256_self_test(void) {
  static const struct { const char *in, *hex; } vectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
  char hex[65];
  for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
    ex_sha256_hex(vectors[i].in, strlen(vectors[i].in), hex);
    EX_CHECK(strcmp(hex, vectors[i].hex) == 0, "SHA-256 test vector");
  }
}

/* Reads the file behind a wxfile:// path and checks it is the /bytes pattern, n bytes. */
static void check_download(const char *vpath, size_t n, int remove_after) {
  char real[4096];
  size_t len = 0;
  EX_CHECK(ex_real_path(vpath, real, sizeof real), "the path maps into the sandbox");
  unsigned char *bytes = ex_read_file(real, &len);
  EX_CHECK(bytes != NULL, "the downloaded file exists");
  if (bytes == NULL) return;
  size_t bad = len;
  for (size_t i = 0; i < len && bad == len; i++)
    if (bytes[i] != (unsigned char)(i % 251)) bad = i;
  printf("  %s -> %s: %zu bytes%s\n", vpath, real, len, bad == len ? ", pattern ok" : ", WRONG BYTES");
  EX_CHECK(len == n, "the file has every byte");
  EX_CHECK(bad == len, "the file holds the server's byte pattern");
  free(bytes);
  if (remove_after) EX_CHECK(unlink(real) == 0, "the host can delete the temp file");
}

/* wxfile://tmp_<32 hex>[.ext] */
static int temp_path_ok(const char *v, const char *ext) {
  static const char prefix[] = "wxfile://tmp_";
  if (strncmp(v, prefix, sizeof prefix - 1) != 0) return 0;
  v += sizeof prefix - 1;
  for (int i = 0; i < 32; i++, v++)
    if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'f'))) return 0;
  return ext == NULL || strcmp(v, ext) == 0;
}

static void upload(wxnet_app *app) {
  /* 4 MiB and a bit: a file a user picked, under wxfile://usr/. */
  const size_t n = 4 * 1024 * 1024 + 123;
  unsigned char *content = malloc(n);
  if (content == NULL) { EX_CHECK(0, "malloc"); return; }
  for (size_t i = 0; i < n; i++) content[i] = (unsigned char)((i * 7 + i / 4096) % 253);
  char dir[4096], path[4096], digest[65];
  snprintf(dir, sizeof dir, "%s/album", ex_user_dir());
  snprintf(path, sizeof path, "%s/album/cat.png", ex_user_dir());
  EX_CHECK(mkdir(dir, 0700) == 0 && ex_write_file(path, content, n), "write the file to upload");
  ex_sha256_hex(content, n, digest);
  free(content);
  printf("  uploading %s (%zu bytes, sha256 %.16s...)\n", path, n, digest);

  ex_rec *up = ex_track_start(
      &tracker, app, EX_UPLOAD, "upload", "/upload",
      "\"filePath\":\"wxfile://usr/album/cat.png\",\"name\":\"file\","
      "\"formData\":{\"album\":\"holiday\",\"user\":\"\\u5f20\\u4e09\",\"n\":5}");
  EX_CHECK(ex_track_wait(&tracker, 1, 60000), "the upload ended");
  if (!ended(up, WXNET_EVENT_SUCCESS, "\"errMsg\":\"uploadFile:ok\"")) return;
  ex_rec r = ex_track_get(&tracker, up);
  printf("  server: %.300s\n", r.data);
  EX_CHECK(r.status_code == 200 && r.headers == 1, "200, one HEADERS_RECEIVED");
  EX_CHECK(strstr(r.json, "\"profile\":{") != NULL && strstr(r.json, "\"data\":") == NULL,
           "the success res has a profile, the response text is in data");
  EX_CHECK(r.expected_bytes > (long long)n, "the multipart body is bigger than the file");
  const char *fields = strstr(r.data, "\"fields\":{"), *files = strstr(r.data, "\"files\":[{");
  EX_CHECK(fields != NULL && files != NULL, "the server saw fields and a file");
  if (fields == NULL || files == NULL) return;
  char v[128];
  EX_CHECK(ex_json_str(fields, "album", v, sizeof v) && strcmp(v, "holiday") == 0, "formData.album");
  EX_CHECK(ex_json_str(fields, "user", v, sizeof v) && strcmp(v, "\xe5\xbc\xa0\xe4\xb8\x89") == 0,
           "formData.user arrives as UTF-8");
  EX_CHECK(ex_json_str(fields, "n", v, sizeof v) && strcmp(v, "5") == 0, "formData.n is sent as text");
  EX_CHECK(ex_json_str(files, "name", v, sizeof v) && strcmp(v, "file") == 0, "the part's name");
  EX_CHECK(ex_json_str(files, "filename", v, sizeof v) && strcmp(v, "cat.png") == 0, "the filename");
  EX_CHECK(ex_json_str(files, "contentType", v, sizeof v) && strcmp(v, "image/png") == 0, "its type");
  EX_CHECK(ex_json_num(files, "size", -1) == (long)n, "the server received every byte");
  EX_CHECK(ex_json_str(files, "sha256", v, sizeof v) && strcmp(v, digest) == 0,
           "the server's SHA-256 is the file's");
}

static void downloads(wxnet_app *app) {
  const size_t n = 3 * 1000 * 1000 + 7;
  char path[64], slowed[96];
  snprintf(path, sizeof path, "/bytes/%zu", n);
  snprintf(slowed, sizeof slowed, "%s?rate_kbps=6000", path); /* ~0.5 s: a dozen PROGRESS events */
  ex_rec *tmp = ex_track_start(&tracker, app, EX_DOWNLOAD, "download (temp)", slowed, NULL);
  ex_rec *png = ex_track_start(&tracker, app, EX_DOWNLOAD, "download (png)", "/bytes/1000?ext=.png", NULL);
  ex_rec *usr = ex_track_start(&tracker, app, EX_DOWNLOAD, "download (usr)", path,
                               "\"filePath\":\"wxfile://usr/downloads/data.bin\"");
  /* Without Content-Length the total is unknown: progress stays 0 until the 100. */
  ex_rec *unsized = ex_track_start(&tracker, app, EX_DOWNLOAD, "download (no length)",
                                   "/bytes/500000?no_length=1&rate_kbps=2000", NULL);
  EX_CHECK(ex_track_wait(&tracker, 5, 60000), "the downloads ended");
  char v[256];
  if (ended(tmp, WXNET_EVENT_SUCCESS, "\"errMsg\":\"downloadFile:ok\"")) {
    ex_rec r = ex_track_get(&tracker, tmp);
    EX_CHECK(r.status_code == 200 && r.headers == 1, "200, one HEADERS_RECEIVED");
    EX_CHECK(r.expected_bytes == (long long)n, "totalBytesExpectedToWrite is the Content-Length");
    EX_CHECK(ex_json_str(r.json, "tempFilePath", v, sizeof v) && temp_path_ok(v, ""),
             "tempFilePath is wxfile://tmp_<32 hex> (no extension for octet-stream)");
    EX_CHECK(strstr(r.json, "\"filePath\"") == NULL, "no filePath without the option");
    check_download(v, n, 1);
  }
  if (ended(png, WXNET_EVENT_SUCCESS, "\"errMsg\":\"downloadFile:ok\"")) {
    ex_rec r = ex_track_get(&tracker, png);
    EX_CHECK(ex_json_str(r.json, "tempFilePath", v, sizeof v) && temp_path_ok(v, ".png"),
             "an image/png body gets a .png temp file");
    check_download(v, 1000, 1);
  }
  if (ended(usr, WXNET_EVENT_SUCCESS, "\"errMsg\":\"downloadFile:ok\"")) {
    ex_rec r = ex_track_get(&tracker, usr);
    EX_CHECK(ex_json_str(r.json, "filePath", v, sizeof v) && strcmp(v, "wxfile://usr/downloads/data.bin") == 0,
             "filePath is the one asked for");
    EX_CHECK(strstr(r.json, "tempFilePath") == NULL, "no tempFilePath with filePath");
    check_download(v, n, 0);
    char dir[4096], first[256];
    snprintf(dir, sizeof dir, "%s/downloads", ex_user_dir());
    EX_CHECK(ex_dir_entries(dir, first, sizeof first) == 1 && strcmp(first, "data.bin") == 0,
             "the user directory holds the file and no .part");
  }
  if (ended(unsized, WXNET_EVENT_SUCCESS, "\"errMsg\":\"downloadFile:ok\"")) {
    ex_rec r = ex_track_get(&tracker, unsized);
    EX_CHECK(r.expected_bytes == 500000, "the final PROGRESS gives the size once it is known");
    EX_CHECK(ex_json_str(r.json, "tempFilePath", v, sizeof v) && temp_path_ok(v, ""), "tempFilePath");
    check_download(v, 500000, 1);
  }
  char first[256] = "";
  int left = ex_dir_entries(ex_temp_dir(), first, sizeof first);
  EX_CHECK(left == 0, "tempDir is empty once the host deleted its temp files (no .part left)");
  if (left != 0) fprintf(stderr, "  tempDir: %d entries, e.g. %s\n", left, first);
}

static void bad_paths(wxnet_app *app) {
  ex_rec *missing = ex_track_start(&tracker, app, EX_UPLOAD, "upload (missing file)", "/upload",
                                   "\"filePath\":\"wxfile://usr/nope.bin\",\"name\":\"file\"");
  ex_rec *escape = ex_track_start(&tracker, app, EX_DOWNLOAD, "download (escaping path)", "/bytes/10",
                                  "\"filePath\":\"wxfile://usr/../escape.bin\"");
  EX_CHECK(ex_track_wait(&tracker, 7, 30000), "both ended");
  ended(missing, WXNET_EVENT_FAIL, "\"errMsg\":\"uploadFile:fail");
  if (ended(escape, WXNET_EVENT_FAIL, "\"errMsg\":\"downloadFile:fail"))
    EX_CHECK(ex_track_get(&tracker, escape).err_no == 603303, "a path leaving the sandbox: errno 603303");
}

static void aborted(wxnet_app *app) {
  /* 30 MB at 2000 KiB/s would take 15 s: abort it at its first PROGRESS event. */
  long t0 = ex_now_ms();
  ex_rec *slow = ex_track_start(&tracker, app, EX_DOWNLOAD, ABORTED, "/bytes/30000000?rate_kbps=2000", NULL);
  EX_CHECK(ex_track_wait(&tracker, 8, 10000), "the aborted download ended");
  /* Look at once, as a host reacting to the FAIL would. */
  char first[256] = "";
  int at_fail = ex_dir_entries(ex_temp_dir(), first, sizeof first);
  long t_fail = ex_now_ms();
  EX_CHECK_STATUS(abort_in_cb, WXNET_OK);
  if (!ended(slow, WXNET_EVENT_FAIL, "\"errMsg\":\"downloadFile:fail abort\"")) return;
  ex_rec r = ex_track_get(&tracker, slow);
  printf("  aborted after %ld ms at %ld%% (%lld bytes)\n", t_fail - t0, r.last_progress, r.last_bytes);
  EX_CHECK(r.err_no == 603105, "an aborted download fails with errno 603105");
  EX_CHECK(r.headers == 1 && r.progresses >= 1 && r.hundreds == 0, "headers, progress below 100");
  /* The .part file is removed before the FAIL is queued: nothing may be left when it arrives. */
  int left = at_fail;
  EX_CHECK(left == 0, "no partial file is left in tempDir when the abort's FAIL arrives");
  if (left != 0) fprintf(stderr, "  tempDir holds %s\n", first);
  EX_CHECK_STATUS(wxnet_task_abort(slow->id), WXNET_OK); /* ended: nothing happens */
}

int main(void) {
  ex_tracker_init(&tracker);
  sha256_self_test();
  char *config = ex_config(NULL);
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return ex_finish("transfer");
  printf("  tempDir %s, userDataDir %s\n", ex_temp_dir(), ex_user_dir());

  upload(app);
  downloads(app);
  bad_paths(app);
  aborted(app);

  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  return ex_finish("transfer");
}

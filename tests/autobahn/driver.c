/*
 * Autobahn WebSocket client conformance driver for wxnet, through the C ABI only.
 *
 * Talks to an Autobahn fuzzing server (kosoku in fuzzingserver mode) the way
 * Autobahn's client mode expects:
 *   1. ws://HOST:PORT/getCaseCount                  -> one text message: the case count N
 *   2. ws://HOST:PORT/runCase?case=i&agent=AGENT    for i = 1..N, one after the other,
 *      echoing every message back as the same kind (text -> text, arraybuffer -> binary)
 *      until the socket's SOCKET_CLOSE
 *   3. ws://HOST:PORT/updateReports?agent=AGENT     -> the server writes its reports
 *
 * Every socket is a wxnet_connect_socket task of one poll-mode app (urlCheck off: ws://
 * to 127.0.0.1 is development mode). A case that does not end within --case-timeout
 * seconds is closed with wxnet_socket_close, then aborted, so a hang cannot stall the
 * run; it is reported and makes the exit status 1.
 *
 * Usage: autobahn-driver [options] HOST:PORT
 *   --agent NAME         agent name reported to the server (default: wxnet)
 *   --case-timeout SEC   per-case limit (default: 60)
 *   --cases A-B          run only case indices A..B (1-based; default: all)
 *   --count-file PATH    write the number of cases run to PATH
 *   --deflate            open every socket with perMessageDeflate: true (RFC 7692)
 *   --verbose            one line per case (default: anomalies and progress only)
 *
 * Exit status: 0 when every case reached its SOCKET_CLOSE in time (the verdicts are
 * judged from the server's report by check_report.py, not here), 1 otherwise, 2 on
 * usage errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wxnet.h"

static bool verbose = false;
static bool deflate = false; /* perMessageDeflate: true on every socket */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("autobahn-driver: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* The string value of "key" in a flat JSON object as wxnet emits it (no whitespace
 * around ':'), with JSON escapes other than \" and \\ kept verbatim. Good enough for
 * errMsg/reason diagnostics. */
static void json_str(const char *json, const char *key, char *out, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  out[0] = '\0';
  const char *p = strstr(json, pat);
  if (p == NULL) return;
  p += strlen(pat);
  size_t n = 0;
  while (*p != '\0' && *p != '"' && n + 1 < cap) {
    if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
    out[n++] = *p++;
  }
  out[n] = '\0';
}

static long json_int(const char *json, const char *key, long fallback) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(json, pat);
  if (p == NULL) return fallback;
  char *end = NULL;
  errno = 0;
  long v = strtol(p + strlen(pat), &end, 10);
  if (errno != 0 || end == p + strlen(pat)) return fallback;
  return v;
}

typedef struct {
  /* inputs */
  bool echo;    /* echo every message back */
  bool capture; /* keep the first text message */
  double timeout_s;
  /* outputs */
  wxnet_task_id task;
  bool opened;
  bool closed;    /* SOCKET_CLOSE (or the terminal FAIL) seen */
  bool failed;    /* connectSocket answered FAIL */
  bool timed_out; /* we had to close it ourselves */
  bool hung;      /* not even close/abort ended it */
  long close_code;
  char close_reason[160];
  char error[256]; /* first SOCKET_ERROR / FAIL errMsg */
  unsigned long messages;
  unsigned long send_errors; /* sends refused with something other than INVALID_STATE */
  char *captured;
  double seconds;
} sock_run;

static void handle_event(sock_run *r, const wxnet_event *ev) {
  switch (ev->kind) {
    case WXNET_EVENT_SUCCESS:
      break;
    case WXNET_EVENT_FAIL:
      r->failed = true;
      r->closed = true;
      json_str(ev->json, "errMsg", r->error, sizeof r->error);
      break;
    case WXNET_EVENT_SOCKET_OPEN:
      r->opened = true;
      break;
    case WXNET_EVENT_SOCKET_MESSAGE: {
      r->messages++;
      bool binary = strstr(ev->json, "\"dataKind\":\"arraybuffer\"") != NULL;
      if (r->capture && r->captured == NULL && !binary) {
        r->captured = malloc(ev->data_len + 1);
        if (r->captured == NULL) die("out of memory");
        if (ev->data_len > 0) memcpy(r->captured, ev->data, ev->data_len);
        r->captured[ev->data_len] = '\0';
      }
      if (r->echo) {
        wxnet_status st = wxnet_socket_send(r->task, ev->data, ev->data_len, binary);
        /* INVALID_STATE: the socket is already closing (e.g. the server sent its close
         * right behind this message); that is normal. Anything else is a driver or
         * library problem worth reporting. */
        if (st != WXNET_OK && st != WXNET_E_INVALID_STATE) {
          if (r->send_errors++ == 0)
            fprintf(stderr, "autobahn-driver: task %llu: send failed: %s (%s)\n",
                    (unsigned long long)r->task, wxnet_status_str(st), wxnet_last_error());
        }
      }
      break;
    }
    case WXNET_EVENT_SOCKET_ERROR:
      if (r->error[0] == '\0') json_str(ev->json, "errMsg", r->error, sizeof r->error);
      break;
    case WXNET_EVENT_SOCKET_CLOSE:
      r->closed = true;
      r->close_code = json_int(ev->json, "code", -1);
      json_str(ev->json, "reason", r->close_reason, sizeof r->close_reason);
      break;
    default:
      break;
  }
}

/* Opens ws://authority/path and pumps events until its terminal event or the limit. */
static void run_socket(wxnet_app *app, const char *authority, const char *path, sock_run *r) {
  char opts[512];
  snprintf(opts, sizeof opts, "{\"url\":\"ws://%s%s\",\"perMessageDeflate\":%s}", authority,
           path, deflate ? "true" : "false");
  double start = now_s();
  wxnet_status st = wxnet_connect_socket(app, opts, strlen(opts), NULL, &r->task);
  if (st != WXNET_OK)
    die("wxnet_connect_socket(%s): %s (%s)", path, wxnet_status_str(st), wxnet_last_error());

  /* Stage 0: waiting for the case to end by itself; 1: we closed it; 2: we aborted it. */
  int stage = 0;
  double deadline = start + r->timeout_s;
  while (!r->closed) {
    wxnet_event *ev = NULL;
    st = wxnet_app_poll(app, 100, &ev);
    if (st != WXNET_OK) die("wxnet_app_poll: %s (%s)", wxnet_status_str(st), wxnet_last_error());
    if (ev != NULL) {
      /* Events of an earlier socket that timed out and hung are dropped. */
      if (ev->task == r->task) handle_event(r, ev);
      wxnet_event_free(ev);
      continue;
    }
    if (now_s() < deadline) continue;
    if (stage == 0) {
      r->timed_out = true;
      fprintf(stderr, "autobahn-driver: %s: no SOCKET_CLOSE after %.0f s, closing it\n", path,
              r->timeout_s);
      wxnet_socket_close(r->task, 1000, NULL, 0);
      deadline = now_s() + 10.0;
      stage = 1;
    } else if (stage == 1) {
      fprintf(stderr, "autobahn-driver: %s: still open 10 s after close, aborting it\n", path);
      wxnet_task_abort(r->task);
      deadline = now_s() + 10.0;
      stage = 2;
    } else {
      fprintf(stderr, "autobahn-driver: %s: no SOCKET_CLOSE even after abort, giving up on it\n",
              path);
      r->hung = true;
      break;
    }
  }
  r->seconds = now_s() - start;
}

static void usage(void) {
  fputs("usage: autobahn-driver [--agent NAME] [--case-timeout SEC] [--cases A-B]\n"
        "                       [--count-file PATH] [--deflate] [--verbose] HOST:PORT\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *agent = "wxnet";
  const char *authority = NULL;
  const char *count_file = NULL;
  double case_timeout = 60.0;
  long first = 1, last = -1;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--agent") == 0 && i + 1 < argc) {
      agent = argv[++i];
    } else if (strcmp(a, "--case-timeout") == 0 && i + 1 < argc) {
      case_timeout = atof(argv[++i]);
      if (case_timeout <= 0) usage();
    } else if (strcmp(a, "--cases") == 0 && i + 1 < argc) {
      if (sscanf(argv[++i], "%ld-%ld", &first, &last) != 2 || first < 1 || last < first) usage();
    } else if (strcmp(a, "--count-file") == 0 && i + 1 < argc) {
      count_file = argv[++i];
    } else if (strcmp(a, "--deflate") == 0) {
      deflate = true;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      verbose = true;
    } else if (a[0] == '-' || authority != NULL) {
      usage();
    } else {
      authority = a;
    }
  }
  if (authority == NULL) usage();
  for (const char *c = agent; *c != '\0'; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '-' || *c == '_' || *c == '.'))
      die("--agent: use letters, digits, '-', '_' or '.'");

  printf("autobahn-driver: wxnet %s (C ABI %d), server ws://%s, agent %s\n", wxnet_version(),
         WXNET_ABI_VERSION, authority, agent);

  /* Poll mode; urlCheck off so ws:// to 127.0.0.1 is allowed (development mode). */
  static const char config[] = "{\"appId\":\"wxautobahn0000000\",\"urlCheck\":false}";
  wxnet_app *app = NULL;
  wxnet_status st = wxnet_app_new(config, strlen(config), NULL, NULL, &app);
  if (st != WXNET_OK) die("wxnet_app_new: %s (%s)", wxnet_status_str(st), wxnet_last_error());

  char path[256];
  sock_run count = {.capture = true, .timeout_s = 30.0};
  run_socket(app, authority, "/getCaseCount", &count);
  if (count.captured == NULL)
    die("getCaseCount: no case count received (close %ld, error '%s')", count.close_code,
        count.error);
  char *end = NULL;
  long n = strtol(count.captured, &end, 10);
  if (end == count.captured || n < 1) die("getCaseCount: unexpected answer '%s'", count.captured);
  free(count.captured);
  if (last < 0 || last > n) last = n;
  if (first > last) die("--cases: the server has only %ld cases", n);
  printf("autobahn-driver: the server has %ld cases; running %ld..%ld\n", n, first, last);
  if (count_file != NULL) {
    FILE *f = fopen(count_file, "w");
    if (f == NULL) die("cannot write %s", count_file);
    fprintf(f, "%ld\n", last - first + 1);
    fclose(f);
  }

  int bad = 0;
  double t0 = now_s();
  for (long i = first; i <= last; i++) {
    snprintf(path, sizeof path, "/runCase?case=%ld&agent=%s", i, agent);
    sock_run r = {.echo = true, .timeout_s = case_timeout};
    run_socket(app, authority, path, &r);
    bool anomaly = r.timed_out || r.hung || r.failed || r.send_errors > 0 || !r.opened;
    if (anomaly) bad++;
    if (verbose || anomaly)
      printf("case %ld: %s close %ld \"%s\" after %.3f s, %lu messages echoed%s%s%s\n", i,
             r.failed ? "connectSocket FAIL," : (r.opened ? "" : "never opened,"), r.close_code,
             r.close_reason, r.seconds, r.messages, r.timed_out ? ", TIMED OUT" : "",
             r.error[0] ? ", error: " : "", r.error);
    else if ((i - first + 1) % 50 == 0)
      printf("autobahn-driver: %ld/%ld cases done (%.1f s)\n", i - first + 1, last - first + 1,
             now_s() - t0);
    fflush(stdout);
  }
  printf("autobahn-driver: ran %ld cases in %.1f s, %d with driver-level anomalies\n",
         last - first + 1, now_s() - t0, bad);

  snprintf(path, sizeof path, "/updateReports?agent=%s", agent);
  sock_run upd = {.timeout_s = 60.0};
  run_socket(app, authority, path, &upd);
  if (!upd.opened || upd.timed_out) {
    fprintf(stderr, "autobahn-driver: updateReports did not complete (close %ld, error '%s')\n",
            upd.close_code, upd.error);
    bad++;
  }

  st = wxnet_app_free(app);
  if (st != WXNET_OK) die("wxnet_app_free: %s", wxnet_status_str(st));
  return bad == 0 ? 0 : 1;
}

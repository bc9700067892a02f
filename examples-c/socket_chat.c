/*
 * wx.connectSocket / SocketTask in callback mode: an echo chat. The tracker knows that a
 * socket's SUCCESS (connectSocket:ok) is not terminal and that exactly one SOCKET_CLOSE
 * (or a FAIL instead of the SUCCESS) ends it.
 *   - chat (/ws/echo): sends text, UTF-8, empty and binary messages from its OPEN callback
 *     and one more from inside a MESSAGE callback; they come back in order, same dataKind,
 *     same bytes; bad close codes and reasons are WXNET_E_INVALID_ARGUMENT; closed with
 *     4000 "bye", it ends with CLOSE {4000, "bye"}; send after close is WXNET_E_INVALID_STATE.
 *   - /ws/server-close: the server's code and reason are reported.
 *   - a socket whose handshake never completes (/hang): send before open is
 *     WXNET_E_INVALID_STATE; closed before it opens, it gets exactly one CLOSE, no OPEN.
 *   - /ws/flood?n=1000: 1000 messages in order, closed from inside the last MESSAGE callback.
 *   - a socket URL that is not in the app's socket domain list: FAIL (terminal), errno 600002.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* Records are told apart by their name pointers, which are set before the task starts. */
static const char CHAT[] = "chat", FLOOD[] = "flood";

typedef struct { int binary; size_t len; const char *data; } msg;
#define N_OPEN_MSGS 4
static uint8_t blob[300]; /* binary message: every byte value, zeros included */
static msg chat_msgs[] = {
    {0, 5, "hello"},
    {0, 13, "\xe4\xbd\xa0\xe5\xa5\xbd, wxnet!"}, /* UTF-8 text */
    {0, 0, ""},                                   /* an empty text message */
    {1, sizeof blob, (const char *)blob},
    {0, 30, "sent from the MESSAGE callback"}, /* re-entrant send, on the binary echo */
    {0, 24, "sent after bad close()es"},
};
#define N_CHAT_MSGS (sizeof chat_msgs / sizeof *chat_msgs)

typedef struct { int binary; size_t len; uint8_t data[512]; } got_msg;
static got_msg got[16];
static int n_got;                         /* chat messages received (dispatcher thread) */
static wxnet_status open_sends[N_OPEN_MSGS], cb_send = 1;
static long flood_next, flood_bad;         /* flood: next expected number, wrong ones */
static wxnet_status flood_close = 1;

static ex_tracker tracker;
static ex_waiter chat_w; /* count = chat messages received */

static void on_event(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  ex_rec *r = ex_track_event(&tracker, ev);
  if (r == NULL) return;
  int binary = strstr(ev->json, "\"dataKind\":\"arraybuffer\"") != NULL;
  if (ev->kind == WXNET_EVENT_SOCKET_OPEN)
    EX_CHECK(strstr(ev->json, "\"header\":{") && strstr(ev->json, "\"sec-websocket-accept\"") &&
             strstr(ev->json, "\"profile\":{") && strstr(ev->json, "\"handshakeCost\":"),
             "OPEN carries the 101's header and the socket profile");
  if (r->name == CHAT && ev->kind == WXNET_EVENT_SOCKET_OPEN) {
    /* onOpen: the socket is open now, send from right here. */
    for (int i = 0; i < N_OPEN_MSGS; i++)
      open_sends[i] = wxnet_socket_send(ev->task, (const uint8_t *)chat_msgs[i].data, chat_msgs[i].len,
                                        chat_msgs[i].binary);
  }
  if (r->name == CHAT && ev->kind == WXNET_EVENT_SOCKET_MESSAGE) {
    if (n_got < (int)(sizeof got / sizeof *got)) {
      got_msg *g = &got[n_got];
      g->binary = binary;
      g->len = ev->data_len;
      memcpy(g->data, ev->data, ev->data_len < sizeof g->data ? ev->data_len : sizeof g->data);
    }
    if (++n_got == N_OPEN_MSGS) /* the binary echo: answer it from inside this callback */
      cb_send = wxnet_socket_send(ev->task, (const uint8_t *)chat_msgs[4].data, chat_msgs[4].len, false);
    ex_waiter_add(&chat_w, 1);
  }
  if (r->name == FLOOD && ev->kind == WXNET_EVENT_SOCKET_MESSAGE) {
    char want[16];
    int n = snprintf(want, sizeof want, "%ld", flood_next++);
    if (binary || ev->data_len != (size_t)n || memcmp(ev->data, want, (size_t)n) != 0) flood_bad++;
    if (flood_next == 1000) flood_close = wxnet_socket_close(ev->task, 3001, "enough", 6);
  }
}

/* The socket's CLOSE: {code, reason}. */
static void expect_close(const ex_rec *rec, long code, const char *reason) {
  if (rec == NULL) return;
  ex_rec r = ex_track_get(&tracker, rec);
  char got_reason[128] = "";
  ex_json_str(r.json, "reason", got_reason, sizeof got_reason);
  printf("  %s: %s code %ld reason \"%s\" after %d message(s)\n", r.name, ex_kind_name(r.kind),
         r.close_code, got_reason, r.messages);
  if (r.kind != WXNET_EVENT_SOCKET_CLOSE || r.close_code != code || strcmp(got_reason, reason) != 0) {
    fprintf(stderr, "  %s: want CLOSE {%ld, \"%s\"}, got %s %s\n", r.name, code, reason,
            ex_kind_name(r.kind), r.json);
    ex_fail_at(__FILE__, __LINE__, "the socket's CLOSE code and reason");
  }
  EX_CHECK(r.oks == 1, "connectSocket:ok came first");
}

static void bad_closes(wxnet_task_id task) {
  static const int codes[] = {-1, 1, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535};
  char long_reason[125];
  memset(long_reason, 'r', sizeof long_reason);
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
    EX_CHECK_STATUS(wxnet_socket_close(task, codes[i], "x", 1), WXNET_E_INVALID_ARGUMENT);
  EX_CHECK_STATUS(wxnet_socket_close(task, 1000, long_reason, 124), WXNET_E_INVALID_ARGUMENT);
  EX_CHECK_STATUS(wxnet_socket_close(task, 1000, "\xff", 1), WXNET_E_INVALID_ARGUMENT);
  EX_CHECK_STATUS(wxnet_socket_close(task, 1000, NULL, 3), WXNET_E_NULL_ARGUMENT);
}

static void chat(wxnet_app *app) {
  ex_rec *rec = ex_track_start(&tracker, app, EX_SOCKET, CHAT, "/ws/echo", NULL);
  if (rec == NULL) return;
  EX_CHECK(ex_waiter_wait(&chat_w, N_OPEN_MSGS + 1, 15000), "the chat messages came back");
  for (int i = 0; i < N_OPEN_MSGS; i++) EX_CHECK_STATUS(open_sends[i], WXNET_OK);
  EX_CHECK_STATUS(cb_send, WXNET_OK);

  /* Open: bad close arguments are refused and leave the socket open; bad text too. */
  bad_closes(rec->id);
  EX_CHECK_STATUS(wxnet_socket_send(rec->id, (const uint8_t *)"\xff\xfe", 2, false), WXNET_E_INVALID_ARGUMENT);
  EX_CHECK_STATUS(wxnet_socket_send(rec->id, NULL, 2, true), WXNET_E_NULL_ARGUMENT);
  const msg *last = &chat_msgs[N_CHAT_MSGS - 1];
  EX_CHECK_STATUS(wxnet_socket_send(rec->id, (const uint8_t *)last->data, last->len, false), WXNET_OK);
  EX_CHECK(ex_waiter_wait(&chat_w, N_CHAT_MSGS, 15000), "the socket still works after bad calls");

  EX_CHECK_STATUS(wxnet_socket_close(rec->id, 4000, "bye", 3), WXNET_OK);
  EX_CHECK_STATUS(wxnet_socket_send(rec->id, (const uint8_t *)"late", 4, false), WXNET_E_INVALID_STATE);
  EX_CHECK_STATUS(wxnet_socket_close(rec->id, 4000, "bye", 3), WXNET_OK); /* a second close: no-op */
  EX_CHECK(ex_track_wait(&tracker, 1, 15000), "the chat socket closed");
  expect_close(rec, 4000, "bye");
  ex_rec r = ex_track_get(&tracker, rec);
  EX_CHECK(r.opens == 1 && r.socket_errors == 0, "one OPEN, no ERROR");

  /* Every message came back in order, as the same kind, byte for byte. */
  EX_CHECK(n_got == (int)N_CHAT_MSGS && r.messages == (int)N_CHAT_MSGS, "as many echoes as messages");
  for (int i = 0; i < n_got && i < (int)N_CHAT_MSGS; i++) {
    const msg *m = &chat_msgs[i];
    int same = got[i].binary == m->binary && got[i].len == m->len && memcmp(got[i].data, m->data, m->len) == 0;
    printf("  echo %d: %-11s %3zu bytes %s\n", i, got[i].binary ? "arraybuffer" : "text", got[i].len,
           same ? "ok" : "DIFFERENT");
    EX_CHECK(same, "the echo is the message sent, in order, with the same dataKind");
  }
  /* Ended: send is refused, close and abort are no-ops. */
  EX_CHECK_STATUS(wxnet_socket_send(rec->id, (const uint8_t *)"x", 1, false), WXNET_E_INVALID_STATE);
  EX_CHECK_STATUS(wxnet_socket_close(rec->id, 1000, NULL, 0), WXNET_OK);
  EX_CHECK_STATUS(wxnet_task_abort(rec->id), WXNET_OK);
}

int main(void) {
  ex_tracker_init(&tracker);
  ex_waiter_init(&chat_w);
  for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 7 + 1); /* all 256 values */
  blob[0] = 0;
  char *config = ex_config(NULL);
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_event, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return ex_finish("socket_chat");

  /* Misuse with ids that are no socket. */
  EX_CHECK_STATUS(wxnet_socket_send(0, (const uint8_t *)"x", 1, false), WXNET_E_UNKNOWN_TASK);
  EX_CHECK_STATUS(wxnet_socket_close(1ULL << 62, 1000, NULL, 0), WXNET_E_UNKNOWN_TASK);

  /* 1. The echo chat. */
  chat(app);

  /* 2. The server closes with its own code and reason. */
  ex_rec *server = ex_track_start(&tracker, app, EX_SOCKET, "server-close",
                                  "/ws/server-close?code=4001&reason=bye&after_ms=50", NULL);
  EX_CHECK(ex_track_wait(&tracker, 2, 15000), "the server closed the socket");
  expect_close(server, 4001, "bye");
  if (server) EX_CHECK(ex_track_get(&tracker, server).opens == 1, "it was open first");

  /* 3. Closed before it opens: the server never answers the upgrade request. */
  ex_rec *never = ex_track_start(&tracker, app, EX_SOCKET, "closed before open", "/hang", NULL);
  if (never) {
    EX_CHECK_STATUS(wxnet_socket_send(never->id, (const uint8_t *)"early", 5, false), WXNET_E_INVALID_STATE);
    bad_closes(never->id);
    EX_CHECK_STATUS(wxnet_socket_close(never->id, 4002, "never mind", 10), WXNET_OK);
    EX_CHECK_STATUS(wxnet_socket_close(never->id, 4003, "again", 5), WXNET_OK); /* no-op */
    EX_CHECK_STATUS(wxnet_socket_send(never->id, (const uint8_t *)"late", 4, false), WXNET_E_INVALID_STATE);
  }
  EX_CHECK(ex_track_wait(&tracker, 3, 15000), "the never-opened socket closed");
  expect_close(never, 4002, "never mind");
  if (never) {
    ex_rec r = ex_track_get(&tracker, never);
    EX_CHECK(r.opens == 0 && r.messages == 0, "no OPEN, no MESSAGE");
  }

  /* 4. A flood of 1000 messages, closed from inside the last MESSAGE callback. */
  ex_rec *flood = ex_track_start(&tracker, app, EX_SOCKET, FLOOD, "/ws/flood?n=1000", NULL);
  EX_CHECK(ex_track_wait(&tracker, 4, 60000), "the flood socket closed");
  EX_CHECK_STATUS(flood_close, WXNET_OK);
  expect_close(flood, 3001, "enough");
  EX_CHECK(flood_next == 1000 && flood_bad == 0, "messages \"0\"..\"999\" in order, as text");

  /* 5. Policy: an unlisted host is refused with a FAIL (terminal, no CLOSE). In plain mode
   * (urlCheck off) a strict app enforces the list; the check never opens a connection. */
  wxnet_app *strict = app;
  if (ex_plain()) {
    static const char cfg[] = "{\"appId\":\"wxstrict\",\"domains\":{\"socket\":[\"wss://ws.wxnet.test\"]}}";
    EX_CHECK_STATUS(wxnet_app_new(cfg, strlen(cfg), on_event, NULL, &strict), WXNET_OK);
  }
  ex_rec *unlisted = strict ? ex_track_start(&tracker, strict, EX_SOCKET, "unlisted host",
                                             "wss://other.wxnet.test/ws/echo", NULL) : NULL;
  if (unlisted) {
    EX_CHECK(ex_track_wait(&tracker, 5, 15000), "the refused socket ended");
    ex_rec r = ex_track_get(&tracker, unlisted);
    printf("  %s: %s %s\n", r.name, ex_kind_name(r.kind), r.json);
    EX_CHECK(r.kind == WXNET_EVENT_FAIL && r.err_no == 600002 && r.oks == 0 &&
             strstr(r.json, "\"errMsg\":\"connectSocket:fail") != NULL,
             "an unlisted socket host: FAIL connectSocket:fail, errno 600002");
  }
  if (strict != app) EX_CHECK_STATUS(wxnet_app_free(strict), WXNET_OK);

  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  ex_track_verify(&tracker);
  ex_tracker_free(&tracker);
  ex_waiter_destroy(&chat_w);
  return ex_finish("socket_chat");
}

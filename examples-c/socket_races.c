/*
 * Races at the two edges of a socket's life, in callback mode, with the callbacks' thread
 * favoured by the scheduler (see favour_callbacks below):
 *   - close from inside the connectSocket:ok callback: WXNET_OK every time (the socket's
 *     control is stored before its SUCCESS is queued). WXNET_RACE_SOCKETS sockets
 *     (default 400) started back to back, maxSockets as many.
 *   - reconnect from inside onClose while 4 other sockets are open (maxSockets 5): admitted
 *     every time (a socket's slot is free before its CLOSE is queued), WXNET_RACE_ROUNDS
 *     rounds (default 200).
 * Both run over TLS and plain HTTP like every example. On tree 9322a95, which queued the
 * events first, 337 and 313 of 400 closes were refused (WXNET_E_INVALID_STATE) and a
 * reconnect within 200 rounds got "exceed max task count", over TLS and plain alike.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "common.h"

#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* WXNET_RACE_* if set, else `fallback`, a quarter of it under valgrind or qemu (scaled waits). */
static long env_count(const char *name, long fallback) {
  const char *v = getenv(name);
  long n = v != NULL ? strtol(v, NULL, 10) : 0;
  if (n > 0) return n;
  return ex_scaled(1) > 1 ? fallback / 4 : fallback;
}

/* A busy phone core, where the thread that runs the callbacks has priority over the others:
 * every thread of the process (the library's included, and every thread they start later)
 * is pinned to the first CPU this process may use, and the app's dispatcher thread raises
 * itself to SCHED_FIFO in its first callback. A woken dispatcher then runs before the
 * thread that queued its event goes on, so an event queued before its bookkeeping is done
 * shows the host the half-done state at once. Without the privilege (CAP_SYS_NICE) the
 * race is only pinned, and rarer: that is said on stderr. */
static int favour_callbacks = 1; /* WXNET_RACE_FAVOUR=0 turns it off */

static void pin_every_thread_to_one_cpu(void) {
  if (!favour_callbacks) return;
  cpu_set_t allowed, one;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &allowed)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == NULL) return;
  struct dirent *e;
  while ((e = readdir(tasks)) != NULL) {
    long tid = strtol(e->d_name, NULL, 10);
    if (tid > 0 && sched_setaffinity((pid_t)tid, sizeof one, &one) != 0) perror("sched_setaffinity");
  }
  closedir(tasks);
}

/* Called at the top of every callback: the first call raises the dispatcher thread. */
static void raise_this_dispatcher(int *raised) {
  if (!favour_callbacks || *raised) return;
  *raised = 1;
  struct sched_param fifo = {.sched_priority = 1};
  if (sched_setscheduler(0, SCHED_FIFO, &fifo) != 0)
    perror("socket_races: sched_setscheduler(SCHED_FIFO) (the races are only pinned)");
}

/* ---- close from inside connectSocket:ok ---- */

static ex_waiter ended;       /* count = terminal events (CLOSE, or a FAIL) */
static int close_refused;     /* wxnet_socket_close != WXNET_OK inside SUCCESS */
static int first_refusal;     /* the status of the first refused close */
static int connect_fails;     /* FAIL events instead of connectSocket:ok */

static int close_race_raised;

static void on_close_race(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  raise_this_dispatcher(&close_race_raised);
  if (ev->kind == WXNET_EVENT_SUCCESS) {
    wxnet_status st = wxnet_socket_close(ev->task, 1000, NULL, 0);
    if (st != WXNET_OK) {
      if (close_refused++ == 0) first_refusal = st;
    }
  } else if (ev->kind == WXNET_EVENT_FAIL) {
    connect_fails++;
    ex_print_event("unexpected FAIL", ev);
    ex_waiter_add(&ended, 1);
  } else if (ev->kind == WXNET_EVENT_SOCKET_CLOSE) {
    ex_waiter_add(&ended, 1);
  }
}

static void close_inside_connect_ok(void) {
  long n = env_count("WXNET_RACE_SOCKETS", 400);
  ex_waiter_init(&ended);
  char members[64];
  snprintf(members, sizeof members, "\"maxSockets\":%ld", n);
  char *config = ex_config(members);
  wxnet_app *app = NULL;
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_close_race, NULL, &app), WXNET_OK);
  free(config);
  if (app == NULL) return;
  pin_every_thread_to_one_cpu();
  char *opts = ex_api_options(EX_SOCKET, "/ws/echo", NULL);
  /* Back to back from this thread: the favoured dispatcher runs each SUCCESS callback as
   * soon as the event is queued, before wxnet_connect_socket has returned. */
  for (long i = 0; i < n; i++) {
    wxnet_task_id id = 0;
    EX_CHECK_STATUS(wxnet_connect_socket(app, opts, strlen(opts), NULL, &id), WXNET_OK);
  }
  EX_CHECK(ex_waiter_wait(&ended, (int)n, 60000), "every socket ends with one CLOSE");
  free(opts);
  EX_CHECK_STATUS(wxnet_app_free(app), WXNET_OK);
  if (close_refused != 0)
    fprintf(stderr, "  %d of %ld closes refused inside connectSocket:ok, first %d (%s)\n", close_refused, n,
            first_refusal, wxnet_status_str(first_refusal));
  EX_CHECK(close_refused == 0, "close from inside connectSocket:ok is never refused");
  EX_CHECK(connect_fails == 0, "no connectSocket fails");
  printf("close inside connectSocket:ok: %ld sockets, %d refused\n", n, close_refused);
  ex_waiter_destroy(&ended);
}

/* ---- reconnect from inside onClose, 4 others open ---- */

static int other_tag, cycler_tag;     /* task_user_data: &other_tag or &cycler_tag */
static ex_waiter others_open;         /* count = OPEN of the 4 others */
static ex_waiter others_closed;       /* count = CLOSE of the 4 others */
static ex_waiter rounds;              /* count = cycler CLOSEs (and 1000000 on a refusal) */
static long cycler_closes;            /* the same CLOSEs, counted on the dispatcher thread */
static long max_rounds;
static int reconnect_refused;         /* FAIL for a reconnect, or a start that failed */
static char refusal[512];
static wxnet_app *reconnect_app;      /* set before any socket starts */
static char *cycler_opts;

static int reconnect_race_raised;

static void on_reconnect_race(void *app_ud, const wxnet_event *ev) {
  (void)app_ud;
  raise_this_dispatcher(&reconnect_race_raised);
  if (ev->task_user_data == &other_tag) {
    if (ev->kind == WXNET_EVENT_SOCKET_OPEN) ex_waiter_add(&others_open, 1);
    if (ev->kind == WXNET_EVENT_SOCKET_CLOSE || ev->kind == WXNET_EVENT_FAIL) ex_waiter_add(&others_closed, 1);
    return;
  }
  if (ev->task_user_data != &cycler_tag) return;
  if (ev->kind == WXNET_EVENT_SOCKET_OPEN) {
    EX_CHECK_STATUS(wxnet_socket_close(ev->task, 1000, NULL, 0), WXNET_OK);
  } else if (ev->kind == WXNET_EVENT_FAIL) {
    if (reconnect_refused++ == 0) snprintf(refusal, sizeof refusal, "%s", ev->json);
    ex_waiter_add(&rounds, 1000000);
  } else if (ev->kind == WXNET_EVENT_SOCKET_CLOSE) {
    ex_waiter_add(&rounds, 1);
    if (++cycler_closes < max_rounds) {
      wxnet_task_id id = 0;
      wxnet_status st = wxnet_connect_socket(reconnect_app, cycler_opts, strlen(cycler_opts), &cycler_tag, &id);
      if (st != WXNET_OK) {
        if (reconnect_refused++ == 0) snprintf(refusal, sizeof refusal, "start: %s", wxnet_status_str(st));
        ex_waiter_add(&rounds, 1000000);
      }
    }
  }
}

static void reconnect_inside_on_close(void) {
  max_rounds = env_count("WXNET_RACE_ROUNDS", 200);
  ex_waiter_init(&others_open);
  ex_waiter_init(&others_closed);
  ex_waiter_init(&rounds);
  char *config = ex_config("\"maxSockets\":5");
  cycler_opts = ex_api_options(EX_SOCKET, "/ws/echo", NULL);
  EX_CHECK_STATUS(wxnet_app_new(config, strlen(config), on_reconnect_race, NULL, &reconnect_app), WXNET_OK);
  free(config);
  if (reconnect_app == NULL) return;
  pin_every_thread_to_one_cpu();
  wxnet_task_id others[4] = {0};
  for (int i = 0; i < 4; i++)
    EX_CHECK_STATUS(wxnet_connect_socket(reconnect_app, cycler_opts, strlen(cycler_opts), &other_tag, &others[i]),
                    WXNET_OK);
  EX_CHECK(ex_waiter_wait(&others_open, 4, 30000), "the 4 other sockets open");
  wxnet_task_id first = 0;
  EX_CHECK_STATUS(wxnet_connect_socket(reconnect_app, cycler_opts, strlen(cycler_opts), &cycler_tag, &first),
                  WXNET_OK);
  EX_CHECK(ex_waiter_wait(&rounds, (int)max_rounds, 120000), "every round ends (or a reconnect is refused)");
  if (reconnect_refused != 0) fprintf(stderr, "  reconnect refused: %s\n", refusal);
  EX_CHECK(reconnect_refused == 0, "a reconnect from onClose always gets the slot just freed");
  for (int i = 0; i < 4; i++) EX_CHECK_STATUS(wxnet_task_abort(others[i]), WXNET_OK);
  EX_CHECK(ex_waiter_wait(&others_closed, 4, 30000), "the others end");
  EX_CHECK_STATUS(wxnet_app_free(reconnect_app), WXNET_OK);
  free(cycler_opts);
  printf("reconnect inside onClose: %ld rounds, %d refused\n", max_rounds, reconnect_refused);
  ex_waiter_destroy(&others_open);
  ex_waiter_destroy(&others_closed);
  ex_waiter_destroy(&rounds);
}

int main(void) {
  const char *favour = getenv("WXNET_RACE_FAVOUR");
  favour_callbacks = favour == NULL || strcmp(favour, "0") != 0;
  close_inside_connect_ok();
  reconnect_inside_on_close();
  return ex_finish("socket_races");
}

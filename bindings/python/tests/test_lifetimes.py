"""Lifetimes across the C boundary: apps dropped without close(), close() racing other
threads, replacing the log handler and the wakeup hook (from inside them too), and
interpreter exit. Cases that crashed run in a child interpreter (``sys.executable``),
so a segfault fails the test instead of killing pytest."""

from __future__ import annotations

import ctypes
import gc
import json
import subprocess
import sys
import textwrap
import threading
import weakref
from typing import Any, Callable

import pytest

import wxnet
from conftest import API, ErrorLog


def run_child(source: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs ``source`` in a child interpreter with the same ``wxnet``; fails the test on
    a crash (signal), a non-zero exit or a timeout, with the child's output."""
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(source), *args],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the child hung (deadlock?) after {timeout} s:\nstdout: {exc.stdout!r}\nstderr: {exc.stderr!r}")
    assert proc.returncode == 0, (
        f"the child exited with {proc.returncode}"
        f"{' (killed by signal %d)' % -proc.returncode if proc.returncode < 0 else ''}:\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def ctypes_callbacks(kind: Any) -> int:
    """How many ctypes callback objects of the CFUNCTYPE ``kind`` are alive."""
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


# -- 1. an App garbage-collected without close() ----------------------------------------


def test_app_dropped_without_close_keeps_delivering_and_closes_at_exit(
        make_config: Callable[..., dict]) -> None:
    """Before: the App<->Task cycle was collected with the ctypes callback, which the
    dispatcher then called (SIGSEGV). Now an App lives until close() or exit, and the
    exit hook closes the apps still open (tasks in flight, a wakeup hook, a log handler)."""
    proc = run_child(
        """
        import gc, json, sys, threading
        import wxnet

        config, api = json.loads(sys.argv[1]), sys.argv[2]
        terminal = threading.Event()
        TERMINAL = (wxnet.EventKind.SUCCESS, wxnet.EventKind.FAIL)

        def fire_and_forget():
            app = wxnet.App(config)
            app.start_request({"url": api + "/delay/300"},
                              on_event=lambda e: terminal.set() if e.kind in TERMINAL else None)
            # no close(): the App goes out of scope with its task in flight

        fire_and_forget()
        gc.collect()
        print("delivered after gc:", terminal.wait(20), flush=True)

        # Left open at exit: a task that never ends, a poll-mode app with a wakeup hook,
        # and a log handler; the exit hook closes them (the task gets its abort).
        def report(e):
            if e.kind in TERMINAL:
                print("at exit:", e.json["errMsg"], flush=True)

        hang = wxnet.App(config)
        hang.start_request({"url": api + "/hang"}, on_event=report)
        polled = wxnet.App(config, poll=True)
        polled.set_wakeup(lambda: None)
        polled.start_request({"url": api + "/hang"})
        wxnet.set_log_handler(lambda level, msg: None, 5)
        del hang, polled
        gc.collect()
        print("exiting", flush=True)
        """,
        json.dumps(make_config()), API)
    assert "delivered after gc: True" in proc.stdout, proc.stdout
    assert proc.stdout.rstrip().endswith("exiting\nat exit: request:fail abort"), proc.stdout


def test_an_open_app_is_not_collected(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    app = wxnet.App(make_config(), on_callback_error=callback_errors)
    app.start_request({"url": f"{API}/hang"})
    ref = weakref.ref(app)
    del app
    gc.collect()
    kept = ref()
    assert kept is not None, "an open App must stay alive until close()"
    kept.close()
    del kept
    gc.collect()
    assert ref() is None, "a closed App is released"


# -- 2. close() racing other threads --------------------------------------------------------


def test_close_racing_pollers_starters_and_hooks_ends_each_thread_with_app_closed_error(
        make_config: Callable[..., dict]) -> None:
    """close() while threads poll (poll(0) in a loop, poll(-1) blocked), start requests
    and replace the wakeup hook: no crash, and each thread ends with AppClosedError
    (WXNET_E_CLOSED from the library is a ClosedError, which is one)."""
    proc = run_child(
        """
        import json, sys, threading
        from collections import Counter
        import wxnet

        config, api = json.loads(sys.argv[1]), sys.argv[2]
        outcomes = Counter()
        lock = threading.Lock()
        errors = []
        total = 0

        def until_closed(started, step):
            def body():
                first = True
                try:
                    while True:
                        if first:
                            started.set()
                            first = False
                        step()
                except wxnet.AppClosedError:
                    outcome = "AppClosedError"
                except BaseException as exc:
                    outcome = f"{type(exc).__name__}: {exc}"
                with lock:
                    outcomes[outcome] += 1
            return body

        for i in range(40):
            poll = i % 2 == 0
            app = wxnet.App(config, poll=poll, on_callback_error=lambda e, w: errors.append((e, w)))
            steps = [lambda: app.start_request({"url": api + "/hang"})]
            if poll:
                steps += [lambda: app.poll(0), lambda: app.poll(-1),
                          lambda: app.set_wakeup(lambda: None), lambda: app.set_wakeup(None)]
            else:
                steps += [lambda: app.set_background(False), lambda: app.reset_connections()]
            started = [threading.Event() for _ in steps]
            threads = [threading.Thread(target=until_closed(s, step), daemon=True)
                       for s, step in zip(started, steps)]
            for t in threads:
                t.start()
            assert all(s.wait(10) for s in started)
            app.close()
            for t in threads:
                t.join(10)
                assert not t.is_alive(), f"iteration {i}: a thread is stuck after close()"
            for task in app.live_tasks:
                raise AssertionError(f"{task!r} still live after close()")
            total += len(threads)
        print(json.dumps({"total": total, "outcomes": outcomes, "errors": [repr(e) for e in errors]}), flush=True)
        """,
        json.dumps(make_config()), API, timeout=120)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["outcomes"] == {"AppClosedError": result["total"]}, result
    assert result["errors"] == [], result


def test_library_closed_status_is_an_app_closed_error() -> None:
    assert issubclass(wxnet.ClosedError, wxnet.AppClosedError)
    assert issubclass(wxnet.ClosedError, wxnet.CallError)
    with pytest.raises(wxnet.AppClosedError) as info:
        wxnet._ffi.check(-8, "wxnet_app_poll")
    assert isinstance(info.value, wxnet.ClosedError) and info.value.status == -8


def test_calls_after_close_raise_app_closed_error(make_config: Callable[..., dict]) -> None:
    app = wxnet.App(make_config(), poll=True)
    app.close()
    for call in (lambda: app.poll(0), lambda: app.set_wakeup(lambda: None), lambda: app.set_wakeup(None),
                 lambda: app.start_request({"url": f"{API}/json"}), lambda: app.set_background(True),
                 lambda: app.reset_connections(), lambda: app.resolve_path("wxfile://tmp_x")):
        with pytest.raises(wxnet.AppClosedError):
            call()


# -- 3. set_log_handler from a handler while another thread replaces it -------------------


def test_log_handler_replacing_itself_while_another_thread_replaces_it_does_not_deadlock(
        make_config: Callable[..., dict]) -> None:
    """Before: set_log_handler held a Python lock across wxnet_set_log_callback, which
    waits for the running handler; that handler calling set_log_handler deadlocked."""
    proc = run_child(
        """
        import json, linecache, os, sys, threading, time
        import wxnet

        config = json.loads(sys.argv[1])
        reconf_ident = []
        entered, reconf_started, reconf_done, inner_done = (threading.Event() for _ in range(4))
        first = threading.Lock()
        final = []

        def quiet_from_handler(level, msg):
            final.append("handler's")

        def quiet_from_thread(level, msg):
            final.append("thread's")

        def reconf_at_native_call():
            frame = sys._current_frames().get(reconf_ident[0]) if reconf_ident else None
            if frame is None or not frame.f_code.co_filename.endswith(os.path.join("wxnet", "log.py")):
                return False
            return "wxnet_set_log_callback(" in linecache.getline(frame.f_code.co_filename, frame.f_lineno)

        def handler(level, msg):
            if not first.acquire(blocking=False):
                return
            entered.set()
            reconf_started.wait(10)
            # Until the other thread is at the native call of its set_log_handler (which
            # waits for this call to return).
            deadline = time.monotonic() + 10
            while not reconf_at_native_call():
                if time.monotonic() > deadline:
                    print("the other thread never reached wxnet_set_log_callback", flush=True)
                    return
                reconf_done.wait(0.002)
            wxnet.set_log_handler(quiet_from_handler, 1)
            inner_done.set()

        wxnet.set_log_handler(handler, 5)
        wxnet.App(config).close()  # logs (info)
        assert entered.wait(10), "the handler was called"

        def reconf():
            reconf_ident.append(threading.get_ident())
            reconf_started.set()
            wxnet.set_log_handler(quiet_from_thread, 1)
            reconf_done.set()

        threading.Thread(target=reconf, daemon=True).start()
        print("thread returned:", reconf_done.wait(10), flush=True)
        print("handler returned:", inner_done.wait(10), flush=True)
        from wxnet import log
        print("final:", log._slot.current[0].__name__, flush=True)
        wxnet.set_log_handler(None)
        """,
        json.dumps(make_config()), timeout=60)
    assert "thread returned: True" in proc.stdout, proc.stdout
    assert "handler returned: True" in proc.stdout, proc.stdout
    # The handler's request came while the thread's was being installed: it is the later one.
    assert "final: quiet_from_handler" in proc.stdout, proc.stdout


# -- 4. replaced handlers and hooks are released ------------------------------------------


class Probe:
    """A handler whose release a weakref can observe."""

    def __init__(self, fn: Callable[..., None] = lambda *a: None) -> None:
        self.fn = fn

    def __call__(self, *args: Any) -> None:
        self.fn(*args)


def test_replaced_log_handlers_are_released(make_config: Callable[..., dict]) -> None:
    before = ctypes_callbacks(wxnet._ffi.LOG_CALLBACK)
    refs = []
    try:
        for _ in range(50):
            probe = Probe()
            refs.append(weakref.ref(probe))
            wxnet.set_log_handler(probe, 5)
            del probe
        with wxnet.App(make_config()) as app:  # the last one gets records
            app.start_request({"url": f"{API}/json"}).wait(10)
    finally:
        wxnet.set_log_handler(None)
    gc.collect()
    assert [r for r in refs if r() is not None] == [], "replaced log handlers are released"
    assert ctypes_callbacks(wxnet._ffi.LOG_CALLBACK) <= before, "no ctypes callback per call"


def test_log_handler_removing_itself_from_inside(make_config: Callable[..., dict]) -> None:
    called = threading.Event()

    def once(level: int, msg: str) -> None:
        wxnet.set_log_handler(None)  # from inside: returns at once
        called.set()

    probe = Probe(once)
    ref = weakref.ref(probe)
    wxnet.set_log_handler(probe, 5)
    del probe
    try:
        wxnet.App(make_config()).close()  # logs
        assert called.wait(10)
    finally:
        wxnet.set_log_handler(None)  # from here: waits for the handler to return
    gc.collect()
    assert ref() is None


def test_replaced_wakeup_hooks_are_released(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    before = ctypes_callbacks(wxnet._ffi.WAKE_CALLBACK)
    refs = []
    with wxnet.App(make_config(), poll=True, on_callback_error=callback_errors) as app:
        woken = threading.Event()
        for i in range(50):
            probe = Probe(woken.set) if i == 49 else Probe()
            refs.append(weakref.ref(probe))
            app.set_wakeup(probe)
            del probe
        assert ctypes_callbacks(wxnet._ffi.WAKE_CALLBACK) <= before + 2, "no ctypes callback per call"
        task = app.start_request({"url": f"{API}/json"})
        assert woken.wait(10), "the last hook is the one called"
        while not task.done:
            assert app.poll(5000) is not None
        gc.collect()
        assert [i for i, r in enumerate(refs) if r() is not None] == [49]
        app.set_wakeup(None)
        gc.collect()
        assert refs[49]() is None


def test_wakeup_hook_replacing_itself_from_inside(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    with wxnet.App(make_config(), poll=True, on_callback_error=callback_errors) as app:
        second = threading.Event()

        def one_shot() -> None:
            app.set_wakeup(Probe(second.set))  # from inside: returns at once
            first_called.set()

        first_called = threading.Event()
        probe = Probe(one_shot)
        ref = weakref.ref(probe)
        app.set_wakeup(probe)
        del probe
        task = app.start_request({"url": f"{API}/json"})
        assert first_called.wait(10)
        while not task.done:
            assert app.poll(5000) is not None
        task = app.start_request({"url": f"{API}/json"})
        assert second.wait(10), "the replacement took over"
        while not task.done:
            assert app.poll(5000) is not None
        app.set_wakeup(None)  # waits for a running hook
        gc.collect()
        assert ref() is None

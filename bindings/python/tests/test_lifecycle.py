"""App life: close with tasks in flight, poll mode, misuse errors, the log sink."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

import wxnet
from conftest import API, CDN, WS, ErrorLog

TERMINAL = (wxnet.EventKind.SUCCESS, wxnet.EventKind.FAIL)


def test_version_and_library() -> None:
    assert wxnet.version() == "0.1.0"
    assert wxnet.LIBRARY_PATH.is_file()
    if os.environ.get("WXNET_EXPECT_BUNDLED") == "1":  # set by scripts/test-python.sh
        assert wxnet.LIBRARY_PATH.parent == Path(wxnet.__file__).parent / "_native"
    assert wxnet.status_str(-4)
    assert wxnet.ABI_VERSION == 1


def test_close_with_tasks_in_flight_gives_each_one_terminal_event(
        make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    events: list[wxnet.Event] = []
    lock = threading.Lock()

    def record(event: wxnet.Event) -> None:
        with lock:
            events.append(event)

    app = wxnet.App(make_config(), on_callback_error=callback_errors)
    tasks = [app.start_request({"url": f"{API}/hang"}, on_event=record) for _ in range(3)]
    tasks.append(app.start_request({"url": f"{API}/delay/10000"}, on_event=record))
    transfers = [
        app.start_download_file({"url": f"{CDN}/bytes/5000000?rate_kbps=100"}, on_event=record),
        app.start_socket({"url": f"{WS}/ws/echo"}, on_event=record),
    ]
    app.close()
    assert app.closed
    everything = tasks + transfers
    terminal = Counter(e.task for e in events if e.kind in TERMINAL + (wxnet.EventKind.SOCKET_CLOSE,)
                       and not (e.kind == wxnet.EventKind.SUCCESS and e.task == transfers[1].id))
    assert terminal == Counter({t.id: 1 for t in everything})
    for task in tasks:
        assert task.done
        assert task.terminal_event.json["errMsg"] == "request:fail abort"
    assert transfers[0].terminal_event.json["errMsg"] == "downloadFile:fail abort"
    assert transfers[1].terminal_event.kind == wxnet.EventKind.SOCKET_CLOSE
    app.close()  # idempotent
    with pytest.raises(wxnet.AppClosedError):
        app.start_request({"url": f"{API}/json"})


def test_poll_mode_with_wakeup_hook(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    woken = threading.Event()
    with wxnet.App(make_config(), poll=True, on_callback_error=callback_errors) as app:
        assert app.poll_mode
        assert app.poll(0) is None
        app.set_wakeup(woken.set)
        task = app.start_request({"url": f"{API}/json"})
        assert woken.wait(10), "wakeup hook called"
        kinds = []
        while not task.done:
            event = app.poll(5000)
            assert event is not None, "an event within 5 s"
            kinds.append(event.kind)
        assert kinds == [wxnet.EventKind.HEADERS_RECEIVED, wxnet.EventKind.SUCCESS]
        assert task.result()["data"] == {"hello": "world", "n": 1}
        app.set_wakeup(None)


def test_poll_mode_close_drains_in_flight_tasks(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    app = wxnet.App(make_config(), poll=True, on_callback_error=callback_errors)
    tasks = [app.start_request({"url": f"{API}/hang"}) for _ in range(2)]
    download = app.start_download_file({"url": f"{CDN}/bytes/5000000?rate_kbps=100"})
    socket = app.start_socket({"url": f"{WS}/ws/echo"})
    app.close()
    for task in tasks:
        assert task.terminal_event.json["errMsg"] == "request:fail abort"
    assert download.terminal_event.json["errMsg"] == "downloadFile:fail abort"
    assert socket.terminal_event.kind == wxnet.EventKind.SOCKET_CLOSE
    assert "app closed" not in socket.terminal_event.json.get("reason", ""), "a real close, not synthesized"


def test_callback_mode_misuse_errors(app: wxnet.App) -> None:
    with pytest.raises(wxnet.WrongModeError) as info:
        app.poll(0)
    assert info.value.status == -6
    assert "callback" in info.value.detail
    with pytest.raises(wxnet.WrongModeError):
        app.set_wakeup(lambda: None)
    with pytest.raises(TypeError):
        app.start_request(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON"):
        app.start_request({"url": f"{API}/json", "data": object()})
    with pytest.raises(ValueError):
        app.poll(-5)


def test_invalid_config_names_the_field() -> None:
    with pytest.raises(wxnet.InvalidConfigError) as info:
        wxnet.App({"appId": "wx1", "networkTimeout": {"request": "soon"}})
    assert info.value.status == -3
    assert "networkTimeout" in info.value.detail
    with pytest.raises(TypeError):
        wxnet.App(42)  # type: ignore[arg-type]


def test_close_inside_own_callback_would_deadlock(make_config: Callable[..., dict]) -> None:
    errors = ErrorLog()
    raised: list[BaseException] = []
    app = wxnet.App(make_config(), on_callback_error=errors)

    def handler(event: wxnet.Event) -> None:
        if event.kind == wxnet.EventKind.SUCCESS:
            try:
                app.close()
            except wxnet.WouldDeadlockError as exc:
                raised.append(exc)

    app.start_request({"url": f"{API}/json"}, on_event=handler).wait(10)
    assert len(raised) == 1 and raised[0].status == -7
    assert not app.closed
    app.close()
    assert app.closed and not errors.errors


def test_handler_exceptions_are_reported_not_swallowed(make_config: Callable[..., dict]) -> None:
    errors = ErrorLog()
    with wxnet.App(make_config(), on_callback_error=errors) as app:
        def boom(event: wxnet.Event) -> None:
            raise ValueError(f"boom on {event.kind.name}")

        task = app.start_request({"url": f"{API}/json"}, on_event=boom)
        assert task.wait(10).kind == wxnet.EventKind.SUCCESS  # delivery went on
    assert [str(e) for e, _ in errors.errors] == ["boom on HEADERS_RECEIVED", "boom on SUCCESS"]


def test_set_background_interrupts_requests(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    with wxnet.App(make_config(backgroundGraceMs=100), on_callback_error=callback_errors) as app:
        task = app.start_request({"url": f"{API}/hang"})
        app.set_background(True)
        with pytest.raises(wxnet.WxFail) as info:
            task.result(timeout=10)
        assert info.value.errno == 600003
        app.set_background(False)
        assert app.start_request({"url": f"{API}/json"}).result(10)["statusCode"] == 200


def test_reset_connections_makes_the_next_request_connect_anew(app: wxnet.App) -> None:
    app.start_request({"url": f"{API}/json"}).result(10)
    reused = app.start_request({"url": f"{API}/json"}).result(10)
    assert reused["profile"]["socketReused"] is True
    app.reset_connections()
    fresh = app.start_request({"url": f"{API}/json"}).result(10)
    assert fresh["profile"]["socketReused"] is False
    assert app.start_request({"url": f"{API}/json"}).result(10)["profile"]["socketReused"] is True


def test_log_handler_receives_lines(app: wxnet.App, make_config: Callable[..., dict]) -> None:
    lines: list[tuple[int, str]] = []
    lock = threading.Lock()

    def handler(level: int, msg: str) -> None:
        with lock:
            lines.append((level, msg))

    wxnet.set_log_handler(handler, max_level=5)
    try:
        with wxnet.App(make_config()) as other:
            other.start_request({"url": f"{API}/json?secret=1"}).wait(10)
    finally:
        wxnet.set_log_handler(None)
    assert lines, "the library logged something"
    assert all(1 <= level <= 5 for level, _ in lines)
    assert not any("secret=1" in msg for _, msg in lines), "no query strings in logs"
    with pytest.raises(ValueError):
        wxnet.set_log_handler(handler, max_level=9)


def test_unknown_task_after_close(make_config: Callable[..., dict]) -> None:
    app = wxnet.App(make_config())
    task = app.start_request({"url": f"{API}/hang"})
    task_id = task.id
    app.close()
    assert task.done
    status = wxnet._ffi.lib.wxnet_task_abort(task_id)
    assert status == -4  # WXNET_E_UNKNOWN_TASK

"""Task objects: one per started request, upload, download or socket.

A task receives its events on the thread that delivers them (the app's dispatcher
thread in callback mode, the polling thread in poll mode), in order. It stays
registered in its app (and so alive, with its handler) until its terminal event:
SUCCESS/FAIL for requests, uploads and downloads; FAIL or SOCKET_CLOSE for sockets.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping, Optional, Protocol

from . import _ffi
from .errors import WxFail
from .events import Event, EventKind, success_res
from .response import Response

EventHandler = Callable[[Event], None]
"""A per-task handler: called with every event of the task, on the delivering thread."""


class TaskOwner(Protocol):
    """What a task needs of the app that started it (:class:`~wxnet.App` is one):
    where to report exceptions raised by its handler and done callbacks."""

    def _report_callback_error(self, exc: BaseException, where: str) -> None: ...


class Task:
    """Base of all task objects. Not created directly: use the ``App.start_*`` methods.

    Attributes:
        api: ``"request"``, ``"uploadFile"``, ``"downloadFile"`` or ``"connectSocket"``.
        id: the library's task id (set once the start call returned).
    """

    api = ""

    def __init__(self, app: TaskOwner, on_event: Optional[EventHandler]) -> None:
        self._app = app
        self._on_event = on_event
        self.id: int = 0
        self._done = threading.Event()
        self._terminal: Optional[Event] = None
        self._done_callbacks: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = self._terminal.kind.name if self._terminal else "running"
        return f"<{type(self).__name__} id={self.id} {state}>"

    # -- state -------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the terminal event arrived (already while its handler runs, so
        whoever the handler wakes sees the task done)."""
        return self._terminal is not None

    @property
    def terminal_event(self) -> Optional[Event]:
        """The terminal event, or None while the task runs."""
        return self._terminal

    def is_terminal(self, event: Event) -> bool:
        """Whether ``event`` ends this task (SUCCESS or FAIL here; sockets differ)."""
        return event.kind in (EventKind.SUCCESS, EventKind.FAIL)

    # -- control -----------------------------------------------------------------

    def abort(self) -> None:
        """Aborts the task (``wxnet_task_abort``): it ends with FAIL ``…:fail abort``
        unless it already ended. A no-op on a task whose terminal event was delivered.
        Never blocks; may be called from any thread, including inside handlers."""
        if self.done:
            return
        _ffi.check(_ffi.lib.wxnet_task_abort(self.id), "wxnet_task_abort")

    def wait(self, timeout: Optional[float] = None) -> Event:
        """Blocks until the terminal event and returns it.

        Raises ``TimeoutError`` after ``timeout`` seconds. Don't call it from inside a
        callback-mode handler of the same app: the event it waits for is delivered on
        that very thread.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self!r}: no terminal event within {timeout} s")
        assert self._terminal is not None
        return self._terminal

    def result(self, timeout: Optional[float] = None) -> Mapping[str, Any]:
        """Waits like :meth:`wait`, then returns the wx ``success`` res (data decoded
        per ``dataKind``) or raises :class:`~wxnet.WxFail`."""
        return self.res_of(self.wait(timeout))

    def res_of(self, event: Event) -> Mapping[str, Any]:
        """The success res of a terminal event, or :class:`~wxnet.WxFail` raised."""
        _raise_if_fail(event)
        return success_res(event, with_data=True)

    def add_done_callback(self, fn: Callable[[Event], None]) -> None:
        """Calls ``fn(terminal_event)`` once the task ends, on the delivering thread
        (or right now, on this thread, when it already ended)."""
        with self._lock:
            if self._terminal is None:
                self._done_callbacks.append(fn)
                return
            terminal = self._terminal
        fn(terminal)

    # -- delivery (called by App) ----------------------------------------------------

    def _deliver(self, event: Event) -> bool:
        """Hands one event to the handler; returns True when it was the terminal one.
        Handler exceptions go to the app's error hook and never stop delivery."""
        terminal = self.is_terminal(event)
        if terminal:
            with self._lock:
                self._terminal = event
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception as exc:  # reported, not swallowed: see App(on_callback_error)
                self._app._report_callback_error(exc, f"handler of {self!r}")
        if not terminal:
            return False
        with self._lock:
            callbacks, self._done_callbacks = self._done_callbacks, []
        self._done.set()
        for fn in callbacks:
            try:
                fn(event)
            except Exception as exc:
                self._app._report_callback_error(exc, f"done callback of {self!r}")
        return True


class RequestTask(Task):
    """A ``wx.request`` (RequestTask). Events: HEADERS_RECEIVED, CHUNK_RECEIVED (with
    ``enableChunked``), then SUCCESS or FAIL."""

    api = "request"

    def res_of(self, event: Event) -> Response:
        """The success :class:`~wxnet.Response` (also readable as the res mapping),
        or :class:`~wxnet.WxFail` raised."""
        _raise_if_fail(event)
        return Response(success_res(event, with_data=True), event.data)


class UploadTask(Task):
    """A ``wx.uploadFile`` (UploadTask). Events: PROGRESS, HEADERS_RECEIVED, then
    SUCCESS (``data`` is the response text) or FAIL."""

    api = "uploadFile"

    def res_of(self, event: Event) -> Response:
        """The success :class:`~wxnet.Response` (``data``/``text``: the server's reply),
        or :class:`~wxnet.WxFail` raised."""
        _raise_if_fail(event)
        return Response(success_res(event, with_data=True), event.data)


class DownloadTask(Task):
    """A ``wx.downloadFile`` (DownloadTask). Events: PROGRESS, HEADERS_RECEIVED, then
    SUCCESS (``tempFilePath`` or ``filePath``) or FAIL."""

    api = "downloadFile"

    def res_of(self, event: Event) -> dict[str, Any]:
        _raise_if_fail(event)
        return success_res(event, with_data=False)


class SocketTask(Task):
    """A ``wx.connectSocket`` (SocketTask). Events: SUCCESS (``connectSocket:ok``, not
    terminal) or FAIL (terminal); then SOCKET_OPEN / SOCKET_MESSAGE / SOCKET_ERROR and
    exactly one SOCKET_CLOSE (terminal)."""

    api = "connectSocket"

    def is_terminal(self, event: Event) -> bool:
        return event.kind in (EventKind.FAIL, EventKind.SOCKET_CLOSE)

    def res_of(self, event: Event) -> dict[str, Any]:
        _raise_if_fail(event)
        return dict(event.json)

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Sends a text frame (``str``) or a binary frame (bytes-like).

        Raises :class:`~wxnet.InvalidStateError` when the socket is not open and
        ``TypeError`` for any other type of ``data``."""
        if isinstance(data, str):
            payload, binary = data.encode("utf-8"), False
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload, binary = bytes(data), True
        else:
            raise TypeError(f"socket data must be str or bytes-like, not {type(data).__name__}")
        _ffi.check(
            _ffi.lib.wxnet_socket_send(self.id, payload, len(payload), binary), "wxnet_socket_send"
        )

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Closes the socket with ``code`` (1000 or 3000-4999) and ``reason`` (at most
        123 UTF-8 bytes); also works before the socket opened. SOCKET_CLOSE follows.

        Raises :class:`~wxnet.InvalidArgumentError` for a bad code or reason."""
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"close code must be an int, not {type(code).__name__}")
        if not isinstance(reason, str):
            raise TypeError(f"close reason must be a str, not {type(reason).__name__}")
        raw = reason.encode("utf-8")
        _ffi.check(_ffi.lib.wxnet_socket_close(self.id, code, raw, len(raw)), "wxnet_socket_close")


def _raise_if_fail(event: Event) -> None:
    """Raises :class:`~wxnet.WxFail` for a FAIL event."""
    if event.kind == EventKind.FAIL:
        raise WxFail(event.json.get("errMsg", ""), int(event.json.get("errno", 0)), event.json)

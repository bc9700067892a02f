"""``App``: one mini-program instance (``wxnet_app``).

Threading and lifetimes:

* Callback mode (the default): the library calls one ``CFUNCTYPE`` trampoline, held
  by the App for its whole life, on the app's dispatcher thread, one event at a time.
  ctypes takes the GIL for it; every wxnet call goes through ``ctypes.CDLL``, which
  releases the GIL, so ``close()`` can wait for running callbacks without deadlock.
* Poll mode (``App(config, poll=True)``): nothing runs on library threads except the
  optional wakeup hook; :meth:`App.poll` copies and frees each event on the caller's
  thread.
* Each task gets an integer token as its ``task_user_data``; the App keeps
  ``token -> Task`` until the task's terminal event, so handlers and futures stay
  alive exactly as long as the library may still deliver to them.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import itertools
import json
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, Mapping, Optional, Union

from . import _ffi, aio
from .errors import AppClosedError, WouldDeadlockError
from .events import Event, EventKind
from .options import AppConfig, ConnectSocketOptions, DownloadFileOptions, RequestOptions, UploadFileOptions
from .response import Response
from .tasks import DownloadTask, EventHandler, RequestTask, SocketTask, Task, UploadTask

_log = logging.getLogger("wxnet")

Config = Union[AppConfig, Mapping[str, Any], str, bytes]
"""An app config: a mapping (serialized to JSON) or JSON text."""

CallbackErrorHook = Callable[[BaseException, str], None]

_live_apps: "weakref.WeakSet[App]" = weakref.WeakSet()


def _json_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a mapping or JSON text, not {type(value).__name__}")
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} cannot be serialized to JSON: {exc}") from exc


def _default_error_hook(exc: BaseException, where: str) -> None:
    _log.error("exception in wxnet %s", where, exc_info=exc)


class App:
    """One mini-program instance. Use it as a context manager (``with`` or
    ``async with``), or call :meth:`close`.

    Args:
        config: the app config (see the C ABI spec); ``appId`` is required.
        poll: poll mode instead of callbacks (drive it with :meth:`poll`).
        on_callback_error: called as ``hook(exc, where)`` for exceptions raised by
            task handlers and done callbacks (default: logged on the ``wxnet`` logger).

    Raises:
        InvalidConfigError: the config is invalid (``detail`` names the field).
        TypeError: ``config`` is neither a mapping nor JSON text.
    """

    def __init__(
        self,
        config: Config,
        *,
        poll: bool = False,
        on_callback_error: Optional[CallbackErrorHook] = None,
    ) -> None:
        raw = _json_bytes(config, "config")
        self._lock = threading.Lock()
        self._tasks: dict[int, Task] = {}
        self._tokens = itertools.count(1)
        self._closing = False
        self._closed = False
        self._poll_mode = poll
        self._error_hook = on_callback_error or _default_error_hook
        self._wake_hooks: list[Any] = []  # every hook ever set, alive as long as the App
        #: The events this app's asyncio helpers handed to event loops and the loops have
        #: not handled yet: bounded, see :class:`wxnet.aio.LoopBacklog`.
        self.loop_backlog = aio.LoopBacklog()
        # A NULL function pointer selects poll mode.
        self._callback = _ffi.EVENT_CALLBACK() if poll else _ffi.EVENT_CALLBACK(self._on_event)
        out = ctypes.c_void_p()
        _ffi.check(
            _ffi.lib.wxnet_app_new(raw, len(raw), self._callback, None, ctypes.byref(out)),
            "wxnet_app_new",
        )
        self._handle: Optional[int] = out.value
        _live_apps.add(self)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # close() waits for running callbacks and (poll mode) drains: off the loop
        # thread, so the loop keeps serving the events it hands over meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._tasks)} live tasks"
        return f"<wxnet.App {'poll' if self._poll_mode else 'callback'} mode, {state}>"

    # -- properties ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` returned."""
        return self._closed

    @property
    def poll_mode(self) -> bool:
        """True for an app created with ``poll=True``."""
        return self._poll_mode

    @property
    def live_tasks(self) -> list[Task]:
        """Tasks started and not yet ended (a snapshot)."""
        with self._lock:
            return list(self._tasks.values())

    # -- starting tasks ----------------------------------------------------------------

    def start_request(
        self,
        options: RequestOptions | Mapping[str, Any],
        body: Optional[bytes | bytearray | memoryview] = None,
        on_event: Optional[EventHandler] = None,
    ) -> RequestTask:
        """Starts a ``wx.request`` (``wxnet_request``).

        ``options`` is the wx options object. A bytes-like ``body`` (or a bytes-like
        ``options["data"]``, moved out of the JSON) is the ArrayBuffer ``data``, sent
        as is. ``on_event(event)`` gets every event on the delivering thread.
        """
        opts = dict(self._check_options(options))
        if isinstance(opts.get("data"), (bytes, bytearray, memoryview)):
            if body is not None:
                raise ValueError("give binary data either as body or as options['data'], not both")
            body = opts.pop("data")
        payload = None if body is None else bytes(body)
        raw = _json_bytes(opts, "options")

        def start(token: int, out: ctypes.c_uint64) -> int:
            return _ffi.lib.wxnet_request(
                self._require_handle(), raw, len(raw), payload,
                0 if payload is None else len(payload), token, ctypes.byref(out),
            )

        return self._start(RequestTask(self, on_event), "wxnet_request", start)

    def start_upload_file(self, options: UploadFileOptions | Mapping[str, Any], on_event: Optional[EventHandler] = None) -> UploadTask:
        """Starts a ``wx.uploadFile`` (``wxnet_upload_file``): ``filePath`` is a sandbox
        path (``wxfile://tmp_…`` or ``wxfile://usr/…``)."""
        return self._start_plain(UploadTask(self, on_event), "wxnet_upload_file", options)

    def start_download_file(self, options: DownloadFileOptions | Mapping[str, Any], on_event: Optional[EventHandler] = None) -> DownloadTask:
        """Starts a ``wx.downloadFile`` (``wxnet_download_file``)."""
        return self._start_plain(DownloadTask(self, on_event), "wxnet_download_file", options)

    def start_socket(self, options: ConnectSocketOptions | Mapping[str, Any], on_event: Optional[EventHandler] = None) -> SocketTask:
        """Starts a ``wx.connectSocket`` (``wxnet_connect_socket``)."""
        return self._start_plain(SocketTask(self, on_event), "wxnet_connect_socket", options)

    # -- asyncio helpers (see wxnet.aio) -------------------------------------------------

    async def request(self, options: RequestOptions | Mapping[str, Any], body: Optional[bytes] = None, *,
                      on_event: Optional[EventHandler] = None) -> Response:
        """``await``-able ``wx.request``: a :class:`~wxnet.Response` (``.status``,
        ``.headers``, ``.data``, ``.text``, ``.json()``), or :class:`~wxnet.WxFail`.
        See :func:`wxnet.aio.request`."""
        return await aio.request(self, options, body, on_event=on_event)

    async def upload_file(self, options: UploadFileOptions | Mapping[str, Any], *,
                          on_event: Optional[EventHandler] = None) -> Response:
        """``await``-able ``wx.uploadFile``. See :func:`wxnet.aio.upload_file`."""
        return await aio.upload_file(self, options, on_event=on_event)

    async def download_file(self, options: DownloadFileOptions | Mapping[str, Any], *,
                            on_event: Optional[EventHandler] = None) -> dict[str, Any]:
        """``await``-able ``wx.downloadFile``. See :func:`wxnet.aio.download_file`."""
        return await aio.download_file(self, options, on_event=on_event)

    async def connect_socket(self, options: ConnectSocketOptions | Mapping[str, Any], *,
                             max_buffered_messages: int = aio.MAX_BUFFERED_MESSAGES,
                             max_buffered_bytes: int = aio.MAX_BUFFERED_BYTES) -> aio.AsyncSocket:
        """Connects a socket and returns an :class:`~wxnet.aio.AsyncSocket` once it is
        open; its unread messages are bounded by the two limits (4096 messages, 16 MiB by
        default; :class:`~wxnet.SocketOverflow` past them). See :func:`wxnet.aio.connect_socket`."""
        return await aio.connect_socket(self, options, max_buffered_messages=max_buffered_messages,
                                        max_buffered_bytes=max_buffered_bytes)

    # -- sandbox paths ---------------------------------------------------------------

    def resolve_path(self, vpath: str) -> str:
        """The real file path of one of this app's ``wxfile://`` paths
        (``wxnet_app_resolve_path``), e.g. a download's ``tempFilePath``, to show or
        hand to the OS. The file need not exist.

        Raises :class:`~wxnet.InvalidArgumentError` for a path the sandbox refuses."""
        return self._path_call("wxnet_app_resolve_path", vpath)

    def virtual_path(self, real_path: str | os.PathLike[str]) -> str:
        """The ``wxfile://`` path of a real path inside this app's ``tempDir`` or
        ``userDataDir`` (``wxnet_app_virtual_path``), e.g. to give a file to
        ``upload_file``.

        Raises :class:`~wxnet.InvalidArgumentError` for a path outside them."""
        return self._path_call("wxnet_app_virtual_path", os.fspath(real_path))

    def _path_call(self, call: str, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"path must be a str, not {type(text).__name__}")
        raw = text.encode("utf-8")
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        _ffi.check(getattr(_ffi.lib, call)(self._require_handle(), raw, len(raw), ctypes.byref(out),
                                           ctypes.byref(length)), call)
        try:
            return _ffi.read_bytes(out.value, length.value).decode("utf-8")
        finally:
            _ffi.lib.wxnet_string_free(out)  # the caller owns the string

    # -- app state -------------------------------------------------------------------

    def set_background(self, background: bool) -> None:
        """``wxnet_app_set_background``: the app went to the background (True) or came
        back (False)."""
        if not isinstance(background, bool):
            raise TypeError("background must be a bool")
        _ffi.check(_ffi.lib.wxnet_app_set_background(self._require_handle(), background),
                   "wxnet_app_set_background")

    def reset_connections(self) -> None:
        """``wxnet_app_reset_connections``: the device's network changed (Wi-Fi to cellular,
        a VPN): every pooled connection of the app is dropped and later requests connect
        anew. Requests in flight finish on their connections; sockets, cookies and learned
        Alt-Svc are kept. Any thread; no event follows."""
        _ffi.check(_ffi.lib.wxnet_app_reset_connections(self._require_handle()),
                   "wxnet_app_reset_connections")

    # -- poll mode ---------------------------------------------------------------------

    def poll(self, timeout_ms: int = 0) -> Optional[Event]:
        """Poll mode: waits up to ``timeout_ms`` (0: don't wait, -1: forever) for the next
        event; routes it to its task (handler, terminal state) and returns it, or None on
        timeout. The GIL is released while waiting.

        Raises :class:`~wxnet.WrongModeError` on a callback-mode app."""
        if not isinstance(timeout_ms, int) or timeout_ms < -1:
            raise ValueError(f"timeout_ms must be an int >= -1, not {timeout_ms!r}")
        out = ctypes.POINTER(_ffi.wxnet_event)()
        _ffi.check(_ffi.lib.wxnet_app_poll(self._require_handle(), timeout_ms, ctypes.byref(out)),
                   "wxnet_app_poll")
        if not out:
            return None
        try:
            event = Event.from_raw(out.contents)
            token = out.contents.task_user_data or 0
        finally:
            _ffi.lib.wxnet_event_free(out)
        self._route(token, event)
        return event

    def set_wakeup(self, wake: Optional[Callable[[], None]]) -> None:
        """Poll mode: ``wake()`` runs on a library thread whenever the event queue goes
        from empty to non-empty; it must only schedule a :meth:`poll` on your own thread
        (e.g. ``loop.call_soon_threadsafe``). None removes the hook."""
        if wake is None:
            hook = _ffi.WAKE_CALLBACK()  # NULL removes the hook
        else:
            if not callable(wake):
                raise TypeError("wake must be callable or None")

            def trampoline(_ud: Any) -> None:
                try:
                    wake()
                except Exception as exc:
                    self._report_callback_error(exc, "wakeup hook")

            hook = _ffi.WAKE_CALLBACK(trampoline)
            self._wake_hooks.append(hook)
        _ffi.check(_ffi.lib.wxnet_app_set_wakeup(self._require_handle(), hook, None),
                   "wxnet_app_set_wakeup")

    # -- closing ---------------------------------------------------------------------

    def close(self, drain_timeout: float = 5.0) -> None:
        """Frees the app (``wxnet_app_free``); idempotent. Every live task gets exactly
        one terminal event before this returns:

        * callback mode: the library aborts them and delivers their terminal events
          before ``wxnet_app_free`` returns;
        * poll mode: the library would drop them with the queue, so this aborts the
          live tasks first and polls (up to ``drain_timeout`` seconds) until each one
          ended, then frees the app.

        Raises :class:`~wxnet.WouldDeadlockError` when called from inside one of this
        app's own callbacks (nothing is freed then).
        """
        with self._lock:
            if self._closed or self._closing:
                return
            self._closing = True
        # Before anything waits for the dispatcher: it may be waiting for a loop whose
        # thread is this one.
        self.loop_backlog.unbound()
        try:
            if self._poll_mode:
                self._abort_and_drain(drain_timeout)
            _ffi.check(_ffi.lib.wxnet_app_free(self._handle), "wxnet_app_free")
        except WouldDeadlockError:
            with self._lock:
                self._closing = False
            raise
        with self._lock:
            self._closed = True
            self._handle = None
            orphans = list(self._tasks.items())
            self._tasks.clear()
        _live_apps.discard(self)
        for _token, task in orphans:
            if not self._poll_mode:
                self._report_callback_error(
                    RuntimeError(f"library bug: {task!r} got no terminal event before wxnet_app_free returned"),
                    "close",
                )
            task._deliver(_synthesized_terminal(task))

    def _abort_and_drain(self, timeout: float) -> None:
        for task in self.live_tasks:
            try:
                task.abort()
            except Exception as exc:  # an id the library forgot: reported, draining goes on
                self._report_callback_error(exc, f"abort of {task!r} during close")
        deadline = time.monotonic() + timeout
        while self.live_tasks:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return
            self.poll(min(left_ms, 100))

    # -- internals -------------------------------------------------------------------

    def _require_handle(self) -> int:
        handle = self._handle
        if handle is None:
            raise AppClosedError("this wxnet.App is closed")
        return handle

    @staticmethod
    def _check_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
        if not isinstance(options, Mapping):
            raise TypeError(f"options must be a mapping, not {type(options).__name__}")
        return options

    def _start_plain(self, task: Task, call: str, options: Mapping[str, Any]) -> Any:
        raw = _json_bytes(self._check_options(options), "options")
        fn = getattr(_ffi.lib, call)

        def start(token: int, out: ctypes.c_uint64) -> int:
            return fn(self._require_handle(), raw, len(raw), token, ctypes.byref(out))

        return self._start(task, call, start)

    def _start(self, task: Any, call: str, start: Callable[[int, ctypes.c_uint64], int]) -> Any:
        with self._lock:
            if self._closing or self._closed:
                raise AppClosedError("this wxnet.App is closed")
            token = next(self._tokens)
            # Registered before the call: the dispatcher may deliver before it returns.
            self._tasks[token] = task
        out = ctypes.c_uint64()
        try:
            _ffi.check(start(token, out), call)
        except BaseException:
            with self._lock:
                self._tasks.pop(token, None)
            raise
        task.id = out.value
        return task

    def _on_event(self, _app_ud: Any, event_ptr: Any) -> None:
        """The callback-mode trampoline (dispatcher thread). Never raises into C."""
        try:
            raw = event_ptr.contents
            event = Event.from_raw(raw)
            self._route(raw.task_user_data or 0, event)
        except BaseException as exc:
            self._report_callback_error(exc, "event trampoline")

    def _route(self, token: int, event: Event) -> None:
        with self._lock:
            task = self._tasks.get(token)
        if task is None:
            raise RuntimeError(f"event {event.kind.name} for task {event.task} with unknown token {token}")
        if not task.id:
            task.id = event.task
        if task.is_terminal(event):
            # Unregistered first: whoever its done callbacks wake sees it gone.
            with self._lock:
                self._tasks.pop(token, None)
        task._deliver(event)

    def _report_callback_error(self, exc: BaseException, where: str) -> None:
        try:
            self._error_hook(exc, where)
        except Exception:
            _log.exception("the on_callback_error hook itself raised (while reporting %s)", where)


def _synthesized_terminal(task: Task) -> Event:
    """The terminal event of a task the library can no longer deliver to (poll mode
    close after the drain timeout): abort, as ``wxnet_app_free`` would have done."""
    if isinstance(task, SocketTask):
        return Event(task=task.id, kind=EventKind.SOCKET_CLOSE, json={"code": 1000, "reason": "app closed"})
    errno = 603105 if isinstance(task, DownloadTask) else 1
    return Event(task=task.id, kind=EventKind.FAIL, json={"errMsg": f"{task.api}:fail abort", "errno": errno})


@atexit.register
def _close_leftover_apps() -> None:
    """Frees apps still open at interpreter exit, so no dispatcher thread calls into a
    finalizing interpreter."""
    for app in list(_live_apps):
        try:
            app.close(drain_timeout=0.5)
        except Exception:
            _log.exception("closing %r at exit", app)

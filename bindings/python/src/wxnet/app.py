"""``App``: one mini-program instance (``wxnet_app``).

Threading and lifetimes:

* Callback mode (the default): the library calls one module-level ``CFUNCTYPE``
  trampoline (:data:`_EVENT_TRAMPOLINE`, shared by every app and never freed) on the
  app's dispatcher thread, one event at a time; its ``app_user_data`` is an integer
  token that names the App in :data:`_open_apps`. ctypes takes the GIL for it; every
  wxnet call goes through ``ctypes.CDLL``, which releases the GIL, so ``close()`` can
  wait for running callbacks without deadlock.
* Poll mode (``App(config, poll=True)``): nothing runs on library threads except the
  optional wakeup hook (also one never-freed trampoline, :data:`_WAKE_TRAMPOLINE`, that
  calls the App's current hook); :meth:`App.poll` copies and frees each event on the
  caller's thread.
* An App lives until :meth:`App.close` (or interpreter exit): :data:`_open_apps` holds
  every open App strongly, so an App dropped without ``close()`` is not collected
  while the library may still deliver to it (it leaks until exit instead). At exit an
  ``atexit`` hook closes the apps still open, then removes the log sink, so no library
  thread calls into a finalizing interpreter.
* The app handle is a generation-checked table entry: a call racing ``close()`` on
  another thread (``poll(-1)`` included) gets ``WXNET_E_CLOSED``, raised as
  :class:`~wxnet.ClosedError`, an :class:`~wxnet.AppClosedError`.
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
from typing import Any, Callable, Mapping, Optional, Union

from . import _ffi, aio, log
from ._hooks import HookSlot
from .errors import AppClosedError, WouldDeadlockError
from .events import Event, EventKind
from .options import AppConfig, ConnectSocketOptions, DownloadFileOptions, RequestOptions, UploadFileOptions
from .response import Response
from .tasks import DownloadTask, EventHandler, RequestTask, SocketTask, Task, UploadTask

_log = logging.getLogger("wxnet")

Config = Union[AppConfig, Mapping[str, Any], str, bytes]
"""An app config: a mapping (serialized to JSON) or JSON text."""

CallbackErrorHook = Callable[[BaseException, str], None]

#: Every App between its creation and the end of its close(), by its token (the
#: ``app_user_data`` the trampolines get). Strong references: see the module docstring.
_open_apps: dict[int, App] = {}
_open_apps_lock = threading.Lock()
_app_tokens = itertools.count(1)


def _dispatch_event(app_ud: Optional[int], event_ptr: Any) -> None:
    """The callback-mode trampoline (dispatcher thread). Never raises into C."""
    try:
        app = _open_apps.get(app_ud or 0)
        if app is None:  # cannot happen: an App stays registered until wxnet_app_free returned
            _log.error("wxnet event for unknown app token %r dropped", app_ud)
            return
        app._on_event(event_ptr)
    except BaseException:  # noqa: BLE001 - nothing may unwind into C
        try:
            _log.exception("wxnet event trampoline")
        except BaseException:  # noqa: BLE001
            pass


def _dispatch_wake(ud: Optional[int]) -> None:
    """The poll-mode wakeup trampoline (dispatcher thread). Never raises into C."""
    try:
        app = _open_apps.get(ud or 0)
        if app is not None:
            app._on_wake()
    except BaseException:  # noqa: BLE001 - nothing may unwind into C
        try:
            _log.exception("wxnet wakeup trampoline")
        except BaseException:  # noqa: BLE001
            pass


#: The only event callback and wakeup hook the library is ever given: module-level,
#: never freed, so no C call can reach a freed ctypes callback.
_EVENT_TRAMPOLINE = _ffi.EVENT_CALLBACK(_dispatch_event)
_WAKE_TRAMPOLINE = _ffi.WAKE_CALLBACK(_dispatch_wake)
_NULL_EVENT_CALLBACK = _ffi.EVENT_CALLBACK()  # poll mode
_NULL_WAKE_CALLBACK = _ffi.WAKE_CALLBACK()  # no wakeup hook


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
    ``async with``), or call :meth:`close`. An App lives until :meth:`close` (or until
    interpreter exit, where the apps still open are closed): dropping the last reference
    does not free it.

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
        self._starting: set[int] = set()  # tokens of tasks whose start call is running
        self._closing = False
        self._closed = False
        self._poll_mode = poll
        self._error_hook = on_callback_error or _default_error_hook
        # The wakeup hook (poll mode) the wake trampoline calls; replaced without
        # keeping old ones (see wxnet._hooks).
        self._wake_slot: HookSlot[Callable[[], None]] = HookSlot(self._install_wake)
        #: The events this app's asyncio helpers handed to event loops and the loops have
        #: not handled yet: bounded, see :class:`wxnet.aio.LoopBacklog`.
        self.loop_backlog = aio.LoopBacklog()
        self._handle: Optional[int] = None
        self._token = next(_app_tokens)
        # Registered before wxnet_app_new: from then on the library may call the
        # trampoline with this token. A NULL function pointer selects poll mode.
        with _open_apps_lock:
            _open_apps[self._token] = self
        out = ctypes.c_void_p()
        try:
            _ffi.check(
                _ffi.lib.wxnet_app_new(raw, len(raw), _NULL_EVENT_CALLBACK if poll else _EVENT_TRAMPOLINE,
                                       self._token, ctypes.byref(out)),
                "wxnet_app_new",
            )
        except BaseException:
            with _open_apps_lock:
                _open_apps.pop(self._token, None)
            raise
        self._handle = out.value

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
        (e.g. ``loop.call_soon_threadsafe``). None removes the hook.

        When this returns, the previous hook is not running on another thread and is
        not called again (it is released). The hook may call ``set_wakeup`` itself
        (``set_wakeup(None)`` makes it one-shot).

        Raises :class:`~wxnet.WrongModeError` on a callback-mode app and
        :class:`~wxnet.AppClosedError` once the app is closed."""
        if wake is not None and not callable(wake):
            raise TypeError("wake must be callable or None")
        self._require_handle()
        self._wake_slot.replace(wake)

    def _install_wake(self, wake: Optional[Callable[[], None]]) -> None:
        hook = _NULL_WAKE_CALLBACK if wake is None else _WAKE_TRAMPOLINE
        _ffi.check(_ffi.lib.wxnet_app_set_wakeup(self._require_handle(), hook, self._token),
                   "wxnet_app_set_wakeup")

    def _on_wake(self) -> None:
        """Called by the wake trampoline (dispatcher thread)."""
        wake = self._wake_slot.enter()
        try:
            if wake is not None:
                wake()
        except Exception as exc:
            self._report_callback_error(exc, "wakeup hook")
        finally:
            self._wake_slot.leave()

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
        # wxnet_app_free returned: no callback or wakeup hook of this app runs any more,
        # and none will (nor can the handle reach it: later calls get WXNET_E_CLOSED).
        with self._lock:
            self._closed = True
            self._handle = None
            # Tasks whose start call still runs are left to it (see _start): it either
            # failed with WXNET_E_CLOSED (no task) or started one before the free.
            orphans = [(token, task) for token, task in self._tasks.items() if token not in self._starting]
            self._tasks.clear()
        with _open_apps_lock:
            _open_apps.pop(self._token, None)
        self._wake_slot.forget()
        for _token, task in orphans:
            if not self._poll_mode:
                self._report_callback_error(
                    RuntimeError(f"library bug: {task!r} got no terminal event before wxnet_app_free returned"),
                    "close",
                )
            task._deliver(_synthesized_terminal(task))

    def _abort_and_drain(self, timeout: float) -> None:
        for task in self.live_tasks:
            if not task.id:
                continue  # its start call is still running: _start aborts it (it sees _closing)
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
            self._starting.add(token)
        out = ctypes.c_uint64()
        try:
            _ffi.check(start(token, out), call)
        except BaseException:
            # Not started (WXNET_E_CLOSED when close() freed the app meanwhile: raised as
            # a ClosedError, an AppClosedError): no event will come.
            with self._lock:
                self._tasks.pop(token, None)
                self._starting.discard(token)
            raise
        with self._lock:
            task.id = out.value
            self._starting.discard(token)
            closing, closed = self._closing, self._closed
        if closed and not task.done:
            # Started just before a poll-mode close() freed the app, whose queue took the
            # terminal event with it: synthesize it, as close() does for its orphans.
            task._deliver(_synthesized_terminal(task))
        elif closing:
            # close() began while the start call ran, so it may not have seen the id:
            # abort here, so that its drain (poll mode) gets the terminal event.
            try:
                task.abort()
            except Exception:  # noqa: BLE001 - the app was freed meanwhile (see above)
                pass
        return task

    def _on_event(self, event_ptr: Any) -> None:
        """Called by the callback-mode trampoline (dispatcher thread) with the borrowed
        event, valid during the call only. Never raises."""
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
    """Frees apps still open at interpreter exit, then removes the log sink, so no
    library thread calls a trampoline of a finalizing interpreter."""
    with _open_apps_lock:
        leftovers = list(_open_apps.values())
    for app in leftovers:
        try:
            app.close(drain_timeout=0.5)
        except Exception:
            _log.exception("closing %r at exit", app)
    log._remove_at_exit()

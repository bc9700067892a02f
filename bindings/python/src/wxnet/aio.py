"""asyncio helpers on top of the task objects.

Events arrive on a library thread (callback mode) or the polling thread; everything
here hands them to the running loop with ``loop.call_soon_threadsafe``, so futures,
queues and ``on_event`` handlers are only touched on the loop's thread. Cancelling an
awaiting coroutine aborts its task.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any, Callable, Mapping, Optional, Protocol

from . import _ffi
from .errors import InvalidStateError, SocketClosed, SocketOverflow
from .events import Event, EventKind
from .options import ConnectSocketOptions, DownloadFileOptions, RequestOptions, UploadFileOptions
from .response import Response
from .tasks import DownloadTask, EventHandler, RequestTask, SocketTask, Task, UploadTask, _raise_if_fail

_SETTLE_AFTER_ABORT_S = 5.0
#: Default limits of an :class:`AsyncSocket`'s unread messages (see :func:`connect_socket`).
MAX_BUFFERED_MESSAGES = 4096
MAX_BUFFERED_BYTES = 16 * 1024 * 1024
_log = logging.getLogger("wxnet")


class TaskStarter(Protocol):
    """What the helpers here need of an app: its ``start_*`` methods.
    :class:`~wxnet.App` is one (its ``request``, ``upload_file``... call these helpers)."""

    def start_request(
        self,
        options: RequestOptions | Mapping[str, Any],
        body: Optional[bytes | bytearray | memoryview] = None,
        on_event: Optional[EventHandler] = None,
    ) -> RequestTask: ...

    def start_upload_file(self, options: UploadFileOptions | Mapping[str, Any],
                          on_event: Optional[EventHandler] = None) -> UploadTask: ...

    def start_download_file(self, options: DownloadFileOptions | Mapping[str, Any],
                            on_event: Optional[EventHandler] = None) -> DownloadTask: ...

    def start_socket(self, options: ConnectSocketOptions | Mapping[str, Any],
                     on_event: Optional[EventHandler] = None) -> SocketTask: ...


#: Default limit of one app's events handed to one event loop and not yet handled there.
MAX_LOOP_BACKLOG_BYTES = 4 * 1024 * 1024
#: How often a delivering thread that waits for a loop checks that the loop still runs.
_BACKLOG_RECHECK_S = 0.05


class LoopBacklog:
    """The events one app has handed to event loops (``loop.call_soon_threadsafe``) that
    the loops have not handled yet, counted as the library counts ``maxQueuedEventBytes``
    (data + 128 per event; the JSON is left out, being small next to the data that
    matters), per loop. When more than ``max_bytes`` wait for a loop (and at least one
    does: one larger event passes alone), the delivering thread waits for the loop to
    catch up. The library's own queue then fills and its transfers stop reading their
    sockets, so a busy loop slows the servers down instead of growing memory.

    The wait never happens on the loop's own thread, nor for a loop that is not running
    (its callbacks may never run), and :meth:`unbound` (``App.close()``) ends it for good:
    close may be called on the loop's thread while the dispatcher waits for that loop."""

    def __init__(self, max_bytes: int = MAX_LOOP_BACKLOG_BYTES) -> None:
        self.max_bytes = max_bytes
        self._cond = threading.Condition()
        self._pending: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
        self._unbounded = False
        #: The most bytes that ever waited for one loop (for the tests).
        self.high_water = 0

    def wait_for_pending(self, loop: asyncio.AbstractEventLoop, at_least: int, timeout: float) -> bool:
        """Waits (at most ``timeout`` s) until more than ``at_least`` bytes wait for ``loop``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending.get(loop, 0) > at_least, timeout)

    def unbound(self) -> None:
        """From now on nobody waits (the app is closing)."""
        with self._cond:
            self._unbounded = True
            self._cond.notify_all()

    def _must_wait(self, loop: asyncio.AbstractEventLoop, size: int) -> bool:
        pending = self._pending.get(loop, 0)
        if self._unbounded or pending == 0 or pending + size <= self.max_bytes:
            return False
        return loop.is_running() and not loop.is_closed()

    def hand(self, loop: asyncio.AbstractEventLoop, size: int, fn: Callable[..., Any], *args: Any) -> None:
        """Schedules ``fn(*args)`` on ``loop`` as ``size`` bytes, after waiting for room."""
        try:
            on_loop_thread = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop_thread = False
        with self._cond:
            while not on_loop_thread and self._must_wait(loop, size):
                self._cond.wait(_BACKLOG_RECHECK_S)
            pending = self._pending.get(loop, 0) + size
            self._pending[loop] = pending
            self.high_water = max(self.high_water, pending)
            self._cond.notify_all()

        def run() -> None:
            try:
                fn(*args)
            finally:
                with self._cond:
                    self._pending[loop] -= size
                    self._cond.notify_all()

        _to_loop(loop, run)


def _hand(app: Any, loop: asyncio.AbstractEventLoop, fn: Callable[[Event], Any], ev: Event) -> None:
    """Hands ``fn(ev)`` to ``loop``, through the app's :class:`LoopBacklog` when it has one
    (``App`` does; other task starters may not)."""
    backlog = getattr(app, "loop_backlog", None)
    if isinstance(backlog, LoopBacklog):
        backlog.hand(loop, len(ev.data) + 128, fn, ev)
    else:
        _to_loop(loop, fn, ev)


def _to_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Schedules ``fn(*args)`` on ``loop`` from any thread. When the loop is already
    closed nobody can await the result any more, so the call is dropped; any other
    failure propagates (and reaches the app's error hook)."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        if not loop.is_closed():
            raise


async def _abort_and_settle(task: Task, ended: asyncio.Future[Any]) -> None:
    """On cancellation: aborts the task and waits (briefly) for its terminal event, so
    the task does not outlive the awaiting coroutine."""
    task.abort()
    try:
        await asyncio.wait_for(asyncio.shield(ended), _SETTLE_AFTER_ABORT_S)
    except asyncio.TimeoutError:
        _log.warning("%r got no terminal event within %s s of its abort", task, _SETTLE_AFTER_ABORT_S)
    except asyncio.CancelledError:
        pass  # cancelled again while settling: the caller re-raises CancelledError anyway


async def _run(app: TaskStarter, start: Callable[[Optional[EventHandler]], Task],
               on_event: Optional[EventHandler]) -> Any:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Event] = loop.create_future()

    def resolve(event: Event) -> None:
        if not future.done():
            future.set_result(event)

    forward = None if on_event is None else (lambda ev: _hand(app, loop, on_event, ev))
    task = start(forward)
    task.add_done_callback(lambda ev: _hand(app, loop, resolve, ev))
    try:
        # Shielded: cancelling the caller must not cancel `future`, which then still
        # tells when the aborted task has really ended.
        event = await asyncio.shield(future)
    except asyncio.CancelledError:
        await _abort_and_settle(task, future)
        raise
    return task.res_of(event)


async def request(app: TaskStarter, options: RequestOptions | Mapping[str, Any], body: Optional[bytes] = None, *,
                  on_event: Optional[EventHandler] = None) -> Response:
    """Runs a ``wx.request`` and returns its :class:`~wxnet.Response` (``.status``,
    ``.headers``, ``.data``, ``.text``, ``.json()``; also the res mapping): ``data`` is
    a ``dict``/list for ``dataKind`` "json", ``str`` for "text", ``bytes`` for
    "arraybuffer".

    ``on_event`` (optional) sees every event (headers, chunks...) on the loop thread.
    Raises :class:`~wxnet.WxFail` for a wx fail result (e.g. ``request:fail abort``)."""
    return await _run(app, lambda h: app.start_request(options, body, h), on_event)


async def upload_file(app: TaskStarter, options: UploadFileOptions | Mapping[str, Any], *,
                      on_event: Optional[EventHandler] = None) -> Response:
    """Runs a ``wx.uploadFile``; returns a :class:`~wxnet.Response` over
    ``{errMsg, statusCode, data (str), ...}``.
    PROGRESS events reach ``on_event`` on the loop thread."""
    return await _run(app, lambda h: app.start_upload_file(options, h), on_event)


async def download_file(app: TaskStarter, options: DownloadFileOptions | Mapping[str, Any], *,
                        on_event: Optional[EventHandler] = None) -> dict[str, Any]:
    """Runs a ``wx.downloadFile``; returns ``{errMsg, statusCode, tempFilePath|filePath,
    ...}``. PROGRESS events reach ``on_event`` on the loop thread."""
    return await _run(app, lambda h: app.start_download_file(options, h), on_event)


class _MessageBuffer:
    """Counts an :class:`AsyncSocket`'s messages from the moment they arrive (on the
    library's thread) until the consumer takes them (on the loop's thread), so that
    neither the queue nor the loop's pending callbacks grow without bound. A message
    that would go past a limit (unless none is waiting: one message larger than
    ``max_bytes`` passes alone) aborts the socket; the queue then gets ``overflow``
    after the messages before it, and no further message."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._messages = 0
        self._bytes = 0
        self.overflow: Optional[SocketOverflow] = None

    def admit(self, size: int) -> Optional[SocketOverflow]:
        """On the delivering thread, before any overflow. None: the message may be queued.
        Otherwise the overflow (also kept in :attr:`overflow`): the caller aborts and
        queues it, and keeps no later message."""
        with self._lock:
            fits = self._messages + 1 <= self.max_messages and self._bytes + size <= self.max_bytes
            if self._messages == 0 or fits:
                self._messages += 1
                self._bytes += size
                return None
            self.overflow = SocketOverflow(self._messages, self._bytes, self.max_messages, self.max_bytes)
            return self.overflow

    def taken(self, size: int) -> None:
        """The consumer took a message of ``size`` bytes."""
        with self._lock:
            self._messages -= 1
            self._bytes -= size


def _check_limit(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


class AsyncSocket:
    """An open socket for asyncio code: ``async for message in socket``, or
    ``await recv()``; ``send()``, ``close()``, ``await wait_closed()``; ``async with``
    closes it (code 1000) and waits for the close on exit.

    Unread messages are bounded (see :func:`connect_socket`): a consumer that falls
    behind by more than the limits gets :class:`~wxnet.SocketOverflow` after the messages
    buffered before it, and the socket is aborted.

    Attributes:
        task: the underlying :class:`~wxnet.SocketTask`.
        open_res: the SOCKET_OPEN res (``{header, profile}``).
    """

    def __init__(self, task: SocketTask, open_res: dict[str, Any],
                 queue: asyncio.Queue[Event | SocketOverflow], buffer: _MessageBuffer) -> None:
        self.task = task
        self.open_res = open_res
        self._queue = queue
        self._buffer = buffer
        self._close: Optional[Event] = None
        self._overflow: Optional[SocketOverflow] = None
        self.errors: list[str] = []

    async def _next_message(self) -> Optional[Event]:
        """The next SOCKET_MESSAGE event, or None once SOCKET_CLOSE was taken and nothing is
        left; records the overflow, errors and the close on the way."""
        while True:
            if self._close is not None and self._queue.empty():
                return None
            item = await self._queue.get()
            if isinstance(item, SocketOverflow):
                self._overflow = item
            elif item.kind == EventKind.SOCKET_MESSAGE:
                self._buffer.taken(len(item.data))
                return item
            elif item.kind == EventKind.SOCKET_ERROR:
                self.errors.append(str(item.json.get("errMsg", "")))
            elif item.kind == EventKind.SOCKET_CLOSE:
                self._close = item

    async def recv(self) -> str | bytes:
        """The next message (``str`` for text frames, ``bytes`` for binary ones).
        Raises :class:`~wxnet.SocketOverflow` after the messages buffered before an
        overflow, and :class:`~wxnet.SocketClosed` once the socket closed."""
        if self._overflow is None:
            event = await self._next_message()
            if event is not None and self._overflow is None:
                return event.message()
        if self._overflow is not None:
            raise self._overflow
        assert self._close is not None
        raise _closed(self._close)

    def __aiter__(self) -> AsyncSocket:
        return self

    async def __anext__(self) -> str | bytes:
        """The next message; the iteration ends once the socket closed (the close code
        and reason are then in :attr:`close_code` / :attr:`close_reason`), or raises
        :class:`~wxnet.SocketOverflow`."""
        try:
            return await self.recv()
        except SocketClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AsyncSocket:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._close is None and not self.task.done:
            try:
                self.close()
            except InvalidStateError:
                pass  # already closing: SOCKET_CLOSE is on its way
        await self.wait_closed()

    @property
    def close_code(self) -> Optional[int]:
        """The close code once SOCKET_CLOSE was received, else None."""
        return None if self._close is None else int(self._close.json.get("code", 1006))

    @property
    def close_reason(self) -> Optional[str]:
        """The close reason once SOCKET_CLOSE was received, else None."""
        return None if self._close is None else str(self._close.json.get("reason", ""))

    def send(self, data: str | bytes) -> None:
        """Sends a text (``str``) or binary (bytes) message. See :meth:`SocketTask.send`."""
        self.task.send(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Starts the close handshake. See :meth:`SocketTask.close`."""
        self.task.close(code, reason)

    async def wait_closed(self) -> tuple[int, str]:
        """Waits for SOCKET_CLOSE (dropping unread messages, and after an overflow too)
        and returns ``(code, reason)``."""
        while await self._next_message() is not None:
            pass
        assert self._close is not None
        closed = _closed(self._close)
        return closed.code, closed.reason


def _closed(close: Event) -> SocketClosed:
    """What a SOCKET_CLOSE event tells the consumer."""
    return SocketClosed(int(close.json.get("code", 1006)), str(close.json.get("reason", "")))


async def connect_socket(app: TaskStarter, options: ConnectSocketOptions | Mapping[str, Any], *,
                         max_buffered_messages: int = MAX_BUFFERED_MESSAGES,
                         max_buffered_bytes: int = MAX_BUFFERED_BYTES) -> AsyncSocket:
    """Connects a ``wx.connectSocket`` and returns once it is open.

    Messages wait for :meth:`AsyncSocket.recv` in a bounded buffer: at most
    ``max_buffered_messages`` messages and ``max_buffered_bytes`` payload bytes (one
    larger message passes alone). A message beyond that aborts the socket; ``recv`` then
    returns the messages buffered before it and raises :class:`~wxnet.SocketOverflow`.

    Raises :class:`~wxnet.WxFail` when the call is rejected (FAIL) and
    :class:`~wxnet.SocketClosed` when it closes before opening (e.g. a TLS or
    handshake failure: 1006); ``TypeError``/``ValueError`` for a limit that is not an
    int of at least 1."""
    buffer = _MessageBuffer(_check_limit("max_buffered_messages", max_buffered_messages),
                            _check_limit("max_buffered_bytes", max_buffered_bytes))
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | SocketOverflow] = asyncio.Queue()

    def on_event(ev: Event) -> None:  # on the library's thread
        if ev.kind == EventKind.SOCKET_MESSAGE:
            if buffer.overflow is not None:
                return  # nothing after an overflow is kept
            overflow = buffer.admit(len(ev.data))
            if overflow is not None:
                # By id: this may run before start_socket has returned the task object.
                # The status is not checked: UNKNOWN_TASK means the app is closing, which
                # ends the socket anyway.
                _ffi.lib.wxnet_task_abort(ev.task)
                _to_loop(loop, queue.put_nowait, overflow)
                return
        _hand(app, loop, queue.put_nowait, ev)

    task = app.start_socket(options, on_event)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, SocketOverflow):
                raise item
            event = item
            _raise_if_fail(event)
            if event.kind == EventKind.SOCKET_OPEN:
                return AsyncSocket(task, dict(event.json), queue, buffer)
            if event.kind == EventKind.SOCKET_CLOSE:
                raise _closed(event)
            # SUCCESS (connectSocket:ok) and SOCKET_ERROR before the open: keep waiting.
    except asyncio.CancelledError:
        task.abort()
        raise

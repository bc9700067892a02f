"""asyncio helpers on top of the task objects.

Events arrive on a library thread (callback mode) or the polling thread; everything
here hands them to the running loop with ``loop.call_soon_threadsafe``, so futures,
queues and ``on_event`` handlers are only touched on the loop's thread. Cancelling an
awaiting coroutine aborts its task.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Mapping, Optional, Protocol

from .errors import InvalidStateError, SocketClosed, WxFail
from .events import Event, EventKind
from .options import ConnectSocketOptions, DownloadFileOptions, RequestOptions, UploadFileOptions
from .response import Response
from .tasks import DownloadTask, EventHandler, RequestTask, SocketTask, Task, UploadTask

_SETTLE_AFTER_ABORT_S = 5.0
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


async def _run(start: Callable[[Optional[EventHandler]], Task],
               on_event: Optional[EventHandler]) -> Any:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Event] = loop.create_future()

    def resolve(event: Event) -> None:
        if not future.done():
            future.set_result(event)

    forward = None if on_event is None else (lambda ev: _to_loop(loop, on_event, ev))
    task = start(forward)
    task.add_done_callback(lambda ev: _to_loop(loop, resolve, ev))
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
    return await _run(lambda h: app.start_request(options, body, h), on_event)


async def upload_file(app: TaskStarter, options: UploadFileOptions | Mapping[str, Any], *,
                      on_event: Optional[EventHandler] = None) -> Response:
    """Runs a ``wx.uploadFile``; returns a :class:`~wxnet.Response` over
    ``{errMsg, statusCode, data (str), ...}``.
    PROGRESS events reach ``on_event`` on the loop thread."""
    return await _run(lambda h: app.start_upload_file(options, h), on_event)


async def download_file(app: TaskStarter, options: DownloadFileOptions | Mapping[str, Any], *,
                        on_event: Optional[EventHandler] = None) -> dict[str, Any]:
    """Runs a ``wx.downloadFile``; returns ``{errMsg, statusCode, tempFilePath|filePath,
    ...}``. PROGRESS events reach ``on_event`` on the loop thread."""
    return await _run(lambda h: app.start_download_file(options, h), on_event)


class AsyncSocket:
    """An open socket for asyncio code: ``async for message in socket``, or
    ``await recv()``; ``send()``, ``close()``, ``await wait_closed()``; ``async with``
    closes it (code 1000) and waits for the close on exit.

    Attributes:
        task: the underlying :class:`~wxnet.SocketTask`.
        open_res: the SOCKET_OPEN res (``{header, profile}``).
    """

    def __init__(self, task: SocketTask, open_res: dict[str, Any], queue: asyncio.Queue[Event]) -> None:
        self.task = task
        self.open_res = open_res
        self._queue = queue
        self._close: Optional[Event] = None
        self.errors: list[str] = []

    async def recv(self) -> str | bytes:
        """The next message (``str`` for text frames, ``bytes`` for binary ones).
        Raises :class:`~wxnet.SocketClosed` once the socket closed."""
        while True:
            if self._close is not None and self._queue.empty():
                raise SocketClosed(int(self._close.json.get("code", 1006)), str(self._close.json.get("reason", "")))
            event = await self._queue.get()
            if event.kind == EventKind.SOCKET_MESSAGE:
                return event.message()
            if event.kind == EventKind.SOCKET_ERROR:
                self.errors.append(str(event.json.get("errMsg", "")))
            elif event.kind == EventKind.SOCKET_CLOSE:
                self._close = event

    def __aiter__(self) -> AsyncSocket:
        return self

    async def __anext__(self) -> str | bytes:
        """The next message; the iteration ends once the socket closed (the close code
        and reason are then in :attr:`close_code` / :attr:`close_reason`)."""
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
        """Waits for SOCKET_CLOSE (dropping unread messages) and returns ``(code, reason)``."""
        try:
            while True:
                await self.recv()
        except SocketClosed as closed:
            return closed.code, closed.reason


async def connect_socket(app: TaskStarter, options: ConnectSocketOptions | Mapping[str, Any]) -> AsyncSocket:
    """Connects a ``wx.connectSocket`` and returns once it is open.

    Raises :class:`~wxnet.WxFail` when the call is rejected (FAIL) and
    :class:`~wxnet.SocketClosed` when it closes before opening (e.g. a TLS or
    handshake failure: 1006)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event] = asyncio.Queue()
    task = app.start_socket(options, lambda ev: _to_loop(loop, queue.put_nowait, ev))
    try:
        while True:
            event = await queue.get()
            if event.kind == EventKind.FAIL:
                raise WxFail(event.json.get("errMsg", ""), int(event.json.get("errno", 0)), event.json)
            if event.kind == EventKind.SOCKET_OPEN:
                return AsyncSocket(task, dict(event.json), queue)
            if event.kind == EventKind.SOCKET_CLOSE:
                raise SocketClosed(int(event.json.get("code", 1006)), str(event.json.get("reason", "")))
            # SUCCESS (connectSocket:ok) and SOCKET_ERROR before the open: keep waiting.
    except asyncio.CancelledError:
        task.abort()
        raise

"""wxnet: Python binding of the wxnet C library (wx.request, uploadFile, downloadFile
and connectSocket for mini-program containers), through ctypes.

Quick start::

    import asyncio, wxnet

    async def main():
        async with wxnet.App({"appId": "wx0123456789abcdef", "urlCheck": False}) as app:
            res = await app.request({"url": "https://example.com/api"})
            print(res.status, res.headers.get("content-type"), res.data)

    asyncio.run(main())
"""

from ._ffi import ABI_VERSION, LIBRARY_PATH, last_error, status_str, version
from .aio import AsyncSocket
from .app import App
from .errors import (
    AppClosedError,
    CallError,
    ClosedError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidStateError,
    NullArgumentError,
    PanicError,
    SocketClosed,
    SocketOverflow,
    UnknownTaskError,
    WouldDeadlockError,
    WrongModeError,
    WxFail,
    WxnetError,
)
from .events import Event, EventKind, decode_data
from .log import log_to_logging, set_log_handler
from .options import (
    AppConfig,
    ConnectSocketOptions,
    DownloadFileOptions,
    Domains,
    NetworkTimeout,
    RequestOptions,
    UploadFileOptions,
)
from .response import Response
from .tasks import DownloadTask, RequestTask, SocketTask, Task, UploadTask

__all__ = [
    "ABI_VERSION", "LIBRARY_PATH", "last_error", "status_str", "version",
    "App", "AsyncSocket", "Response",
    "AppConfig", "Domains", "NetworkTimeout", "RequestOptions", "UploadFileOptions",
    "DownloadFileOptions", "ConnectSocketOptions", "Event", "EventKind", "decode_data",
    "Task", "RequestTask", "UploadTask", "DownloadTask", "SocketTask",
    "WxnetError", "CallError", "NullArgumentError", "InvalidArgumentError", "InvalidConfigError",
    "UnknownTaskError", "InvalidStateError", "WrongModeError", "WouldDeadlockError",
    "ClosedError", "PanicError", "AppClosedError", "WxFail", "SocketClosed", "SocketOverflow",
    "set_log_handler", "log_to_logging",
]

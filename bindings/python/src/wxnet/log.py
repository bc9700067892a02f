"""The library's process-wide log sink (``wxnet_set_log_callback``).

The C callback may run on any library thread, concurrently; the messages never hold
URLs with queries, header values or bodies.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from . import _ffi

LogHandler = Callable[[int, str], None]
"""``handler(level, message)``: level 1 error, 2 warn, 3 info, 4 debug, 5 trace."""

_PY_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: logging.DEBUG}

_lock = threading.Lock()
# Every trampoline ever registered stays alive: a library thread may still be inside
# an older one while it is being replaced.
_registered: list[Any] = []


def set_log_handler(handler: Optional[LogHandler], max_level: int = 3) -> None:
    """Sends the library's log lines up to ``max_level`` (1..5) to ``handler``; None
    turns logging off. Exceptions raised by ``handler`` are printed by
    :func:`logging.exception` on the ``wxnet`` logger, never passed to the library."""
    if not isinstance(max_level, int) or not 1 <= max_level <= 5:
        raise ValueError(f"max_level must be 1..5, not {max_level!r}")
    if handler is None:
        _ffi.check(_ffi.lib.wxnet_set_log_callback(_ffi.LOG_CALLBACK(), None, max_level),
                   "wxnet_set_log_callback")
        return
    if not callable(handler):
        raise TypeError("handler must be callable or None")

    def trampoline(_ud: Any, level: int, msg: Any, length: int) -> None:
        try:
            handler(level, _ffi.read_bytes(msg, length).decode("utf-8", "replace"))
        except Exception:
            logging.getLogger("wxnet").exception("wxnet log handler raised")

    cb = _ffi.LOG_CALLBACK(trampoline)
    with _lock:
        _registered.append(cb)
        _ffi.check(_ffi.lib.wxnet_set_log_callback(cb, None, max_level), "wxnet_set_log_callback")


def log_to_logging(logger: Optional[logging.Logger] = None, max_level: int = 3) -> None:
    """Forwards the library's log to a :mod:`logging` logger (default ``wxnet.native``)."""
    target = logger or logging.getLogger("wxnet.native")
    set_log_handler(lambda level, msg: target.log(_PY_LEVELS.get(level, logging.DEBUG), "%s", msg), max_level)

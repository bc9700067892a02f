"""The library's process-wide log sink (``wxnet_set_log_callback``).

The C callback runs on a library thread; the messages never hold URLs with queries,
header values or bodies.

Lifetimes: the library only ever gets ONE ctypes trampoline, :data:`_TRAMPOLINE`,
created at import and never freed, so no C call can reach a freed callback. The
Python handler it calls lives in a :class:`~wxnet._hooks.HookSlot`: replacing it
drops the old handler (a call still running keeps its own reference), so handlers do
not pile up. No Python lock is held across ``wxnet_set_log_callback`` (which waits for
running calls of the callback, and a handler may itself call :func:`set_log_handler`).
At interpreter exit the sink is removed (see ``wxnet.app``), before the trampoline
could be torn down with the module.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from . import _ffi
from ._hooks import HookSlot

LogHandler = Callable[[int, str], None]
"""``handler(level, message)``: level 1 error, 2 warn, 3 info, 4 debug, 5 trace."""

_PY_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: logging.DEBUG}

_Sink = tuple[LogHandler, int]  # (handler, max_level)


def _trampoline(_ud: Any, level: int, msg: Any, length: int) -> None:
    sink = _slot.enter()
    try:
        if sink is not None:
            sink[0](level, _ffi.read_bytes(msg, length).decode("utf-8", "replace"))
    except Exception:
        logging.getLogger("wxnet").exception("wxnet log handler raised")
    finally:
        _slot.leave()


#: The one log callback the library is ever given; never freed.
_TRAMPOLINE = _ffi.LOG_CALLBACK(_trampoline)
_NULL = _ffi.LOG_CALLBACK()


def _apply(sink: Optional[_Sink]) -> None:
    if sink is None:
        status = _ffi.lib.wxnet_set_log_callback(_NULL, None, 0)
    else:
        status = _ffi.lib.wxnet_set_log_callback(_TRAMPOLINE, None, sink[1])
    _ffi.check(status, "wxnet_set_log_callback")


_slot: HookSlot[_Sink] = HookSlot(_apply)


def set_log_handler(handler: Optional[LogHandler], max_level: int = 3) -> None:
    """Sends the library's log lines up to ``max_level`` (1..5) to ``handler``; None
    turns logging off. Exceptions raised by ``handler`` are printed by
    :func:`logging.exception` on the ``wxnet`` logger, never passed to the library.

    When this returns, the previous handler is not running on another thread and is
    not called again. A handler may call this itself; if another thread is replacing
    the handler at that moment, that thread installs this call's handler and this call
    returns at once."""
    if not isinstance(max_level, int) or not 1 <= max_level <= 5:
        raise ValueError(f"max_level must be 1..5, not {max_level!r}")
    if handler is not None and not callable(handler):
        raise TypeError("handler must be callable or None")
    _slot.replace(None if handler is None else (handler, max_level))


def log_to_logging(logger: Optional[logging.Logger] = None, max_level: int = 3) -> None:
    """Forwards the library's log to a :mod:`logging` logger (default ``wxnet.native``)."""
    target = logger or logging.getLogger("wxnet.native")
    set_log_handler(lambda level, msg: target.log(_PY_LEVELS.get(level, logging.DEBUG), "%s", msg), max_level)


def _remove_at_exit() -> None:
    """Removes the sink (waiting for a running handler), so the library's log thread
    never calls into a finalizing interpreter. Called by ``wxnet.app``'s exit hook,
    after the apps are closed. A sink this module never installed is left alone."""
    if _slot.installed is None and _slot.current is None:
        return
    try:
        _slot.replace(None)
    except Exception:
        logging.getLogger("wxnet").exception("removing the wxnet log handler at exit")

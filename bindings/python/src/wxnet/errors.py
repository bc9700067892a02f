"""Exceptions of the wxnet binding.

Every exception of this package derives from :class:`WxnetError`, so
``except wxnet.WxnetError`` catches them all. Below it:

* :class:`CallError` and its subclasses: a C call returned a negative status
  (API misuse: bad arguments, wrong mode, unknown task...). They carry the status
  number and the library's ``wxnet_last_error()`` detail.
* :class:`WxFail`: a wx-level failure (policy, DNS, TLS, timeout, abort...), i.e. a
  FAIL event, carrying ``errMsg`` and ``errno`` exactly as mini-program code sees them.
* :class:`SocketClosed` (the socket ended) and :class:`AppClosedError` (the App is
  closed; :class:`ClosedError`, the library's ``WXNET_E_CLOSED``, is one too).
"""

from __future__ import annotations

from typing import Any


class WxnetError(Exception):
    """The base of every exception raised by this package."""


class CallError(WxnetError):
    """A wxnet C call failed with a negative ``wxnet_status``.

    Attributes:
        status: the status number (``WXNET_E_*``).
        status_name: the static description from ``wxnet_status_str``.
        detail: ``wxnet_last_error()`` right after the failed call.
        call: the C function that failed.
    """

    status: int = 0

    def __init__(self, status: int, status_name: str, detail: str, call: str) -> None:
        self.status = status
        self.status_name = status_name
        self.detail = detail
        self.call = call
        # The library's detail often starts with the function name already: say it once.
        text = detail[len(call) + 2:] if detail.startswith(f"{call}: ") else detail
        super().__init__(f"{call}: {status_name} ({status}): {text or 'no detail'}")


class NullArgumentError(CallError):
    """``WXNET_E_NULL_ARGUMENT`` (-1)."""


class InvalidArgumentError(CallError):
    """``WXNET_E_INVALID_ARGUMENT`` (-2): malformed JSON, bad close code or reason..."""


class InvalidConfigError(CallError):
    """``WXNET_E_INVALID_CONFIG`` (-3): ``detail`` names the config field."""


class UnknownTaskError(CallError):
    """``WXNET_E_UNKNOWN_TASK`` (-4): the task id is unknown or its app was freed."""


class InvalidStateError(CallError):
    """``WXNET_E_INVALID_STATE`` (-5): e.g. send on a socket that is not open, or an
    API this build of the library does not implement yet (see :attr:`not_implemented`)."""

    @property
    def not_implemented(self) -> bool:
        """True when the library reports the API as not implemented in this build."""
        return "not implemented" in self.detail


class WrongModeError(CallError):
    """``WXNET_E_WRONG_MODE`` (-6): poll-mode call on a callback-mode app or the reverse."""


class WouldDeadlockError(CallError):
    """``WXNET_E_WOULD_DEADLOCK`` (-7): ``App.close()`` from inside that app's callback."""


class AppClosedError(WxnetError, RuntimeError):
    """The :class:`~wxnet.App` is closed (or being closed); no call may use it.

    Raised by the binding for a call on an App whose :meth:`~wxnet.App.close` began, and,
    as :class:`ClosedError`, when the library answers ``WXNET_E_CLOSED`` because another
    thread freed the app during the call (e.g. a thread blocked in ``App.poll(-1)``).
    ``except wxnet.AppClosedError`` catches both."""


class ClosedError(CallError, AppClosedError):
    """``WXNET_E_CLOSED`` (-8): the app is being freed, or was freed, while the call ran.
    Also an :class:`AppClosedError`."""


class PanicError(CallError):
    """``WXNET_E_PANIC`` (-99): a panic was caught inside the library."""


STATUS_ERRORS: dict[int, type[CallError]] = {
    -1: NullArgumentError,
    -2: InvalidArgumentError,
    -3: InvalidConfigError,
    -4: UnknownTaskError,
    -5: InvalidStateError,
    -6: WrongModeError,
    -7: WouldDeadlockError,
    -8: ClosedError,
    -99: PanicError,
}


class WxFail(WxnetError):
    """A wx ``fail`` result: ``errMsg`` (e.g. ``"request:fail abort"``) and ``errno``.

    Attributes:
        err_msg: the ``errMsg`` string.
        errno: the numeric ``errno`` (see the errno table of the spec).
        res: the whole ``res`` object of the FAIL event.
    """

    def __init__(self, err_msg: str, errno: int, res: dict[str, Any] | None = None) -> None:
        self.err_msg = err_msg
        self.errno = errno
        self.res = res if res is not None else {"errMsg": err_msg, "errno": errno}
        super().__init__(f"{err_msg} (errno {errno})")


class SocketOverflow(WxnetError):
    """Raised by :meth:`~wxnet.AsyncSocket.recv` (and ``async for``) after the messages
    buffered before an overflow: the consumer did not keep up, more than the stream's
    limits of messages were waiting, so the binding aborted the socket rather than buffer
    without bound. Messages after the overflow were not kept.

    Attributes:
        messages: messages waiting when the overflow happened.
        bytes: their payload bytes.
        max_messages: the limit of messages (``max_buffered_messages``).
        max_bytes: the limit of payload bytes (``max_buffered_bytes``).
    """

    def __init__(self, messages: int, nbytes: int, max_messages: int, max_bytes: int) -> None:
        self.messages = messages
        self.bytes = nbytes
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        super().__init__(
            "socket event stream overflow: the consumer did not keep up "
            f"({messages} messages / {nbytes} bytes buffered; limits {max_messages} messages / {max_bytes} bytes)")


class SocketClosed(WxnetError):
    """Raised by :meth:`~wxnet.AsyncSocket.recv` once the socket has closed.

    Attributes:
        code: the close code (1006 when the connection was lost or never opened).
        reason: the close reason.
    """

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"socket closed: {code} {reason!r}")

"""ctypes declarations of every export of ``include/wxnet.h`` (C ABI version 1).

This module is the only place that knows the C signatures. Every function gets its
``argtypes`` and ``restype``; :func:`check` turns a negative status into the matching
:class:`~wxnet.errors.WxnetError` with ``wxnet_last_error()`` read on the same thread,
right after the failed call (the detail is thread-local in the library).
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int32,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path

from ._loader import load_library
from .errors import STATUS_ERRORS, CallError

ABI_VERSION = 1

WXNET_OK = 0

# Event kinds (WXNET_EVENT_*).
EVENT_SUCCESS = 1
EVENT_FAIL = 2
EVENT_HEADERS_RECEIVED = 3
EVENT_PROGRESS = 4
EVENT_CHUNK_RECEIVED = 5
EVENT_SOCKET_OPEN = 10
EVENT_SOCKET_MESSAGE = 11
EVENT_SOCKET_ERROR = 12
EVENT_SOCKET_CLOSE = 13


class wxnet_event(Structure):  # noqa: N801 - the C name
    """``struct wxnet_event``; ``json``/``data`` as raw pointers, read with string_at."""

    _fields_ = [
        ("task", c_uint64),
        ("kind", c_int32),
        ("json", c_void_p),
        ("json_len", c_size_t),
        ("data", c_void_p),
        ("data_len", c_size_t),
        ("task_user_data", c_void_p),
    ]


EVENT_CALLBACK = CFUNCTYPE(None, c_void_p, POINTER(wxnet_event))
"""``wxnet_event_callback``: ``(app_user_data, const wxnet_event *)``."""

WAKE_CALLBACK = CFUNCTYPE(None, c_void_p)
"""The poll-mode wakeup hook: ``(ud)``."""

LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_int32, c_void_p, c_size_t)
"""``wxnet_log_callback``: ``(ud, level, msg, len)``."""

lib, library_path = load_library()
LIBRARY_PATH: Path = library_path


def _declare(name: str, restype, *argtypes) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_declare("wxnet_abi_version", c_int32)
if lib.wxnet_abi_version() != ABI_VERSION:
    raise OSError(
        f"{library_path} implements C ABI version {lib.wxnet_abi_version()}; this binding needs "
        f"version {ABI_VERSION}: install the wxnet package that matches the library"
    )
_declare("wxnet_version", c_char_p)
_declare("wxnet_status_str", c_char_p, c_int32)
_declare("wxnet_last_error", c_char_p)
_declare("wxnet_set_log_callback", c_int32, LOG_CALLBACK, c_void_p, c_int32)
_declare("wxnet_app_new", c_int32, c_char_p, c_size_t, EVENT_CALLBACK, c_void_p, POINTER(c_void_p))
_declare("wxnet_app_free", c_int32, c_void_p)
_declare("wxnet_app_set_background", c_int32, c_void_p, c_bool)
_declare("wxnet_app_reset_connections", c_int32, c_void_p)
_declare("wxnet_app_poll", c_int32, c_void_p, c_int32, POINTER(POINTER(wxnet_event)))
_declare("wxnet_app_set_wakeup", c_int32, c_void_p, WAKE_CALLBACK, c_void_p)
_declare("wxnet_event_free", None, POINTER(wxnet_event))
_declare(
    "wxnet_request", c_int32, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, c_void_p, POINTER(c_uint64)
)
for _start in ("wxnet_upload_file", "wxnet_download_file", "wxnet_connect_socket"):
    _declare(_start, c_int32, c_void_p, c_char_p, c_size_t, c_void_p, POINTER(c_uint64))
for _path_call in ("wxnet_app_resolve_path", "wxnet_app_virtual_path"):
    _declare(_path_call, c_int32, c_void_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t))
_declare("wxnet_string_free", None, c_void_p)
_declare("wxnet_task_abort", c_int32, c_uint64)
_declare("wxnet_socket_send", c_int32, c_uint64, c_char_p, c_size_t, c_bool)
_declare("wxnet_socket_close", c_int32, c_uint64, c_int32, c_char_p, c_size_t)


def status_str(status: int) -> str:
    """``wxnet_status_str``: a static description of a status code."""
    return lib.wxnet_status_str(status).decode("utf-8", "replace")


def last_error() -> str:
    """``wxnet_last_error``: detail of the last failed call on this thread ("" if none)."""
    return lib.wxnet_last_error().decode("utf-8", "replace")


def check(status: int, call: str) -> None:
    """Raises the :class:`~wxnet.CallError` subclass for ``status`` unless it is ``WXNET_OK``."""
    if status == WXNET_OK:
        return
    detail = last_error()
    cls = STATUS_ERRORS.get(status, CallError)
    raise cls(status, status_str(status), detail, call)


def version() -> str:
    """``wxnet_version``: the library version, e.g. ``"0.1.0"``."""
    return lib.wxnet_version().decode("ascii")


def read_bytes(ptr: int | None, length: int) -> bytes:
    """Copies ``length`` bytes from a borrowed pointer (``b""`` for NULL/0)."""
    if not ptr or length == 0:
        return b""
    return ctypes.string_at(ptr, length)

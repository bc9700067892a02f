"""Events as Python sees them: a copy of one ``wxnet_event``, plus the decoding of a
SUCCESS result into the ``res`` a mini-program would get."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from . import _ffi


class EventKind(enum.IntEnum):
    """``WXNET_EVENT_*``."""

    SUCCESS = _ffi.EVENT_SUCCESS
    FAIL = _ffi.EVENT_FAIL
    HEADERS_RECEIVED = _ffi.EVENT_HEADERS_RECEIVED
    PROGRESS = _ffi.EVENT_PROGRESS
    CHUNK_RECEIVED = _ffi.EVENT_CHUNK_RECEIVED
    SOCKET_OPEN = _ffi.EVENT_SOCKET_OPEN
    SOCKET_MESSAGE = _ffi.EVENT_SOCKET_MESSAGE
    SOCKET_ERROR = _ffi.EVENT_SOCKET_ERROR
    SOCKET_CLOSE = _ffi.EVENT_SOCKET_CLOSE


@dataclass(frozen=True)
class Event:
    """One event, copied out of the library's buffers (so it outlives the callback).

    Attributes:
        task: the task id.
        kind: the event kind.
        json: the parsed ``res`` JSON object.
        data: the binary payload (body, chunk, message); ``b""`` when there is none.
    """

    task: int
    kind: EventKind
    json: dict[str, Any]
    data: bytes = field(default=b"", repr=False)

    @classmethod
    def from_raw(cls, raw: _ffi.wxnet_event) -> Event:
        """Copies a borrowed C event. Raises ``ValueError`` on an unknown kind or on
        JSON that is not an object (both would be library bugs)."""
        text = _ffi.read_bytes(raw.json, raw.json_len).decode("utf-8")
        parsed = json.loads(text) if text else {}
        if not isinstance(parsed, dict):
            raise ValueError(f"event JSON is not an object: {text!r}")
        return cls(
            task=int(raw.task),
            kind=EventKind(raw.kind),
            json=parsed,
            data=_ffi.read_bytes(raw.data, raw.data_len),
        )

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8."""
        return self.data.decode("utf-8")

    def message(self) -> str | bytes:
        """A SOCKET_MESSAGE payload: ``str`` for text frames, ``bytes`` for binary ones."""
        if self.kind != EventKind.SOCKET_MESSAGE:
            raise ValueError(f"{self.kind.name} is not a socket message")
        return self.text if self.json.get("dataKind") == "text" else self.data


def decode_data(data: bytes, data_kind: str | None) -> Any:
    """Decodes a SUCCESS payload per its ``dataKind``: ``"json"`` → parsed JSON,
    ``"text"`` → ``str``, ``"arraybuffer"`` → ``bytes``; without a dataKind (upload
    results) → ``str``."""
    if data_kind == "arraybuffer":
        return data
    if data_kind == "json":
        return json.loads(data.decode("utf-8"))
    if data_kind in ("text", None):
        return data.decode("utf-8")
    raise ValueError(f"unknown dataKind {data_kind!r}")


def success_res(event: Event, *, with_data: bool) -> dict[str, Any]:
    """The wx ``success`` res of a SUCCESS event: its JSON without ``dataKind``, plus
    ``data`` decoded (requests and uploads; downloads have no data)."""
    res = dict(event.json)
    data_kind = res.pop("dataKind", None)
    if with_data:
        res["data"] = decode_data(event.data, data_kind)
    return res

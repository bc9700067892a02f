"""``Response``: the success result of a request or an upload, with the usual
accessors (``.status``, ``.headers``, ``.json()``, ``.text``, ``.data``) and still
readable as the wx ``res`` mapping (``res["statusCode"]``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Iterator


class Response(Mapping):  # type: ignore[type-arg]
    """A wx success ``res`` plus the raw body bytes.

    Attributes:
        res: the wx ``res`` dict (``errMsg``, ``statusCode``, ``header``, ``cookies``,
            ``profile``, ``data`` decoded per ``dataKind``).
        body: the response body as received (after content decoding), as bytes.
    """

    __slots__ = ("res", "body")

    def __init__(self, res: dict[str, Any], body: bytes) -> None:
        self.res = res
        self.body = body

    def __getitem__(self, key: str) -> Any:
        return self.res[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.res)

    def __len__(self) -> int:
        return len(self.res)

    def __repr__(self) -> str:
        return f"<wxnet.Response {self.status} {len(self.body)} bytes>"

    @property
    def status(self) -> int:
        """The HTTP status code (``res["statusCode"]``)."""
        return int(self.res["statusCode"])

    @property
    def headers(self) -> dict[str, str]:
        """The response headers (``res["header"]``; repeated ones joined with ", ",
        Set-Cookie in :attr:`cookies`). Empty for uploads, whose res has none."""
        return dict(self.res.get("header") or {})

    @property
    def cookies(self) -> list[str]:
        """The raw ``Set-Cookie`` values."""
        return list(self.res.get("cookies") or [])

    @property
    def profile(self) -> dict[str, Any]:
        """The timing profile."""
        return dict(self.res.get("profile") or {})

    @property
    def data(self) -> Any:
        """``res["data"]`` as a mini-program sees it: parsed JSON (``dataType``
        "json" and a JSON body), ``str`` (text) or ``bytes`` (``responseType``
        "arraybuffer")."""
        return self.res.get("data")

    @property
    def text(self) -> str:
        """The body as text (UTF-8; the library already converted other charsets)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``json.JSONDecodeError`` (a ``ValueError``) when
        it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

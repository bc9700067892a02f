"""wx.uploadFile and wx.downloadFile with progress. Skipped, saying so, while the
library still reports them as not implemented."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import pytest

import wxnet
from conftest import CDN, UPLOAD, ErrorLog, skip_if_not_implemented, run


def sandbox_path(config: dict[str, Any], virtual: str) -> Path:
    """The real file behind a ``wxfile://`` path of this app."""
    assert virtual.startswith("wxfile://"), virtual
    rest = virtual[len("wxfile://"):]
    if rest.startswith("usr/"):
        return Path(config["userDataDir"]) / rest[len("usr/"):]
    return Path(config["tempDir"]) / rest


def pattern(n: int) -> bytes:
    """The test server's /bytes pattern."""
    return bytes(i % 251 for i in range(n))


def progress_of(events: list[wxnet.Event]) -> list[dict[str, Any]]:
    return [e.json for e in events if e.kind == wxnet.EventKind.PROGRESS]


def test_upload_file_with_progress(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    config = make_config()
    content = bytes(range(256)) * 4096  # 1 MiB
    (Path(config["tempDir"]) / "tmp_upload.bin").write_bytes(content)
    seen: list[wxnet.Event] = []
    with wxnet.App(config, on_callback_error=callback_errors) as app:
        res = skip_if_not_implemented(lambda: run(app.upload_file(
            {"url": f"{UPLOAD}/upload", "filePath": "wxfile://tmp_upload.bin", "name": "file",
             "formData": {"user": "test"}}, on_event=seen.append)))
    assert res["errMsg"] == "uploadFile:ok"
    assert res["statusCode"] == 200
    assert isinstance(res["data"], str)
    reply = json.loads(res["data"])
    assert reply["fields"] == {"user": "test"}
    assert reply["files"][0]["name"] == "file"
    assert reply["files"][0]["size"] == len(content)
    assert reply["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    progress = progress_of(seen)
    assert progress, "progress events"
    assert progress[-1]["progress"] == 100
    assert progress[-1]["totalBytesSent"] == progress[-1]["totalBytesExpectedToSend"]
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)


def test_download_file_with_progress(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    config = make_config()
    seen: list[wxnet.Event] = []
    size = 600_000
    with wxnet.App(config, on_callback_error=callback_errors) as app:
        res = skip_if_not_implemented(lambda: run(app.download_file(
            {"url": f"{CDN}/bytes/{size}?rate_kbps=4000"}, on_event=seen.append)))
    assert res["errMsg"] == "downloadFile:ok"
    assert res["statusCode"] == 200
    assert res["tempFilePath"].startswith("wxfile://tmp_")
    assert sandbox_path(config, res["tempFilePath"]).read_bytes() == pattern(size)
    progress = progress_of(seen)
    assert progress and progress[-1]["progress"] == 100
    assert progress[-1]["totalBytesWritten"] == size
    assert progress[-1]["totalBytesExpectedToWrite"] == size


def test_download_to_user_path_and_abort(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    config = make_config()
    with wxnet.App(config, on_callback_error=callback_errors) as app:
        res = skip_if_not_implemented(lambda: app.start_download_file(
            {"url": f"{CDN}/bytes/1000", "filePath": "wxfile://usr/saved.bin"}).result(20))
        assert res["filePath"] == "wxfile://usr/saved.bin"
        assert sandbox_path(config, res["filePath"]).read_bytes() == pattern(1000)
        slow = app.start_download_file({"url": f"{CDN}/bytes/5000000?rate_kbps=100"})
        slow.abort()
        with pytest.raises(wxnet.WxFail) as info:
            slow.result(20)
        assert info.value.err_msg == "downloadFile:fail abort"
        assert info.value.errno == 603105

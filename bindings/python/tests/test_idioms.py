"""The Pythonic surface: ``async with App``, ``async for message in socket``, one base
exception, the Response type and the TypedDicts of the options."""

from __future__ import annotations

import json
import typing
from typing import Any, Callable

import pytest

import wxnet
from conftest import API, OTHER, WS, ErrorLog, run


def test_async_with_app_closes_it(make_config: Callable[..., dict], callback_errors: ErrorLog) -> None:
    async def main() -> tuple[wxnet.App, wxnet.Response]:
        async with wxnet.App(make_config(), on_callback_error=callback_errors) as app:
            res = await app.request({"url": f"{API}/json"})
            assert not app.closed
        return app, res

    app, res = run(main())
    assert app.closed
    assert res.status == 200


def test_async_for_over_socket_messages_ends_at_close(app: wxnet.App) -> None:
    async def main() -> tuple[list[Any], wxnet.AsyncSocket]:
        got: list[Any] = []
        async with await app.connect_socket({"url": f"{WS}/ws/echo"}) as sock:
            sock.send("one")
            sock.send(b"\x02")
            async for message in sock:
                got.append(message)
                if len(got) == 2:
                    sock.close(3001, "done")
        return got, sock

    got, sock = run(main())
    assert got == ["one", b"\x02"]
    assert sock.close_code in (1000, 3001)
    assert sock.task.done


def test_every_exception_derives_from_wxnet_error(app: wxnet.App) -> None:
    for cls in (wxnet.WxFail, wxnet.SocketClosed, wxnet.AppClosedError, wxnet.CallError,
                wxnet.InvalidConfigError, wxnet.InvalidStateError):
        assert issubclass(cls, wxnet.WxnetError), cls
    with pytest.raises(wxnet.WxnetError) as info:
        run(app.request({"url": f"{OTHER}/json"}))
    assert isinstance(info.value, wxnet.WxFail)
    assert info.value.errno == 600002
    with pytest.raises(wxnet.WxnetError) as config_info:
        wxnet.App({"appId": ""})
    assert isinstance(config_info.value, wxnet.InvalidConfigError)


def test_response_accessors(app: wxnet.App) -> None:
    res = run(app.request({"url": f"{API}/json"}))
    assert isinstance(res, wxnet.Response)
    assert res.status == 200
    assert res.headers["content-type"].startswith("application/json")
    assert res.data == {"hello": "world", "n": 1}
    assert res.json() == {"hello": "world", "n": 1}
    assert json.loads(res.text) == {"hello": "world", "n": 1}
    assert res.profile["protocol"] == "http1.1"
    # still the wx res mapping
    assert res["statusCode"] == 200 and res["errMsg"] == "request:ok"
    assert "dataKind" not in res

    raw = run(app.request({"url": f"{API}/text"}))
    assert raw.data == raw.text == "plain text, not json"
    with pytest.raises(ValueError):
        raw.json()

    binary = run(app.request({"url": f"{API}/echo/raw", "method": "POST", "responseType": "arraybuffer",
                              "header": {"content-type": "application/octet-stream"}, "data": b"\x00\xff"}))
    assert binary.data == b"\x00\xff" and binary.body == b"\x00\xff"


def test_options_typed_dicts_list_the_wx_fields_and_work(app: wxnet.App) -> None:
    hints = typing.get_type_hints(wxnet.RequestOptions)
    assert {"url", "data", "header", "timeout", "method", "dataType", "responseType",
            "enableChunked", "redirect"} <= set(hints)
    assert wxnet.RequestOptions.__required_keys__ == frozenset({"url"})
    assert wxnet.UploadFileOptions.__required_keys__ == frozenset({"url", "filePath", "name"})
    assert wxnet.AppConfig.__required_keys__ == frozenset({"appId"})
    assert {"domains", "networkTimeout", "caCertificates", "resolve"} <= set(typing.get_type_hints(wxnet.AppConfig))
    options: wxnet.RequestOptions = {"url": f"{API}/echo", "method": "POST", "data": {"k": 1},
                                     "header": {"x-test": "1"}, "timeout": 10000, "dataType": "json",
                                     "responseType": "text", "redirect": "follow"}
    res = run(app.request(options))
    assert res.data["method"] == "POST"

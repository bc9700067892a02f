"""wx.request through the binding: the common scenario list, asyncio and blocking."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Callable

import pytest

import wxnet
from conftest import API, OTHER, run


def test_get_json_is_decoded_and_headers_come_first(app: wxnet.App) -> None:
    seen: list[wxnet.Event] = []
    res = run(app.request({"url": f"{API}/json"}, on_event=seen.append))
    assert res["errMsg"] == "request:ok"
    assert res["statusCode"] == 200
    assert res["data"] == {"hello": "world", "n": 1}
    assert "dataKind" not in res
    assert res["header"]["content-type"].startswith("application/json")
    assert res["profile"]["protocol"] == "http1.1"
    kinds = [e.kind for e in seen]
    assert kinds[0] == wxnet.EventKind.HEADERS_RECEIVED and kinds[-1] == wxnet.EventKind.SUCCESS
    assert seen[0].json["statusCode"] == 200


def test_post_object_data_is_json_on_the_wire(app: wxnet.App) -> None:
    data = {"a": {"b": [1, 2, 3], "c": {"d": "test"}}}
    res = run(app.request({"url": f"{API}/echo", "method": "POST", "data": data}))
    echo = res["data"]
    assert echo["method"] == "POST"
    assert json.loads(echo["body"]) == data
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["headers"]["referer"] == "https://servicewechat.com/wxtest/0/page-frame.html"


def test_binary_body_and_arraybuffer_response(app: wxnet.App) -> None:
    body = bytes(range(256)) * 100
    res = app.start_request(
        {"url": f"{API}/echo/raw", "method": "POST", "responseType": "arraybuffer",
         "header": {"content-type": "application/octet-stream"}, "data": body},
    ).result(timeout=20)
    assert isinstance(res["data"], bytes)
    assert res["data"] == body


def test_text_data_type_gives_str(app: wxnet.App) -> None:
    assert run(app.request({"url": f"{API}/text"}))["data"] == "plain text, not json"
    raw = run(app.request({"url": f"{API}/json", "dataType": "text"}))["data"]
    assert isinstance(raw, str) and json.loads(raw) == {"hello": "world", "n": 1}


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_status_is_success(app: wxnet.App, code: int) -> None:
    res = run(app.request({"url": f"{API}/status/{code}"}))
    assert res["statusCode"] == code
    assert res["errMsg"] == "request:ok"


def test_unlisted_domain_fails_600002(app: wxnet.App) -> None:
    with pytest.raises(wxnet.WxFail) as info:
        run(app.request({"url": f"{OTHER}/json"}))
    assert info.value.errno == 600002
    assert info.value.err_msg.startswith("request:fail")


def test_timeout_fails_with_errno_5(app: wxnet.App) -> None:
    with pytest.raises(wxnet.WxFail) as info:
        run(app.request({"url": f"{API}/delay/5000", "timeout": 200}))
    assert info.value.errno == 5
    assert info.value.err_msg == "request:fail timeout"


def test_abort_fails_with_request_fail_abort(app: wxnet.App) -> None:
    task = app.start_request({"url": f"{API}/hang"})
    task.abort()
    event = task.wait(timeout=10)
    assert event.kind == wxnet.EventKind.FAIL
    assert event.json["errMsg"] == "request:fail abort"
    with pytest.raises(wxnet.WxFail, match="request:fail abort"):
        task.result()
    task.abort()  # idempotent after the end


def test_cancelling_the_coroutine_aborts_the_task(app: wxnet.App) -> None:
    async def main() -> None:
        pending = asyncio.ensure_future(app.request({"url": f"{API}/hang"}))
        await asyncio.sleep(0)  # lets the request start (a yield, not a wait)
        assert len(app.live_tasks) == 1, "the native task started"
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    run(main())
    assert app.live_tasks == []


def test_chunked_stream_arrives_in_pieces(app: wxnet.App) -> None:
    chunks: list[bytes] = []

    def on_event(event: wxnet.Event) -> None:
        if event.kind == wxnet.EventKind.CHUNK_RECEIVED:
            chunks.append(event.data)

    res = run(app.request(
        {"url": f"{API}/chunked?n=5&size=1000&interval_ms=30", "enableChunked": True}, on_event=on_event))
    assert res["statusCode"] == 200
    assert len(chunks) >= 2
    assert sum(len(c) for c in chunks) == 5000


def test_http2_when_enabled(app: wxnet.App) -> None:
    res = run(app.request({"url": f"{API}/alpn", "enableHttp2": True}))
    assert res["data"] == "HTTP/2.0"
    assert res["profile"]["protocol"] == "h2"
    plain = run(app.request({"url": f"{API}/alpn"}))
    assert plain["data"] == "HTTP/1.1"


def test_many_concurrent_requests_all_resolve(app: wxnet.App) -> None:
    async def main() -> list[dict]:
        return await asyncio.gather(*(app.request({"url": f"{API}/echo?i={i}"}) for i in range(25)))

    results = run(main())
    assert [r["data"]["query"] for r in results] == [f"i={i}" for i in range(25)]


def _block_the_loop_until_the_backlog_fills(app: wxnet.App, limit: int, then: Callable[[], None]) -> tuple[int, Any]:
    """Streams 8 MiB in 4 KiB chunks to an asyncio handler while the loop's thread is held
    up until the app's loop backlog is full (waited for on its condition variable), then
    runs ``then`` on the loop's thread. Returns the bytes the handler saw and the result."""
    app.loop_backlog.max_bytes = limit
    got = [0]

    def on_event(ev: wxnet.Event) -> None:
        if ev.kind == wxnet.EventKind.CHUNK_RECEIVED:
            got[0] += len(ev.data)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(app.request(
            {"url": f"{API}/chunked?n=2048&size=4096&interval_ms=0", "enableChunked": True}, on_event=on_event))
        await asyncio.sleep(0)  # lets the request start (a yield, not a wait)
        # Holds the loop's thread: nothing handed to the loop runs meanwhile.
        assert app.loop_backlog.wait_for_pending(loop, limit - 70 * 1024, 20), "the backlog never filled"
        then()
        try:
            return await task
        except wxnet.WxFail as fail:
            return fail

    result = run(main(), timeout=60)
    return got[0], result


def test_a_busy_event_loop_slows_the_server_instead_of_growing_its_backlog(app: wxnet.App) -> None:
    limit = 256 * 1024
    got, res = _block_the_loop_until_the_backlog_fills(app, limit, lambda: None)
    assert res.status == 200
    assert got == 2048 * 4096
    assert app.loop_backlog.high_water <= limit, f"{app.loop_backlog.high_water} bytes waited for the loop"


def test_close_on_the_loop_thread_while_the_dispatcher_waits_for_that_loop(app: wxnet.App) -> None:
    # The dispatcher waits for the loop, whose thread calls close(): close must end that
    # wait rather than deadlock; the request then ends with its abort.
    _, res = _block_the_loop_until_the_backlog_fills(app, 256 * 1024, app.close)
    assert app.closed
    assert isinstance(res, wxnet.WxFail) and res.err_msg == "request:fail abort", res

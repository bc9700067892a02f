#!/usr/bin/env python3
"""A Python `websockets` server with permessage-deflate for tests/deflate.rs.

Usage: server.py MODE   (MODE: default | no-context | small-window)
  default       websockets' own settings (server and client window 12 bits)
  no-context    server_no_context_takeover and client_no_context_takeover
  small-window  server_max_window_bits=9, client_max_window_bits=9
  quoted        server_max_window_bits=10, client_max_window_bits=10, answered with
                quoted values (server_max_window_bits="10"), which RFC 7692 allows

Listens on 127.0.0.1 (ephemeral port), prints "PORT <n>" on stdout, and exits when
its stdin closes (the test holds the other end). Paths:
  /echo           echoes every message as the same kind; the text message "?stats"
                  is answered with JSON: {"offer": the request's Sec-WebSocket-Extensions
                  or null, "agreed": the extensions in use, "compressed": how many data
                  frames with RSV1 this server decoded so far}
  /bomb?size=N    sends N zero bytes as one binary message (a few KiB on the wire once
                  compressed), then waits for the client's close
"""

import asyncio
import json
import sys
import threading
import urllib.parse

import websockets
from websockets.extensions import permessage_deflate as pmd

COMPRESSED = 0
_decode = pmd.PerMessageDeflate.decode


def counting_decode(self, frame, *, max_size=None):
    global COMPRESSED
    if frame.rsv1:
        COMPRESSED += 1
    return _decode(self, frame, max_size=max_size)


pmd.PerMessageDeflate.decode = counting_decode

class QuotedFactory(pmd.ServerPerMessageDeflateFactory):
    """Answers every parameter value as a quoted-string (RFC 7692 section 7.1 allows it)."""

    def process_request_params(self, params, accepted_extensions):
        answer, extension = super().process_request_params(params, accepted_extensions)
        return [(name, None if value is None else f'"{value}"') for name, value in answer], extension


MODES = {
    "default": None,
    "no-context": pmd.ServerPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True),
    "small-window": pmd.ServerPerMessageDeflateFactory(
        server_max_window_bits=9, client_max_window_bits=9),
    "quoted": QuotedFactory(server_max_window_bits=10, client_max_window_bits=10),
}


async def handler(ws, path):
    url = urllib.parse.urlsplit(path)
    if url.path == "/bomb":
        size = int(urllib.parse.parse_qs(url.query)["size"][0])
        await ws.send(bytes(size))
        try:
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        return
    async for message in ws:
        if message == "?stats":
            await ws.send(json.dumps({
                "offer": ws.request_headers.get("Sec-WebSocket-Extensions"),
                "agreed": ws.response_headers.get("Sec-WebSocket-Extensions"),
                "compressed": COMPRESSED,
            }))
        else:
            await ws.send(message)


async def main(mode):
    factory = MODES[mode]
    kwargs = {"extensions": [factory]} if factory else {}
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None,
                                ping_interval=None, **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        stop = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(
            stop.set_result, None)), daemon=True).start()
        await stop


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""Shared fixtures: one local test server per session (the ``wxnet-testserver``
binary as a child process) and apps whose config pins the test hostnames to it, with
the whole policy path on (https, listed domains, certificate checks)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import wxnet

WORKSPACE = Path(__file__).resolve().parents[3]

API = "https://api.wxnet.test"
UPLOAD = "https://up.wxnet.test"
CDN = "https://cdn.wxnet.test"
WS = "wss://ws.wxnet.test"
OTHER = "https://other.wxnet.test"


def _server_binary() -> Path:
    explicit = os.environ.get("WXNET_TESTSERVER")
    path = Path(explicit) if explicit else WORKSPACE / "target" / "debug" / "wxnet-testserver"
    if not path.is_file():
        raise RuntimeError(f"{path} not found: run `cargo build -p wxnet-testserver` (or set $WXNET_TESTSERVER)")
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running test server's JSON line (``https`` port, ``ca`` path...) plus ``ca_pem``.
    It stops when its stdin closes."""
    ca_file = tmp_path_factory.mktemp("server") / "ca.pem"
    proc = subprocess.Popen(
        [str(_server_binary()), "--ca-file", str(ca_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"wxnet-testserver exited early with {proc.wait()}")
    info = json.loads(line)
    info["ca_pem"] = Path(info["ca"]).read_text()
    yield info
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def make_config(server: dict[str, Any], tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``make_config(**overrides)``: an app config pinning the four listed domains and
    other.wxnet.test (not listed) to the server, with sandbox dirs under tmp_path."""

    def make(**overrides: Any) -> dict[str, Any]:
        pin = f"127.0.0.1:{server['https']}"
        tmp_dir, usr_dir = tmp_path / "tmp", tmp_path / "usr"
        tmp_dir.mkdir(exist_ok=True)
        usr_dir.mkdir(exist_ok=True)
        config: dict[str, Any] = {
            "appId": "wxtest",
            "domains": {"request": [API], "uploadFile": [UPLOAD], "downloadFile": [CDN], "socket": [WS]},
            "caCertificates": [server["ca_pem"]],
            "resolve": {f"{host}:443": pin for host in
                        ("api.wxnet.test", "up.wxnet.test", "cdn.wxnet.test", "ws.wxnet.test", "other.wxnet.test")},
            "tempDir": str(tmp_dir),
            "userDataDir": str(usr_dir),
        }
        config.update(overrides)
        return config

    return make


class ErrorLog:
    """Collects exceptions from handlers (the App's ``on_callback_error`` hook)."""

    def __init__(self) -> None:
        self.errors: list[tuple[BaseException, str]] = []

    def __call__(self, exc: BaseException, where: str) -> None:
        self.errors.append((exc, where))


@pytest.fixture
def callback_errors() -> Iterator[ErrorLog]:
    """Fails the test if any handler raised."""
    log = ErrorLog()
    yield log
    assert not log.errors, f"exceptions in callbacks: {log.errors}"


@pytest.fixture
def app(make_config: Callable[..., dict[str, Any]], callback_errors: ErrorLog) -> Iterator[wxnet.App]:
    """A callback-mode app, closed at teardown."""
    with wxnet.App(make_config(), on_callback_error=callback_errors) as the_app:
        yield the_app


def run(coro: Any, timeout: float = 30.0) -> Any:
    """``asyncio.run`` with a deadline, so a missing event fails the test instead of
    hanging the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def skip_if_not_implemented(start: Callable[[], Any]) -> Any:
    """Runs a start call; skips the test (saying why) when the library reports the API
    as not implemented in this build (``WXNET_E_INVALID_STATE``)."""
    try:
        return start()
    except wxnet.InvalidStateError as exc:
        if exc.not_implemented:
            pytest.skip(f"not implemented in this build of libwxnet yet: {exc.detail}")
        raise


def pytest_report_header() -> str:
    return f"wxnet {wxnet.version()} from {wxnet.LIBRARY_PATH}"

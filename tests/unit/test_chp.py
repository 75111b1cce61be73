"""pangeoctl.local.chp: a websocket that asks for a subprotocol gets, through the proxy, the one the backend selected.

The proxy runs as the hub runs it (a child process with configurable-http-proxy's arguments); the backend is a
tornado websocket server that selects ``bokeh``, as Bokeh's does.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("configurable_http_proxy", reason="configurable-http-proxy is not installed (pip install 'pangeoctl[local]')")
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.web import Application  # noqa: E402
from tornado.websocket import WebSocketHandler, websocket_connect  # noqa: E402

LAUNCHER = [sys.executable, "-m", "pangeoctl.local.chp"]
UPSTREAM = [str(Path(sys.executable).parent / "configurable-http-proxy")]  # the script the package installs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Bokehish(WebSocketHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "bokeh" if "bokeh" in subprotocols else None

    def on_message(self, message: str | bytes) -> None:
        self.write_message(f"echo {message!r} via {self.selected_subprotocol}")


def _wait_listening(port: int, proc: subprocess.Popen) -> None:
    for _ in range(200):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "proxy exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"proxy not listening on {port}")


@pytest.fixture
def backend_port() -> Iterator[int]:
    yield _free_port()


def _through(cmd: list[str], backend_port: int) -> tuple[str | None, str | None]:
    """(subprotocol the client got, the replies to a text and a binary frame) through the proxy started by ``cmd``."""
    port = _free_port()
    proxy = subprocess.Popen(
        [
            *cmd,
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--api-ip",
            "127.0.0.1",
            "--api-port",
            str(_free_port()),
            "--default-target",
            f"http://127.0.0.1:{backend_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(port, proxy)

        async def talk() -> tuple[str | None, str | None]:
            server = HTTPServer(Application([(r"/status/ws", _Bokehish)]))
            server.listen(backend_port, "127.0.0.1")
            try:
                ws = await websocket_connect(f"ws://127.0.0.1:{port}/status/ws", subprotocols=["bokeh", "a-token"])
                await ws.write_message("hi")
                await ws.write_message(b"\x00hi", binary=True)
                reply = await asyncio.wait_for(ws.read_message(), 10)
                reply = f"{reply} + {await asyncio.wait_for(ws.read_message(), 10)}"
                got = ws.selected_subprotocol
                ws.close()
                return got, reply if isinstance(reply, str) else None
            finally:
                server.stop()

        return asyncio.run(talk())
    finally:
        proxy.terminate()
        proxy.wait(10)


def test_launcher_answers_the_backends_subprotocol(backend_port: int):
    assert _through(LAUNCHER, backend_port) == ("bokeh", "echo 'hi' via bokeh + echo b'\\x00hi' via bokeh")


def test_upstream_proxy_still_drops_the_subprotocol(backend_port: int):
    """The reason pangeoctl.local.chp exists. When this fails, upstream fixed it: drop the module and use upstream."""
    got, reply = _through(UPSTREAM, backend_port)
    assert reply.startswith("echo 'hi' via bokeh")  # the backend did select it …
    assert got is None  # … but the browser is never told, and Chromium fails the handshake
    assert reply.endswith("echo '\\x00hi' via bokeh")  # and a binary frame reaches the backend as text


def test_no_subprotocol_asked_none_answered():
    from pangeoctl.local.chp import _handler_class

    class Protocol:
        selected_subprotocol = None

    class Client:
        protocol: Protocol | None = None

    handler = _handler_class().__new__(_handler_class())
    handler.ws_client = Client()  # the backend connection already closed
    assert handler.select_subprotocol(["bokeh"]) is None
    handler.ws_client.protocol = Protocol()
    assert handler.select_subprotocol([]) is None
    handler.ws_client.protocol.selected_subprotocol = "bokeh"
    assert handler.select_subprotocol(["other"]) is None  # never answer a name the browser did not offer
    assert handler.select_subprotocol(["bokeh", "x"]) == "bokeh"


def test_the_proxy_passes_on_many_requests_at_once():
    """tornado's client passes on 10 requests at a time by default (under load the hub's requests queued
    behind the gateway's long waits); the launcher raises it."""
    import asyncio

    from tornado.httpclient import AsyncHTTPClient

    from pangeoctl.local import chp

    async def client() -> AsyncHTTPClient:
        return AsyncHTTPClient(force_instance=True)

    saved = AsyncHTTPClient._save_configuration()  # type: ignore[attr-defined]
    try:
        assert asyncio.run(client()).max_clients == 10  # type: ignore[attr-defined]
        chp.install()
        assert asyncio.run(client()).max_clients == chp.MAX_CLIENTS  # type: ignore[attr-defined]
    finally:
        AsyncHTTPClient._restore_configuration(saved)  # type: ignore[attr-defined]

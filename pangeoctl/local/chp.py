"""The local platform's proxy: the Python port of configurable-http-proxy, with websocket subprotocols passed through.

The hub starts it as ``python -m pangeoctl.local.chp <the usual configurable-http-proxy arguments>``.

Why: ``configurable_http_proxy.handlers.ProxyHandler`` (PyPI ``configurable-http-proxy`` 0.4.0) is a tornado
``WebSocketHandler`` that forwards the browser's ``Sec-WebSocket-Protocol`` request header to the backend but
never overrides ``select_subprotocol``, so tornado answers the browser's upgrade without the header. Chromium
then fails the handshake ("Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received"): the
Dask dashboard (Bokeh asks for the ``bokeh`` subprotocol) stays blank through the hub's address, and JupyterLab's
kernel websocket (``v1.kernel.websocket.jupyter.org``) only connects on its retry without a subprotocol. Here the
proxy answers with the subprotocol the backend selected — the backend decides, as the Node proxy lets it.
Same bug class, fixed the same way in jupyter-server-proxy (jupyterhub/jupyter-server-proxy#179, #459).
Once the subprotocol is answered, Lab speaks its binary kernel protocol, which meets a second upstream bug: the
browser's binary frames are forwarded to the backend as text frames. Both are fixed in one handler subclass.
FIXME: drop this module when upstream (corridor/configurable-http-proxy) selects the backend's subprotocol;
``tests/unit/test_chp.py::test_upstream_proxy_still_drops_the_subprotocol`` says when.
"""

from __future__ import annotations

import sys
from typing import Any


def _handler_class() -> type:
    from configurable_http_proxy.handlers import ProxyHandler

    class SubprotocolProxyHandler(ProxyHandler):  # type: ignore[misc,valid-type]
        def select_subprotocol(self, subprotocols: list[str]) -> str | None:
            # ``get`` connects to the backend (start_ws_client) before tornado accepts the browser's upgrade,
            # so the backend's answer is known here; tornado requires one of the offered names.
            # (``protocol`` is None once the backend connection has closed.)
            protocol: Any = getattr(self.ws_client, "protocol", None)
            chosen = protocol.selected_subprotocol if protocol is not None else None
            return chosen if chosen in subprotocols else None

        def on_message(self, message: str | bytes) -> None:
            # Upstream forwards the browser's frames with ``write_message(message)``, i.e. binary frames as
            # text: JupyterLab's v1 kernel protocol (binary, chosen once the subprotocol is answered) then
            # breaks the server ("cannot convert 'str' object to bytes"). Keep each frame's type.
            if self.ws_client is None:
                return
            prefix = self.target["prefix"] if self.target else ""
            if prefix:
                self.proxy.update_last_activity(prefix)
            self.ws_client.write_message(message, binary=isinstance(message, bytes))

    return SubprotocolProxyHandler


# tornado's HTTP client passes on 10 requests at once by default: under load (8 users starting clusters) the
# hub's own traffic queued behind the gateway's long waits. The Node proxy has no such limit.
MAX_CLIENTS = 1000


def install() -> None:
    """Make the proxy app (built in ``configproxy.PythonProxy.__init__``) route through the fixed handler,
    with a client that passes on up to :data:`MAX_CLIENTS` requests at once."""
    from configurable_http_proxy import configproxy
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=MAX_CLIENTS)

    if not getattr(configproxy.ProxyHandler, "_pangeoctl", False):
        cls = _handler_class()
        cls._pangeoctl = True  # type: ignore[attr-defined]
        configproxy.ProxyHandler = cls  # type: ignore[misc]


def main(argv: list[str] | None = None) -> None:
    install()
    from configurable_http_proxy.cli import main as chp_main

    chp_main(args=sys.argv[1:] if argv is None else argv, prog_name="configurable-http-proxy")


if __name__ == "__main__":
    main()

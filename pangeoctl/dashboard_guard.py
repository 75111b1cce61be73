"""The dashboard guard: the hub service ``dask-gateway`` as people reach it — Dask Gateway behind a JupyterHub login.

Dask Gateway serves each cluster's scheduler dashboard at ``<prefix>clusters/<name>/…`` without authentication
(dask/dask-gateway#570): whoever has the link sees the cluster. JupyterHub's proxy routes the service prefix here
instead of to the gateway's HTTP proxy; this front forwards every request to the gateway unchanged (its API with
its own token check, long waits, streamed answers, websockets) except dashboard paths, which need

1. a JupyterHub login — the ``HubOAuth`` cookie this service sets after the hub's OAuth flow (or a hub token in an
   ``Authorization: token …`` header): the standard hub-service contract of ``jupyterhub.services.auth``, with its
   XSRF rule — the cookie counts for pages, scripts, images and the websocket, not for a ``fetch()`` from another
   page of the hub's origin (which another user's server shares: dask-labextension's plot list is refused);
2. the gateway's own yes: ``GET <prefix>api/v1/clusters/<name>`` with the person's OAuth token (``Authorization:
   jupyterhub <token>``). The service's OAuth tokens carry ``access:services!service=<this service>``, the scope
   the gateway's ``JupyterHubAuthenticator`` checks; it answers 200 for the owner's cluster, 403 for anyone else's
   and 404 for none (dask-gateway-server 2026.3.0 ``routes.get_cluster``). Both refusals become the same 404
   here, so a name says nothing about whether it exists.

Admins are not special: the gateway lets only a cluster's owner see it (``User.has_permissions`` compares the
names; hub admins included), and this front asks the gateway rather than keeping a rule of its own. Decisions
are cached per (token, cluster) as long as ``HubOAuth`` caches the hub's answer about a token
(``cache_max_age``, 5 min), so a dashboard's many requests cost one gateway round trip.

A path is a dashboard path when it is one *after* percent-decoding once and resolving empty, ``.`` and ``..``
segments: the gateway's Go proxy routes on the decoded path (and traefik cleans it), so the guard decides on a
superset of what any of them could route to a scheduler. The person's hub token (our cookie) is not passed on.

Standalone on purpose: it imports only ``jupyterhub`` and ``tornado`` (never pangeoctl), so the same file runs
as a managed hub service on the local platform and from a ConfigMap in the hub image on Kubernetes::

    python dashboard_guard.py --upstream http://traefik-dask-gateway [--listen 0.0.0.0:8000]

Everything else comes from the environment JupyterHub gives a service (set by hand where the hub does not
start it): ``JUPYTERHUB_API_TOKEN`` (also the OAuth client secret), ``JUPYTERHUB_API_URL``,
``JUPYTERHUB_CLIENT_ID``, ``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_OAUTH_CALLBACK_URL``, ``JUPYTERHUB_SERVICE_NAME``
(or ``JUPYTERHUB_OAUTH_ACCESS_SCOPES``), and ``JUPYTERHUB_SERVICE_URL`` for where to listen unless ``--listen``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import logging
import os
import posixpath
import re
import signal
import sys
import time
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from tornado import httputil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.web import Application, HTTPError, RequestHandler
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, WebSocketHandler, websocket_connect

log = logging.getLogger("dashboard-guard")

CLUSTERS = "clusters"
# tornado's HTTP client passes on 10 requests at once by default; the gateway's long waits (cluster start) would
# queue everyone's dashboards behind them (same as pangeoctl/local/chp.py's MAX_CLIENTS).
MAX_CLIENTS = 1000
CONNECT_TIMEOUT = 20  # s, to the gateway
REQUEST_TIMEOUT = 3600  # s, for one answer: the hub's proxies have no limit; an hour stands for none
MAX_MESSAGE = 64 * 2**20  # one websocket message (tornado's default is 10 MiB; Bokeh documents can be large)
# Not passed on in either direction (RFC 9110 §7.6.1), plus what tornado sets itself for each leg.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
# What HubOAuth cannot do without (the rest has defaults); a hub gives each of its services these.
NEEDS = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_CLIENT_ID", "JUPYTERHUB_SERVICE_PREFIX")


def dashboard_cluster(path: str, prefix: str) -> str | None:
    """The cluster whose dashboard ``path`` (as requested, percent-encoded) asks for; None when it is no dashboard path.

    ``""`` for the bare ``clusters`` folder (guarded too: no such cluster).

    >>> dashboard_cluster("/services/dask-gateway/clusters/abc/status", "/services/dask-gateway/")
    'abc'
    >>> dashboard_cluster("/services/dask-gateway/api/../%63lusters/abc/", "/services/dask-gateway/")
    'abc'
    >>> dashboard_cluster("/services/dask-gateway/api/v1/clusters/abc", "/services/dask-gateway/") is None
    True
    """
    decoded = unquote(path)
    canonical = posixpath.normpath("/" + decoded.lstrip("/"))  # one leading slash: normpath keeps a leading "//"
    root = prefix.rstrip("/") + "/" + CLUSTERS
    if canonical == root:
        return ""
    if canonical.startswith(root + "/"):
        return canonical[len(root) + 1 :].split("/", 1)[0]
    return None


class Decisions:
    """Who may see which cluster, as the gateway said: (token, cluster) → yes/no, kept ``max_age`` seconds."""

    def __init__(self, max_age: float, limit: int = 10_000) -> None:
        self.max_age, self.limit = max_age, limit
        self._seen: dict[tuple[str, str], tuple[float, bool]] = {}

    @staticmethod
    def _key(token: str, cluster: str) -> tuple[str, str]:
        return hashlib.sha256(token.encode()).hexdigest(), cluster

    def get(self, token: str, cluster: str) -> bool | None:
        seen = self._seen.get(self._key(token, cluster))
        if seen is None or seen[0] < time.monotonic():
            return None
        return seen[1]

    def put(self, token: str, cluster: str, allowed: bool) -> None:
        now = time.monotonic()
        if len(self._seen) >= self.limit:
            self._seen = {k: v for k, v in self._seen.items() if v[0] >= now}
            if len(self._seen) >= self.limit:
                self._seen.clear()
        self._seen[self._key(token, cluster)] = (now + self.max_age, allowed)


class Refused(Exception):
    """The gateway did not say yes; ``status`` is what the person gets."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


async def may_see(upstream: str, prefix: str, token: str, cluster: str) -> None:
    """Ask the gateway whether the owner of ``token`` may see ``cluster``; raises :class:`Refused` unless so."""
    url = f"{upstream}{prefix.rstrip('/')}/api/v1/clusters/{quote(cluster, safe='')}"
    req = HTTPRequest(url, headers={"Authorization": f"jupyterhub {token}"}, connect_timeout=CONNECT_TIMEOUT, request_timeout=60)
    try:
        r = await AsyncHTTPClient().fetch(req, raise_error=False)
    except Exception as e:  # connection refused, timeout: tornado raises these whatever raise_error says
        raise Refused(502, f"the gateway did not answer ({e})") from None
    if r.code == 200:
        return
    if r.code in (403, 404):
        raise Refused(404, f"the gateway says {r.code}")
    if r.code == 401:
        raise Refused(403, "the gateway does not accept this login (401)")
    raise Refused(502, f"the gateway answered {r.code}")


def _without_our_cookies(cookie_header: str, ours: str) -> str:
    """The Cookie header minus this service's own cookies (the person's hub token stays with the front)."""
    kept = [c for c in cookie_header.split(";") if c.strip() and not c.strip().split("=", 1)[0].startswith(ours)]
    return ";".join(kept).strip()


class GuardHandler(HubOAuthenticated, WebSocketHandler):
    """Every method on every path under the prefix: a dashboard check when it is one, then the gateway's answer."""

    upstream: str
    decisions: Decisions

    def initialize(self, hub_auth: HubOAuth, upstream: str, decisions: Decisions) -> None:
        self.hub_auth = hub_auth
        self.upstream, self.decisions = upstream, decisions
        self._ws_upstream: WebSocketClientConnection | None = None
        self._relayed_head = False
        self._up_status, self._up_reason, self._up_headers = 0, "", httputil.HTTPHeaders()

    # ---------------------------------------------------------------- the check

    async def prepare(self) -> None:
        cluster = dashboard_cluster(self.request.path, self.hub_auth.base_url)
        if cluster is None:
            return
        user = await self._hub_user()
        if user is None:
            # A page (navigation) goes through the hub's login and comes back; anything else is refused, not sent
            # round in circles: a fetch() with the cookie but without the XSRF token JupyterHub asks of it is no login.
            navigation = self.request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate" and not self._is_websocket()
            if self.request.method in ("GET", "HEAD") and navigation:
                self.redirect(self.get_login_url())
                return
            raise HTTPError(403, "log in to JupyterHub first")
        token = self.hub_auth.get_token(self)
        allowed = self.decisions.get(token, cluster) if cluster else False
        if allowed is None:
            try:
                await may_see(self.upstream, self.hub_auth.base_url, token, cluster)
                allowed = True
            except Refused as e:
                if e.status != 404:  # a gateway that is down or refuses the login: not an answer to keep
                    log.warning("dashboard %s for %s: %s", cluster, user["name"], e)
                    raise HTTPError(e.status, str(e)) from None
                allowed = False
            self.decisions.put(token, cluster, allowed)
        if not allowed:
            log.info("refused %s the dashboard of cluster %r", user["name"], cluster)
            raise HTTPError(404, f"{user['name']} has no Dask cluster {cluster!r}")

    async def _hub_user(self) -> dict[str, Any] | None:
        """The logged-in person (asked without blocking the loop, unlike ``get_current_user``), if allowed here."""
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            return None
        try:
            return self.check_hub_user(model)  # type: ignore[no-any-return]
        except UserNotAllowed:
            raise HTTPError(403, f"{model.get('name')} may not use this service") from None

    def _is_websocket(self) -> bool:
        return self.request.headers.get("Upgrade", "").lower() == "websocket"

    # ---------------------------------------------------------------- forwarding

    def _forward_headers(self, *, websocket: bool) -> httputil.HTTPHeaders:
        out = httputil.HTTPHeaders()
        for name, value in self.request.headers.get_all():
            low = name.lower()
            if low in HOP_BY_HOP or low == "content-length" or (websocket and low.startswith("sec-websocket-")):
                continue
            if low == "cookie":
                value = _without_our_cookies(value, self.hub_auth.cookie_name)
                if not value:
                    continue
            out.add(name, value)
        return out

    async def get(self, *args: Any) -> None:
        if self._is_websocket():
            await self._open_websocket()
        else:
            await self._forward()

    async def head(self, *args: Any) -> None:
        await self._forward()

    post = put = patch = delete = options = head

    async def _forward(self) -> None:
        method = self.request.method or "GET"
        body = self.request.body if (self.request.body or method in ("POST", "PUT", "PATCH")) else None
        req = HTTPRequest(
            self.upstream + self.request.uri,
            method=method,
            headers=self._forward_headers(websocket=False),
            body=body,
            follow_redirects=False,
            allow_nonstandard_methods=True,
            decompress_response=False,  # pass the bytes on as they came, with their Content-Encoding
            connect_timeout=CONNECT_TIMEOUT,
            request_timeout=REQUEST_TIMEOUT,
            header_callback=self._on_header,
            streaming_callback=self._on_chunk,
        )
        try:
            response = await AsyncHTTPClient().fetch(req, raise_error=False)
        except Exception as e:
            if self._relayed_head:  # half sent: tornado logs it and closes the connection, all that is left to do
                raise
            raise HTTPError(502, f"the gateway did not answer: {e}") from None
        if not self._relayed_head:
            self._relay_head(response.code, response.reason, response.headers)
        self.finish()

    def _on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            start = httputil.parse_response_start_line(line.strip())
            self._up_status, self._up_reason, self._up_headers = start.code, start.reason, httputil.HTTPHeaders()
        elif line in ("\r\n", "\n"):
            if self._up_status >= 200:  # not an interim 100 Continue
                self._relay_head(self._up_status, self._up_reason, self._up_headers)
        else:
            self._up_headers.parse_line(line)

    def _relay_head(self, code: int, reason: str | None, headers: httputil.HTTPHeaders) -> None:
        self._relayed_head = True
        self.set_status(code, reason)
        for default in ("Content-Type", "Server", "Date"):  # tornado's own; the gateway's (if any) follow
            self.clear_header(default)
        for name, value in headers.get_all():
            if name.lower() not in HOP_BY_HOP:
                self.add_header(name, value)

    def _on_chunk(self, chunk: bytes) -> None:
        self.write(chunk)
        self.flush()  # streamed on, not gathered (the gateway's event streams, large files)

    # ---------------------------------------------------------------- websockets

    async def _open_websocket(self) -> None:
        """Connect to the gateway first, so the browser's upgrade is answered with the subprotocol the backend chose
        (Bokeh asks for ``bokeh``; Chromium fails a handshake that ignores it — see pangeoctl/local/chp.py)."""
        url = "ws" + self.upstream[len("http") :] + self.request.uri
        offered = [p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        req = HTTPRequest(url, headers=self._forward_headers(websocket=True), connect_timeout=CONNECT_TIMEOUT, request_timeout=CONNECT_TIMEOUT)
        try:
            self._ws_upstream = await websocket_connect(
                req, on_message_callback=self._from_upstream, subprotocols=offered or None, max_message_size=MAX_MESSAGE
            )
        except HTTPClientError as e:
            raise HTTPError(e.code if e.code != 599 else 502, f"the gateway refused the websocket: {e}") from None
        except Exception as e:
            raise HTTPError(502, f"the gateway did not answer: {e}") from None
        try:
            await WebSocketHandler.get(self)
        finally:
            if self.get_status() != 101 and self._ws_upstream is not None:
                self._ws_upstream.close()
                self._ws_upstream = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        chosen = self._ws_upstream.selected_subprotocol if self._ws_upstream is not None else None
        return chosen if chosen in subprotocols else None

    def get_compression_options(self) -> dict[str, Any] | None:
        return None  # frames pass through as they are

    def on_message(self, message: str | bytes) -> None:
        if self._ws_upstream is not None:
            try:
                self._ws_upstream.write_message(message, binary=isinstance(message, bytes))  # keep each frame's type
            except WebSocketClosedError:
                self.close()

    def _from_upstream(self, message: str | bytes | None) -> None:
        if message is None:  # the gateway's side closed
            up = self._ws_upstream
            self._ws_upstream = None
            code = up.close_code if up is not None else None
            if code in (None, 1005, 1006):  # "no code" and "abnormal" are never sent on the wire
                self.close()
            else:
                self.close(code, up.close_reason if up is not None else None)
            return
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            if self._ws_upstream is not None:
                self._ws_upstream.close()

    def on_close(self) -> None:
        up, self._ws_upstream = self._ws_upstream, None
        if up is not None:
            code = self.close_code if self.close_code not in (None, 1005, 1006) else None
            up.close(code, self.close_reason if code else None)


class CallbackHandler(HubOAuthCallbackHandler):
    """The end of the hub's OAuth flow: sets this service's cookie, back to the dashboard asked for."""

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth


class NotOurs(RequestHandler):
    """Outside the service prefix: nothing is forwarded (the gateway's proxy serves only the prefix anyway). Its 404
    is also how the front alone says it is up (JupyterHub takes any answer below 500 from a service as up)."""

    def prepare(self) -> None:
        raise HTTPError(404)


def cookie_secret(api_token: str) -> bytes:
    """Signs this service's cookies: derived from the service token (also its OAuth client secret), so restarts and
    replicas agree without one more secret to keep."""
    return hmac.new(api_token.encode(), b"pangeoctl dashboard guard cookies", hashlib.sha256).digest()


def make_app(upstream: str, hub_auth: HubOAuth) -> Application:
    """The front for ``hub_auth.base_url`` (the service prefix, ``/services/<name>/``), forwarding to ``upstream``
    (``http://host:port`` of the gateway's HTTP proxy, which serves the same prefix)."""
    prefix = re.escape(hub_auth.base_url)
    callback = urlsplit(hub_auth.oauth_redirect_uri).path
    guard = {"hub_auth": hub_auth, "upstream": upstream.rstrip("/"), "decisions": Decisions(hub_auth.cache_max_age)}
    return Application(
        [
            (re.escape(callback), CallbackHandler, {"hub_auth": hub_auth}),
            (prefix.rstrip("/") + "(?:/.*)?", GuardHandler, guard),
            (r".*", NotOurs),
        ],
        cookie_secret=cookie_secret(hub_auth.api_token),
        websocket_max_message_size=MAX_MESSAGE,
    )


def _usage_error(message: str) -> NoReturn:
    print(f"dashboard guard: {message}", file=sys.stderr)
    raise SystemExit(2)


def _listen_address(listen: str | None) -> tuple[str, int]:
    where = listen or os.environ.get("JUPYTERHUB_SERVICE_URL", "")
    if "://" not in where:
        where = "http://" + where
    parts = urlsplit(where)
    if not parts.port:
        _usage_error(f"no address to listen on ({where!r}) — pass --listen HOST:PORT or set JUPYTERHUB_SERVICE_URL")
    return parts.hostname or "", parts.port


async def serve(upstream: str, listen: str | None) -> None:
    host, port = _listen_address(listen)
    AsyncHTTPClient.configure(None, max_clients=MAX_CLIENTS)
    missing = [v for v in NEEDS if not os.environ.get(v)]
    if missing:
        _usage_error(f"{', '.join(missing)} not set — run it as a JupyterHub service, or set them as the hub would for one")
    hub_auth = HubOAuth()  # from the JUPYTERHUB_* environment
    server = make_app(upstream, hub_auth).listen(port, host, xheaders=True)
    log.info("dashboard guard on %s:%s for %s → %s", host, port, hub_auth.base_url, upstream)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dashboard_guard", description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="the gateway's HTTP proxy, http://host:port (it serves the same prefix)")
    parser.add_argument("--listen", help="HOST:PORT to listen on (default: from JUPYTERHUB_SERVICE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # refusals and errors, not every dashboard request
    asyncio.run(serve(args.upstream, args.listen))


if __name__ == "__main__":
    main()

"""pangeoctl.dashboard_guard: a Dask dashboard opens only for its owner; everything else reaches the gateway unchanged.

The front runs for real (tornado, jupyterhub's HubOAuth) between two stand-ins on loopback ports: the hub's API
(``/hub/api/user`` answers for three tokens, as JupyterHub does) and the gateway's HTTP proxy (its cluster API
answers 200/403/404/401 as dask-gateway-server 2026.3.0's ``get_cluster`` does; dashboards, a Bokeh-like websocket
and a streamed answer behind it). The browser test (tests/browser/test_person.py) runs the same front on the real
platform.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("jupyterhub", reason="jupyterhub is not installed (pip install 'pangeoctl[local]')")
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.netutil import bind_sockets  # noqa: E402
from tornado.web import Application, RequestHandler, create_signed_value  # noqa: E402
from tornado.websocket import WebSocketHandler, websocket_connect  # noqa: E402

from pangeoctl import dashboard_guard as G  # noqa: E402

PREFIX = "/services/dask-gateway/"
ACCESS = "access:services!service=dask-gateway"
SERVICE_TOKEN = "service-token-" + "s" * 20
# token → the hub's model of its owner (carol's token lacks the gateway's access scope)
TOKENS = {
    "alice-token": {"kind": "user", "name": "alice", "admin": False, "groups": [], "scopes": [ACCESS]},
    "bob-token": {"kind": "user", "name": "bob", "admin": False, "groups": [], "scopes": [ACCESS]},
    "erin-token": {"kind": "user", "name": "erin", "admin": True, "groups": [], "scopes": [ACCESS, "admin:users"]},
    "carol-token": {"kind": "user", "name": "carol", "admin": False, "groups": [], "scopes": ["read:users:name!user=carol"]},
}
CLUSTERS = {"c-alice": "alice", "c-bob": "bob"}


# ------------------------------------------------------------------ pure: which paths are dashboards


@pytest.mark.parametrize(
    "path, cluster",
    [
        ("/services/dask-gateway/clusters/c-alice/status", "c-alice"),
        ("/services/dask-gateway/clusters/c-alice/", "c-alice"),
        ("/services/dask-gateway/clusters/c-alice", "c-alice"),
        ("/services/dask-gateway/clusters/ns.c-alice/status/ws", "ns.c-alice"),  # Kubernetes names: <namespace>.<name>
        ("/services/dask-gateway/clusters", ""),
        ("/services/dask-gateway/clusters/", ""),
        # what the gateway's Go proxy (decoded URL.Path) or traefik (cleaned path) would still route to a scheduler
        ("/services/dask-gateway/%63lusters/c-alice/status", "c-alice"),
        ("/services/dask-gateway/clusters%2Fc-alice/status", "c-alice"),
        ("/services/dask-gateway//clusters/c-alice/status", "c-alice"),
        ("/services/dask-gateway/./clusters/c-alice/status", "c-alice"),
        ("/services/dask-gateway/api/../clusters/c-alice/status", "c-alice"),
        ("/services/dask-gateway/api/%2e%2e/clusters/c-alice/status", "c-alice"),
        ("//services/dask-gateway/clusters/c-alice/status", "c-alice"),
        # the gateway's API and everything else under the prefix
        ("/services/dask-gateway/api/v1/clusters/c-alice", None),
        ("/services/dask-gateway/api/health", None),
        ("/services/dask-gateway/clustersx/c-alice", None),
        ("/services/dask-gateway/", None),
        ("/services/dask-gateway", None),
        ("/services/other/clusters/c-alice/status", None),
    ],
)
def test_which_paths_are_dashboards(path: str, cluster: str | None):
    assert G.dashboard_cluster(path, PREFIX) == cluster


def test_decisions_are_kept_per_token_and_cluster():
    d = G.Decisions(max_age=60)
    d.put("alice-token", "c-alice", True)
    d.put("bob-token", "c-alice", False)
    assert (d.get("alice-token", "c-alice"), d.get("bob-token", "c-alice"), d.get("alice-token", "c-bob")) == (True, False, None)
    expired = G.Decisions(max_age=-1)
    expired.put("alice-token", "c-alice", True)
    assert expired.get("alice-token", "c-alice") is None


def test_runs_without_pangeoctl():
    """On Kubernetes it runs from a ConfigMap in the hub image, which has jupyterhub and tornado but no pangeoctl."""
    code = f"import runpy, sys; sys.modules['pangeoctl'] = None; sys.argv = ['dashboard_guard.py', '--help']; runpy.run_path({G.__file__!r}, run_name='__main__')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    assert "--upstream" in r.stdout


# ------------------------------------------------------------------ the stand-ins


@dataclass
class Seen:
    """What the gateway stand-in was asked."""

    cluster_checks: list[tuple[str, str]] = field(default_factory=list)  # (cluster, Authorization)
    dashboard_headers: list[dict[str, str]] = field(default_factory=list)
    api_headers: list[dict[str, str]] = field(default_factory=list)
    stream_go_on: asyncio.Event = field(default_factory=asyncio.Event)


class HubUser(RequestHandler):
    def get(self) -> None:
        model = TOKENS.get(self.request.headers.get("Authorization", "").removeprefix("token "))
        if model is None:
            self.set_status(403)  # JupyterHub's answer to a token it does not know
            return
        self.write(model)


class ClusterApi(RequestHandler):
    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    def get(self, name: str) -> None:
        auth = self.request.headers.get("Authorization", "")
        self.seen.cluster_checks.append((name, auth))
        user = TOKENS.get(auth.removeprefix("jupyterhub ")) if auth.startswith("jupyterhub ") else None
        if user is None or ACCESS not in user["scopes"]:
            self.set_status(401)
        elif name not in CLUSTERS:
            self.set_status(404)
        elif CLUSTERS[name] != user["name"]:  # admins too: dask-gateway-server compares the names only
            self.set_status(403)
        else:
            self.write({"name": name, "status": "RUNNING"})


class OtherApi(RequestHandler):
    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    def get(self, what: str) -> None:
        self.seen.api_headers.append(dict(self.request.headers))
        self.write({"path": self.request.path, "query": self.request.query, "authorization": self.request.headers.get("Authorization")})

    def post(self, what: str) -> None:
        self.seen.api_headers.append(dict(self.request.headers))
        self.set_status(201)
        self.set_header("X-Gateway", "yes")
        self.write({"body": self.request.body.decode()})


class Stream(RequestHandler):
    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    async def get(self) -> None:
        self.write("first;")
        await self.flush()
        await self.seen.stream_go_on.wait()  # set by the client once "first;" reached it
        self.write("second")


class Dashboard(RequestHandler):
    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    def get(self, name: str, rest: str) -> None:
        self.seen.dashboard_headers.append(dict(self.request.headers))
        self.write(f"dashboard of {name}")


class BokehSocket(WebSocketHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "bokeh" if "bokeh" in subprotocols else None

    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))  # echoed, in kind


def _serve(app: Application) -> tuple[HTTPServer, str]:
    [sock] = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(app)
    server.add_sockets([sock])
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Front:
    url: str
    gateway: str
    seen: Seen
    hub_auth: Any

    def cookie(self, token: str) -> str:
        """The cookie HubOAuth sets after the hub's OAuth flow (signed with the front's secret)."""
        value = create_signed_value(G.cookie_secret(SERVICE_TOKEN), self.hub_auth.cookie_name, token).decode()
        return f"{self.hub_auth.cookie_name}={value}"


@asynccontextmanager
async def running_front() -> AsyncIterator[Front]:
    from jupyterhub.services.auth import HubOAuth

    seen = Seen()
    hub, hub_url = _serve(Application([(r"/hub/api/user", HubUser)]))
    p = PREFIX.rstrip("/")
    kw = {"seen": seen}
    gateway, gateway_url = _serve(
        Application(
            [
                (rf"{p}/api/v1/clusters/([^/]+)", ClusterApi, kw),
                (rf"{p}/api/stream", Stream, kw),
                (rf"{p}/api/(.*)", OtherApi, kw),
                (rf"{p}/clusters/([^/]+)/status/ws", BokehSocket),
                (rf"{p}/clusters/([^/]+)(/.*)?", Dashboard, kw),
            ]
        )
    )
    hub_auth = HubOAuth(
        api_token=SERVICE_TOKEN,
        api_url=f"{hub_url}/hub/api",
        oauth_client_id="service-dask-gateway",
        base_url=PREFIX,
        hub_prefix="/hub/",
        hub_host="",
        oauth_redirect_uri=f"{PREFIX}oauth_callback",
        access_scopes={ACCESS},
    )
    front, front_url = _serve(G.make_app(gateway_url, hub_auth))
    try:
        yield Front(front_url, gateway_url, seen, hub_auth)
    finally:
        for s in (front, gateway, hub):
            s.stop()


def run(test: Callable[[Front], Awaitable[None]]) -> None:
    async def main() -> None:
        async with running_front() as front:
            await asyncio.wait_for(test(front), 30)

    asyncio.run(main())


async def fetch(url: str, *, token: str | None = None, cookie: str | None = None, **kw: Any) -> HTTPResponse:
    headers = dict(kw.pop("headers", {}))
    if token:
        headers["Authorization"] = f"token {token}"
    if cookie:
        headers["Cookie"] = cookie
    req = HTTPRequest(url, headers=headers, follow_redirects=False, **kw)
    return await AsyncHTTPClient().fetch(req, raise_error=False)


def dashboard(front: Front, cluster: str, rest: str = "status") -> str:
    return f"{front.url}{PREFIX}clusters/{cluster}/{rest}"


# ------------------------------------------------------------------ through the front


def test_the_owner_sees_her_dashboard_and_no_one_else_does():
    async def test(f: Front) -> None:
        r = await fetch(dashboard(f, "c-alice"), token="alice-token")
        assert (r.code, r.body) == (200, b"dashboard of c-alice")
        bob = await fetch(dashboard(f, "c-alice"), token="bob-token")
        assert bob.code == 404 and b"dashboard of" not in bob.body  # before: 200, alice's dashboard
        assert (await fetch(dashboard(f, "c-bob"), token="bob-token")).code == 200
        assert (await fetch(dashboard(f, "no-such-cluster"), token="bob-token")).code == 404  # the same answer as alice's
        # an admin of the hub is not the owner either (the gateway says 403 to erin too)
        assert (await fetch(dashboard(f, "c-alice"), token="erin-token")).code == 404
        # a hub login without the gateway's access scope is no login here
        assert (await fetch(dashboard(f, "c-alice"), token="carol-token")).code == 403
        assert [name for name, _ in f.seen.cluster_checks] == ["c-alice", "c-alice", "c-bob", "no-such-cluster", "c-alice"]
        assert len(f.seen.dashboard_headers) == 2  # alice's and bob's own; nothing else reached a dashboard

    run(test)


def test_encoded_and_dotted_paths_are_dashboards_too():
    async def test(f: Front) -> None:
        for path in ("%63lusters/c-alice/status", "api/../clusters/c-alice/status", "clusters%2Fc-alice/status", "./clusters/c-alice/status"):
            r = await fetch(f"{f.url}{PREFIX}{path}", token="bob-token")
            assert r.code == 404, path
        assert f.seen.dashboard_headers == []

    run(test)


def test_without_a_login_a_page_goes_to_the_hub_and_the_rest_is_refused():
    async def test(f: Front) -> None:
        r = await fetch(dashboard(f, "c-alice"))
        assert r.code == 302
        location = r.headers["Location"]
        assert location.startswith("/hub/api/oauth2/authorize?") and "client_id=service-dask-gateway" in location and "state=" in location
        assert "oauth_callback" in location
        assert (await fetch(dashboard(f, "c-alice"), method="POST", body=b"")).code == 403
        assert (await fetch(dashboard(f, "c-alice"), token="not-a-token")).code == 302  # unknown to the hub: log in
        with pytest.raises(Exception, match="403"):
            await websocket_connect(dashboard(f, "c-alice", "status/ws").replace("http", "ws"), subprotocols=["bokeh", "x"])
        assert f.seen.cluster_checks == [] and f.seen.dashboard_headers == []

    run(test)


def test_the_hub_cookie_logs_in_and_stays_with_the_front():
    async def test(f: Front) -> None:
        r = await fetch(dashboard(f, "c-alice"), cookie=f"other=1; {f.cookie('alice-token')}; theme=dark")
        assert (r.code, r.body) == (200, b"dashboard of c-alice")
        assert f.seen.cluster_checks == [("c-alice", "jupyterhub alice-token")]  # the person's own token asked the gateway
        assert f.seen.dashboard_headers[0]["Cookie"] == "other=1; theme=dark"
        assert (await fetch(dashboard(f, "c-alice"), cookie=f.cookie("bob-token"))).code == 404

    run(test)


def test_the_cookie_counts_as_jupyterhub_says():
    """JupyterHub's XSRF rule for cookie logins: pages, same-origin scripts and images yes; a fetch() from another page of
    the hub's origin (another user's server shares it) no — and that is a refusal, not a redirect to log in again."""

    async def test(f: Front) -> None:
        cookie = f.cookie("alice-token")
        page = await fetch(dashboard(f, "c-alice"), cookie=cookie, headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none"})
        script = await fetch(
            dashboard(f, "c-alice", "statics/a.js"), cookie=cookie, headers={"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"}
        )
        assert (page.code, script.code) == (200, 200)
        fetched = await fetch(
            dashboard(f, "c-alice", "individual-plots.json"), cookie=cookie, headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
        )
        assert fetched.code == 403
        anonymous = await fetch(dashboard(f, "c-alice", "statics/a.js"), headers={"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"})
        assert anonymous.code == 403

    run(test)


def test_one_gateway_check_per_person_and_cluster():
    async def test(f: Front) -> None:
        for rest in ("status", "statics/a.js", "statics/b.css", "workers"):
            assert (await fetch(dashboard(f, "c-alice", rest), token="alice-token")).code == 200
        for _ in range(2):
            assert (await fetch(dashboard(f, "c-alice"), token="bob-token")).code == 404
        assert f.seen.cluster_checks == [("c-alice", "jupyterhub alice-token"), ("c-alice", "jupyterhub bob-token")]

    run(test)


def test_the_gateway_api_passes_unchanged():
    async def test(f: Front) -> None:
        r = await fetch(f"{f.url}{PREFIX}api/v1/clusters/?status=running", headers={"Authorization": "jupyterhub alice-token"})
        assert r.code == 200 and json.loads(r.body) == {
            "path": f"{PREFIX}api/v1/clusters/",
            "query": "status=running",
            "authorization": "jupyterhub alice-token",
        }
        r = await fetch(f"{f.url}{PREFIX}api/v1/clusters/", method="POST", body=b'{"cluster_options": {}}')
        assert (r.code, json.loads(r.body), r.headers["X-Gateway"]) == (201, {"body": '{"cluster_options": {}}'}, "yes")
        # the gateway's own answers, as they are (no login asked for the API: the gateway checks its tokens)
        assert (await fetch(f"{f.url}{PREFIX}api/v1/clusters/c-alice")).code == 401
        assert (await fetch(f"{f.url}{PREFIX}api/v1/clusters/c-alice", headers={"Authorization": "jupyterhub bob-token"})).code == 403
        assert f.seen.dashboard_headers == []

    run(test)


def test_answers_are_streamed_not_gathered():
    async def test(f: Front) -> None:
        got: list[bytes] = []

        def chunk(data: bytes) -> None:
            got.append(data)
            f.seen.stream_go_on.set()  # the gateway sends the rest only once the first part came through

        r = await fetch(f"{f.url}{PREFIX}api/stream", streaming_callback=chunk)
        assert r.code == 200 and b"".join(got) == b"first;second" and got[0] == b"first;"

    run(test)


def test_dashboard_websockets_keep_the_subprotocol_and_the_frame_types():
    async def test(f: Front) -> None:
        url = dashboard(f, "c-alice", "status/ws").replace("http", "ws")
        req = HTTPRequest(url, headers={"Authorization": "token alice-token"})
        ws = await websocket_connect(req, subprotocols=["bokeh", "session-token"])
        assert ws.selected_subprotocol == "bokeh"  # Chromium fails a handshake without it (the blank dashboard)
        await ws.write_message("text")
        assert await ws.read_message() == "text"
        await ws.write_message(b"\x00\x01binary", binary=True)
        assert await ws.read_message() == b"\x00\x01binary"
        ws.close()
        with pytest.raises(Exception, match="404"):
            await websocket_connect(HTTPRequest(url, headers={"Authorization": "token bob-token"}), subprotocols=["bokeh", "x"])

    run(test)


def test_only_the_service_prefix_is_served():
    async def test(f: Front) -> None:
        assert (await fetch(f"{f.url}/hub/api/users", token="alice-token")).code == 404
        assert (await fetch(f"{f.url}/clusters/c-alice/status", token="bob-token")).code == 404
        assert (await fetch(f"{f.url}/")).code == 404  # how `pangeoctl status` sees it is up, the gateway or not
        assert f.seen.api_headers == [] and f.seen.dashboard_headers == []

    run(test)


def test_a_gateway_that_is_down_is_a_bad_gateway():
    async def test(f: Front) -> None:
        app = G.make_app("http://127.0.0.1:9", f.hub_auth)  # nothing listens on port 9
        server, url = _serve(app)
        try:
            assert (await fetch(f"{url}{PREFIX}api/health")).code == 502
            assert (await fetch(f"{url}{PREFIX}clusters/c-alice/status", token="alice-token")).code == 502
        finally:
            server.stop()

    run(test)


def test_runs_from_the_environment_a_service_gets():
    """As the chart runs it: ``python dashboard_guard.py --upstream … --listen …``, the rest from JUPYTERHUB_* variables."""

    async def test() -> None:
        gateway, gateway_url = _serve(Application([(rf"{PREFIX}api/(.*)", OtherApi, {"seen": Seen()})]))
        [sock] = bind_sockets(0, "127.0.0.1")
        port = sock.getsockname()[1]
        sock.close()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
            "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
            "JUPYTERHUB_SERVICE_NAME": "dask-gateway",
            "JUPYTERHUB_CLIENT_ID": "service-dask-gateway",
            "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{PREFIX}oauth_callback",
        }
        cmd = [sys.executable, G.__file__, "--upstream", gateway_url, "--listen", f"127.0.0.1:{port}"]
        proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd="/", stderr=asyncio.subprocess.PIPE)
        try:
            url = f"http://127.0.0.1:{port}{PREFIX}"
            for _ in range(200):  # until it listens (importing jupyterhub takes a moment)
                assert proc.returncode is None, (await proc.stderr.read()).decode() if proc.stderr else "exited"
                try:
                    r = await fetch(url + "api/health")
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            assert r.code == 200 and json.loads(r.body)["path"] == f"{PREFIX}api/health"
            r = await fetch(url + "clusters/c-alice/status")
            assert r.code == 302
            query = parse_qs(urlsplit(r.headers["Location"]).query)
            assert (query["client_id"], query["redirect_uri"]) == (["service-dask-gateway"], [f"{PREFIX}oauth_callback"])
        finally:
            proc.terminate()
            await proc.wait()
            gateway.stop()

    asyncio.run(asyncio.wait_for(test(), 60))

"""The whole local platform end to end: hub, users, a server, gateway clusters, limits, isolation,
a gateway crash and recovery, and a clean `down`. Real processes on loopback ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.error
import urllib.request

import psutil
import pytest

from tests.integration.conftest import Platform, cli, wait_for

pytestmark = pytest.mark.integration


def _gateway(p: Platform, token: str):
    from dask_gateway import Gateway, JupyterHubAuth

    return Gateway(address=p.gateway_address(), proxy_address=p.proxy_address(), auth=JupyterHubAuth(api_token=token))


def test_up_again_changes_nothing(platform: Platform):
    r = cli("up", "-c", str(platform.config))
    assert r.returncode == 0
    assert "already up; nothing changed" in r.stdout


def test_listens_on_loopback_only(platform: Platform):
    hub = int((platform.state / "run" / "pangeoctl-hub.pid").read_text())
    pids = {hub, *(c.pid for c in psutil.Process(hub).children(recursive=True))}
    addrs = {c.laddr.ip for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in pids}
    assert addrs and addrs <= {"127.0.0.1"}


def test_secrets_are_private(platform: Platform):
    for f in (platform.state / "secrets").iterdir():
        assert f.stat().st_mode & 0o077 == 0, f.name
    data = (platform.state / "platform.json").read_text()
    for f in (platform.state / "secrets").iterdir():  # the data names where each secret is, never its value
        assert f.read_text().strip() not in data, f.name
    admin = next(s for s in json.loads(data)["services"] if s["name"] == "pangeoctl")
    assert admin["api_token"] == {"file": str(platform.state / "secrets" / "admin_token")}


def test_users_servers_and_gateway_clusters(platform: Platform):
    code, _ = platform.api("POST", "/users", {"usernames": ["alice", "bob"]})
    assert code == 201
    code, _ = platform.api("POST", "/users/alice/server")
    assert code in (201, 202)
    wait_for(lambda: platform.api("GET", "/users/alice")[1]["servers"].get("", {}).get("ready"), 60, what="alice's server")  # type: ignore[index]
    alice, bob = platform.user_token("alice"), platform.user_token("bob")

    # The user's server got the gateway settings the notebook's Gateway() reads.
    env = _server_environment(platform, "alice")
    assert env["DASK_GATEWAY__ADDRESS"] == platform.gateway_address()
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"

    gw_alice = _gateway(platform, alice)
    opts = gw_alice.cluster_options()
    assert set(opts) == {"worker_cores", "worker_memory"}
    opts.worker_memory = "1G"
    cluster = gw_alice.new_cluster(opts)
    try:
        cluster.scale(2)
        client = cluster.get_client()
        client.wait_for_workers(2, timeout=60)
        import dask.array as da

        x = da.arange(1_000_000, chunks=100_000)
        assert int(x.sum().compute()) == 499999500000
        assert len(client.scheduler_info()["workers"]) == 2

        # Bob cannot see, connect to, scale or stop Alice's cluster.
        with _gateway(platform, bob) as gw_bob:
            assert gw_bob.list_clusters() == []
        name = cluster.name
        assert _gateway_call(platform, "GET", f"/api/v1/clusters/{name}", bob) == 403
        assert _gateway_call(platform, "POST", f"/api/v1/clusters/{name}/scale", bob, {"count": 0}) == 403
        assert _gateway_call(platform, "DELETE", f"/api/v1/clusters/{name}", bob) == 403
        assert [c.name for c in gw_alice.list_clusters()] == [name]
        assert len(client.scheduler_info()["workers"]) == 2

        # Over a limit: a second concurrent cluster is refused with the reason.
        # (`submit`, not `new_cluster`: a GatewayCluster that fails in __init__ leaves a Gateway whose
        # __del__ later deadlocks the dask client's event loop — a dask_gateway client quirk.)
        with pytest.raises(ValueError, match="limit is 1 \\(dask.limits.max_clusters_per_user\\)"):
            gw_alice.submit()
        # An option outside the offered choices is refused too.
        with pytest.raises(ValueError, match="worker_memory"):
            gw_alice.submit(worker_memory="64G")

        # status shows the cluster and its workers.
        s = json.loads(cli("status", "-c", str(platform.config), "--json").stdout)
        assert [(c["user"], c["workers"]) for c in s["clusters"]] == [("alice", 2)]
        assert {u["name"]: u["server"] for u in s["users"]}["alice"] is True

        # The gateway dies: status says so; `up` brings it back; Alice's cluster survives it.
        # (Close the client first: the gateway's TCP proxy dies with it, and the dask_gateway client
        # deadlocks collecting a Gateway inside its own event loop while it reconnects.)
        client.close()
        gw_pid = s["processes"]["gateway"]["pid"]
        os.kill(gw_pid, signal.SIGKILL)
        wait_for(lambda: not psutil.pid_exists(gw_pid) or psutil.Process(gw_pid).status() == psutil.STATUS_ZOMBIE, 10, what="gateway death")
        r = cli("status", "-c", str(platform.config), "--json")
        assert r.returncode == 1
        assert json.loads(r.stdout)["processes"]["gateway"]["healthy"] is False
        r = cli("up", "-c", str(platform.config))
        assert r.returncode == 0, r.stderr
        assert cli("status", "-c", str(platform.config)).returncode == 0
        with _gateway(platform, alice) as gw:
            assert [c.name for c in gw.list_clusters()] == [cluster.name]
            with gw.connect(cluster.name) as again, again.get_client() as client2:
                assert int(da.arange(1000, chunks=100).sum().compute()) == 499500
                assert len(client2.scheduler_info()["workers"]) == 2
    finally:
        cluster.shutdown()
        gw_alice.close()


def test_gateway_rejects_missing_and_unscoped_tokens(platform: Platform):
    platform.api("POST", "/users", {"usernames": ["carol"]})
    assert _gateway_call(platform, "GET", "/api/v1/clusters/", None) == 401
    assert _gateway_call(platform, "GET", "/api/v1/clusters/", platform.user_token("carol", scopes=["read:users:name!user=carol"])) == 401
    assert _gateway_call(platform, "GET", "/api/v1/clusters/", platform.user_token("carol")) == 200


def _gateway_call(p: Platform, method: str, path: str, token: str | None, body: dict | None = None) -> int:
    """One raw gateway API request, authenticated the way dask_gateway.JupyterHubAuth does it."""
    req = urllib.request.Request(
        f"{p.gateway_address()}{path}",
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"jupyterhub {token}"} if token else {},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_down_leaves_no_process_and_no_port(tmp_path_factory):
    """Its own platform, so the shared one stays up for the other tests."""
    from tests.integration.conftest import write_config

    tmp = tmp_path_factory.mktemp("downtest")
    cfg = write_config(tmp)
    assert cli("up", "-c", str(cfg)).returncode == 0
    state = tmp / "state"
    ports = json.loads((state / "run" / "ports.json").read_text())
    r = cli("down", "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    for port in ports.values():
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, port
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if any(str(state) in a for a in (p.info["cmdline"] or []))]
    assert leftovers == []
    assert (state / "jupyterhub.sqlite").exists()  # data kept without --purge
    assert cli("down", "-c", str(cfg), "--purge").returncode == 0
    assert not state.exists()


def _server_environment(p: Platform, user: str) -> dict[str, str]:
    hub = int((p.state / "run" / "pangeoctl-hub.pid").read_text())
    for proc in psutil.Process(hub).children(recursive=True):
        try:
            if "jupyterhub-singleuser" in " ".join(proc.cmdline()) and proc.environ().get("JUPYTERHUB_USER") == user:
                return proc.environ()
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no server process for {user}")

"""Faults on the local platform: a component killed with SIGKILL while a user has a server and a running Dask
cluster, and a full disk in the state directory.

What survives what, and why:

- **The hub.** Its proxy, gateway, idle culler, user servers and Dask processes each run in a session of
  their own, so they outlive it. ``up`` stops what only a hub can drive (the proxy, the gateway and the
  culler: a new hub starts its own and they would hold its ports) and keeps user servers (the new hub adopts
  them from its database, ``cleanup_servers = False``) and Dask clusters (the gateway keeps them in its file
  database, ``stop_clusters_on_shutdown = False``). The SQLite database survives a kill: users and their
  tokens stay valid.
- **The proxy** holds only its routing table, which the hub rebuilds: the hub restarts it by itself (it checks
  every 5 s) or ``up`` restarts the hub. Connections through it at that moment are lost.
- **The gateway**'s state is its SQLite file; schedulers keep running and heartbeat again once the hub has
  restarted it. Client connections through its TCP proxy are lost and must reconnect.
- **A scheduler** cannot be brought back: its tasks, results and the workers' registrations live in its
  memory (dask-gateway has no scheduler restart), and its workers exit on their own a few seconds later.
  ``status`` names the cluster until the gateway notices (its heartbeat timeout, 30–45 s); ``up`` stops it
  through the gateway at once, so the user's cluster cap is free again for a new one.

The hub restarts the proxy and the gateway by itself, so those two tests freeze the hub (SIGSTOP) while
they kill and look: otherwise ``status`` would sometimes look after the hub had repaired it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import Platform, cli, running, wait_for, write_config

pytestmark = pytest.mark.integration


@dataclass
class Live:
    """A platform where alice has a server and a one-worker cluster; tests replace what they break."""

    p: Platform
    token: str
    server_pid: int
    cluster: str


def _gateway(p: Platform, token: str):
    from dask_gateway import Gateway, JupyterHubAuth

    return Gateway(address=p.gateway_address(), proxy_address=p.proxy_address(), auth=JupyterHubAuth(api_token=token))


def _new_cluster(p: Platform, token: str) -> str:
    with _gateway(p, token) as gw, gw.new_cluster(shutdown_on_close=False) as cluster:
        cluster.scale(1)
        with cluster.get_client() as client:
            client.wait_for_workers(1, timeout=60)
        return cluster.name


def _computes(p: Platform, token: str, name: str) -> int:
    """Connect to the cluster anew, compute on it; the number of workers it has."""
    import dask.array as da

    with _gateway(p, token) as gw:
        assert [c.name for c in gw.list_clusters()] == [name]
        with gw.connect(name) as cluster, cluster.get_client() as client:
            client.wait_for_workers(1, timeout=60)
            assert int(da.arange(1000, chunks=100).sum().compute()) == 499500
            return len(client.scheduler_info()["workers"])


def _server_pid(p: Platform, user: str) -> int:
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["cwd"] == str(p.state / "homes" / user) and any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or []):
                return proc.pid
    raise AssertionError(f"no server process for {user}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with running(tmp_path_factory.mktemp("faults")) as p:
        assert p.api("POST", "/users", {"usernames": ["alice"]})[0] == 201
        assert p.api("POST", "/users/alice/server")[0] in (201, 202)
        wait_for(lambda: p.api("GET", "/users/alice")[1]["servers"].get("", {}).get("ready"), 60, what="alice's server")  # type: ignore[index]
        token = p.user_token("alice")
        yield Live(p, token, _server_pid(p, "alice"), _new_cluster(p, token))


def _status(p: Platform) -> tuple[int, dict]:
    r = cli("status", "-c", str(p.config), "--json")
    return r.returncode, json.loads(r.stdout)


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10, what=f"pid {pid} to die")


@contextlib.contextmanager
def _hub_frozen(p: Platform) -> Iterator[None]:
    hub = psutil.Process(int((p.state / "run" / "pangeoctl-hub.pid").read_text()))
    hub.suspend()
    try:
        yield
    finally:
        hub.resume()


def _up(p: Platform) -> subprocess.CompletedProcess:
    r = cli("up", "-c", str(p.config))
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _assert_recovered(live: Live) -> None:
    """Healthy again; alice's token (the hub database), her server and her cluster survived."""
    code, s = _status(live.p)
    assert code == 0, s
    code, me = live.p.api("GET", "/user", token=live.token)
    assert code == 200 and me["name"] == "alice"  # type: ignore[index]
    assert _server_pid(live.p, "alice") == live.server_pid
    assert {u["name"]: u["server"] for u in s["users"]}["alice"] is True
    assert [(c["name"], c["status"]) for c in s["clusters"]] == [(live.cluster, "running")]
    assert _computes(live.p, live.token, live.cluster) == 1


def test_hub_killed(live: Live):
    """The hub is named as down while what it started still runs; ``up`` replaces the hub and its proxy,
    gateway and culler, and keeps alice's server, cluster and token."""
    _, before = _status(live.p)
    _kill(before["processes"]["hub"]["pid"])
    code, s = _status(live.p)
    assert code == 1
    assert s["processes"]["hub"]["healthy"] is False and s["processes"]["hub"]["pid"] is None
    # They outlive the hub and say so (before: no pid and "NOT healthy" for all three).
    for name in ("proxy", "gateway"):
        assert s["processes"][name] == {**before["processes"][name], "healthy": True}, name
    assert [c["name"] for c in s["clusters"]] == [live.cluster]
    text = cli("status", "-c", str(live.p.config)).stdout
    assert [line.split()[0] for line in text.splitlines() if "NOT healthy" in line] == ["hub"]

    r = _up(live.p)  # before: "port … is in use by another program" (the orphaned proxy)
    assert "is up" in r.stdout
    _assert_recovered(live)
    assert _status(live.p)[1]["processes"]["proxy"]["pid"] != before["processes"]["proxy"]["pid"]


def test_proxy_killed(live: Live):
    with _hub_frozen(live.p):
        pid = _status(live.p)[1]["processes"]["proxy"]["pid"]
        _kill(pid)
        code, s = _status(live.p)
    assert code == 1
    assert s["processes"]["proxy"] == {**s["processes"]["proxy"], "pid": None, "healthy": False}
    assert s["processes"]["gateway"]["healthy"] is True  # the gateway is fine; only the way to it is gone
    _up(live.p)
    _assert_recovered(live)


def test_gateway_killed(live: Live):
    with _hub_frozen(live.p):
        pid = _status(live.p)[1]["processes"]["gateway"]["pid"]
        _kill(pid)
        code, s = _status(live.p)
    assert code == 1
    assert s["processes"]["gateway"] == {**s["processes"]["gateway"], "pid": None, "healthy": False}
    assert s["processes"]["proxy"]["healthy"] is True
    _up(live.p)
    _assert_recovered(live)


def test_guard_killed(live: Live):
    """The dashboard guard is the hub's dask-gateway service: with it dead, status says so, the gateway behind it is
    fine, and `up` brings it back (clusters, which live in the gateway, survive)."""
    with _hub_frozen(live.p):
        _kill(_status(live.p)[1]["processes"]["guard"]["pid"])
        code, s = _status(live.p)
    assert code == 1 and s["processes"]["guard"]["healthy"] is False and s["processes"]["gateway"]["healthy"] is True
    _up(live.p)
    _assert_recovered(live)


def test_restart_for_a_new_config_keeps_servers(live: Live):
    """A changed pangeo.yaml restarts the hub; servers and clusters outlive it (before: servers were killed)."""
    live.p.config.write_text(live.p.config.read_text().replace("cull_idle: 1h", "cull_idle: 2h"))
    r = _up(live.p)
    assert "restarted" in r.stdout
    _assert_recovered(live)


def test_scheduler_killed(live: Live):
    """The cluster is lost (its state lived in the scheduler): ``status`` names it, ``up`` stops it so alice
    may start another at once, within her cap of one cluster."""
    scheduler = next(
        p.pid
        for p in psutil.process_iter(["cwd", "cmdline"])
        if p.info["cwd"] == str(live.p.state / "dask-clusters" / live.cluster) and "scheduler" in (p.info["cmdline"] or [])
    )
    _kill(scheduler)
    code, s = _status(live.p)
    assert code == 1  # before: 0, and the cluster "running"
    assert [(c["name"], c["status"]) for c in s["clusters"]] == [(live.cluster, "scheduler down")]
    assert all(p["healthy"] for p in s["processes"].values())

    r = _up(live.p)
    assert live.cluster in r.stderr and "scheduler" in r.stderr
    code, s = _status(live.p)
    assert code == 0 and s["clusters"] == []
    live.cluster = _new_cluster(live.p, live.token)  # before: refused for 30–45 s ("the limit is 1")
    _assert_recovered(live)


# ------------------------------------------------------------------ a full disk


def _mount_tmpfs(where: Path, size_mib: int) -> None:
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"a small disk for the state dir needs a tmpfs mount (root): {r.stderr.strip()}")


def _fill(folder: Path, leave: int) -> None:
    """Write a file until ``leave`` bytes are free in ``folder``'s file system."""
    with open(folder / "filler", "wb") as f:
        while (free := os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize) > leave:
            try:
                f.write(b"\0" * min(free - leave, 1 << 20))
                f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break


def _intact(state: Path, data: bytes) -> None:
    assert (state / "platform.json").read_bytes() == data
    for db in ("jupyterhub.sqlite", "dask_gateway.sqlite"):
        with contextlib.closing(sqlite3.connect(f"file:{state / db}?mode=ro", uri=True)) as con:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)], db
    with contextlib.closing(sqlite3.connect(f"file:{state / 'jupyterhub.sqlite'}?mode=ro", uri=True)) as con:
        assert ("alice",) in con.execute("SELECT name FROM users").fetchall()


def test_full_disk(tmp_path: Path):
    """``up`` on a (nearly) full state disk says so in one line naming the folder and the fix, exit 1, and
    leaves platform.json and the databases as they were — whether the platform runs or not. (Before: it
    went on — "already up", or a hub started that could not write its database.)"""
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, 96)
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "state"), str(disk / "state")))
    state = disk / "state"
    try:
        assert cli("up", "-c", str(cfg)).returncode == 0
        p = Platform(cfg, state, "", (state / "secrets" / "admin_token").read_text().strip())
        p.url = f"http://127.0.0.1:{p.ports()['hub_port']}"
        assert p.api("POST", "/users", {"usernames": ["alice"]})[0] == 201
        data = (state / "platform.json").read_bytes()
        _fill(disk, leave=256 * 1024)
        cfg.write_text(cfg.read_text().replace("cull_idle: 1h", "cull_idle: 2h"))  # up would have to rewrite platform.json

        for running in (True, False):
            r = cli("up", "-c", str(cfg))
            assert r.returncode == 1, (running, r.stdout + r.stderr)
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and str(state) in lines[0] and "free some space" in lines[0] and "local.state_dir" in lines[0], r.stderr
            if running:
                assert cli("status", "-c", str(cfg)).returncode == 0  # refused, not broken
                # `down` from a shell inside the state dir (a person looking at the logs there) stops the
                # platform, not the shell (before: the shell worked in the state dir, so it was "ours").
                shell = subprocess.run(
                    ["bash", "-c", f"{sys.executable} -m pangeoctl down -c {cfg} && echo shell survived"],
                    cwd=state,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert "shell survived" in shell.stdout, shell.stderr
            else:
                assert not (state / "run" / "pangeoctl-hub.pid").exists()
            _intact(state, data)

        (disk / "filler").unlink()
        assert cli("up", "-c", str(cfg)).returncode == 0
        assert ("alice", False) in {(u["name"], u["server"]) for u in json.loads(cli("status", "-c", str(cfg), "--json").stdout)["users"]}
    finally:
        cli("down", "-c", str(cfg))
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)

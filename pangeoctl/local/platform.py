"""Start, check and stop the local platform's processes.

The hub is the one process we start; it starts and supervises the rest (the proxy, Dask Gateway and the
dashboard guard in front of it as managed services — restarted by the hub if they die — the idle culler,
user servers), and the gateway starts Dask schedulers and workers. Each runs in a session of its own, so
each outlives a killed hub. ``down`` stops the hub, then anything of ours still running: every descendant
it had, and any process working inside the state dir (orphaned Dask processes).

``status`` checks each process on its own address (so a dead proxy is not reported as a dead hub) and each
Dask cluster's scheduler. ``up`` repairs what it can: it replaces what a dead hub left behind (proxy,
guard, gateway, culler), keeps user servers and Dask clusters across hub restarts, stops clusters whose
scheduler died, and refuses to start on a state disk without room for the hub's database.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import secrets
import shutil
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pangeoctl.runner import spawn
from pangeoctl.site import PORTS_FILE
from pangeoctl.targets.local import GUARD_MODULE, GUARD_PORT, HUB_CONFIG, LocalLayout
from pangeoctl.wiring import GATEWAY_PREFIX, SCHEDULER_CMD, WORKER_CMD

Echo = Callable[[str], None]

# module → what provides it; all from `pip install 'pangeoctl[local]'`
NEEDED = {
    "jupyterhub": "jupyterhub",
    "jupyterlab": "jupyterlab",
    "configurable_http_proxy": "configurable-http-proxy",
    "jupyterhub_idle_culler": "jupyterhub-idle-culler",
    "dask_gateway_server": "dask-gateway-server[local]",
    "dask_gateway": "dask-gateway",
    "distributed": "distributed",
}
# Room the platform needs in its state dir to start: the hub's SQLite database and its journal, the log,
# user homes and Dask spill space (workers spill into their cluster's folder there).
MIN_FREE = 64 * 2**20


class LocalError(Exception):
    """The local platform could not do what was asked; the message says why and what to do."""


def check_installed() -> None:
    missing = [pkg for mod, pkg in NEEDED.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise LocalError(f"the local platform needs {', '.join(missing)} — install them with: pip install 'pangeoctl[local]'")


# ------------------------------------------------------------------ state


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _make(name: str) -> str:
    import base64

    if name == "gateway_encrypt_key":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if name == "password":
        return secrets.token_urlsafe(12)
    if name == "admin_password":  # JupyterHub's shared-password login wants 32 characters or more for admins
        return secrets.token_urlsafe(32)
    return secrets.token_hex(32)


def ensure_secret(folder: Path, name: str) -> str:
    """The secret ``folder/name``, generated once (mode 0600, folder 0700) and kept, so restarts keep
    sessions, tokens and passwords valid."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    path = folder / name
    if not path.exists():
        _write_private(path, _make(name) + "\n")
    return path.read_text().strip()


def ensure_secrets(layout: LocalLayout, names: list[str]) -> None:
    for name in names:
        ensure_secret(layout.secrets, name)


def write_files(layout: LocalLayout, files: dict[str, str]) -> bool:
    """Write the platform's data files; True when one changed (the hub must restart to pick it up)."""
    changed = False
    for name, text in files.items():
        path = layout.state / name
        if not path.exists() or path.read_text() != text:
            _write_atomic(path, text)
            changed = True
    return changed


def _write_atomic(path: Path, text: str) -> None:
    """Write beside, then rename: a full disk leaves the old file whole, never a truncated one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _hub_pid_file(layout: LocalLayout) -> Path:
    return layout.state / "run" / "pangeoctl-hub.pid"


def _alive(pid: int | None, needle: str) -> bool:
    import psutil

    if not pid:
        return False
    try:
        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE and any(needle in part for part in p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def hub_pid(layout: LocalLayout) -> int | None:
    f = _hub_pid_file(layout)
    pid = int(f.read_text()) if f.exists() and f.read_text().strip().isdigit() else None
    return pid if _alive(pid, "jupyterhub") else None


# ------------------------------------------------------------------ HTTP


def _get(url: str, token: str | None = None, timeout: float = 3) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return r.status, json.loads(body) if body[:1] in (b"{", b"[") else body.decode()
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def health(layout: LocalLayout) -> dict[str, bool]:
    """Both endpoints through the public proxy, as a user reaches them."""
    return {
        "hub": _get(f"{layout.url}/hub/api/")[0] == 200,
        "gateway": _get(f"{layout.url}{GATEWAY_PREFIX}/api/health")[0] == 200,
    }


def _log_tail(layout: LocalLayout, n: int = 15) -> str:
    log = layout.log
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:]) if log.exists() else "(no log)"


# ------------------------------------------------------------------ processes


def _role(argv: list[str]) -> str | None:
    """Which of the platform's programs a command line runs (None: not one of ours)."""
    names = [Path(a).name for a in argv[:2]]
    if "jupyterhub" in names:
        return "hub"
    if "jupyterhub-singleuser" in names:
        return "server"
    for role, marker in (
        ("proxy", "pangeoctl.local.chp"),
        ("guard", GUARD_MODULE),
        ("gateway", "dask_gateway_server"),
        ("culler", "jupyterhub_idle_culler"),
    ):
        if marker in argv:
            return role
    if "dask-gateway-proxy" in names:
        return "gateway-proxy"
    for role, cmd in (("scheduler", SCHEDULER_CMD), ("worker", WORKER_CMD)):
        if any(Path(a).name == cmd[0] and argv[i + 1 : i + len(cmd)] == cmd[1:] for i, a in enumerate(argv)):
            return role
    return None


# What only a hub drives: a new hub starts its own, which would find their ports taken.
HUB_MANAGED = ("hub", "proxy", "guard", "gateway", "gateway-proxy", "culler")


def _ours(layout: LocalLayout, root_pid: int | None) -> list[Any]:
    """Every process of this platform: the hub's descendants and anything working inside the state dir
    (never pangeoctl itself nor the shell that runs it, even from inside the state dir)."""
    import psutil

    found: dict[int, Any] = {}
    if root_pid:
        try:
            root = psutil.Process(root_pid)
            found[root.pid] = root
            found.update({p.pid: p for p in root.children(recursive=True)})
        except psutil.NoSuchProcess:
            pass
    state = str(layout.state)
    inside = (state, state + os.sep)
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    for p in psutil.process_iter(["pid", "cwd", "cmdline"]):
        try:
            cwd = p.info["cwd"] or ""
            if p.pid not in me and (cwd == state or cwd.startswith(inside[1]) or any(state in a for a in p.info["cmdline"] or [])):
                found.setdefault(p.pid, p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return [p for p in found.values() if p.pid not in me]


def _by_role(procs: list[Any]) -> dict[str, list[Any]]:
    import psutil

    roles: dict[str, list[Any]] = {}
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                roles.setdefault(_role(p.cmdline()) or "other", []).append(p)
        except psutil.Error:
            continue
    return roles


def _leftovers(layout: LocalLayout) -> dict[str, list[Any]]:
    """What a dead hub left running that a new hub would start again (not user servers, not Dask), by role."""
    roles = _by_role(_ours(layout, None))
    return {role: roles[role] for role in HUB_MANAGED if role in roles}


# ------------------------------------------------------------------ up / down / status


def up(layout: LocalLayout, files: dict[str, str], *, needs: list[str], echo: Echo, timeout: float = 120) -> str:
    """Bring the platform up, or leave it as it is when it already runs with these files.

    Repairs on the way: what a dead hub left behind is replaced, a proxy or gateway that is down is
    restarted (by the hub, or by restarting the hub), a Dask cluster whose scheduler died is stopped.
    User servers and Dask clusters outlive hub restarts. Refuses (nothing written) when the state dir's
    disk has less than :data:`MIN_FREE` left.

    Returns "started", "restarted" or "unchanged".
    """
    check_installed()
    _check_room(layout)
    try:
        for sub in ("run", "logs", "homes", "dask-clusters"):
            (layout.state / sub).mkdir(parents=True, exist_ok=True)
        write_files(layout, {str(PORTS_FILE): json.dumps(layout.ports, indent=1, sort_keys=True)})
        ensure_secrets(layout, needs)
        changed = write_files(layout, files)
    except OSError as e:
        raise LocalError(_cannot_write(layout, e)) from None
    pid = hub_pid(layout)
    outcome = "started"
    if not pid:
        left = _leftovers(layout)
        if left:
            echo(f"the hub is gone; stopping what it left running ({', '.join(left)}) — user servers and Dask clusters are kept")
            _terminate([p for procs in left.values() for p in procs], timeout=10)
    elif not changed:
        down_now = _down_parts(layout, pid)
        if not down_now:
            _stop_lost_clusters(layout, echo)
            return "unchanged"
        echo(f"not healthy: {', '.join(down_now)}; giving the hub a moment (it restarts its proxy, guard and gateway itself)")
        try:
            _wait_ready(layout, pid, echo, timeout=min(timeout, 6))
            _stop_lost_clusters(layout, echo)
            return "unchanged"
        except LocalError:
            echo("still down: restarting the hub (users, servers, homes and Dask clusters are kept)")
            _stop_hub(layout, pid)
            outcome = "restarted"
    else:
        echo("pangeo.yaml changed: restarting the hub (users, servers, homes and Dask clusters are kept)")
        _stop_hub(layout, pid)
        outcome = "restarted"
    _check_port_free(layout)
    pid = spawn(
        [str(layout.bin_dir / "jupyterhub"), "-f", str(HUB_CONFIG)],
        cwd=layout.state,
        log=layout.log,
        env={"PANGEOCTL_PLATFORM": str(layout.data_file)},
    )
    _hub_pid_file(layout).write_text(str(pid))
    try:
        _wait_ready(layout, pid, echo, timeout=timeout)
    except LocalError:
        # Leave nothing half-started behind (a proxy that outlived its hub would hold the port).
        _terminate(_ours(layout, pid), timeout=10)
        _hub_pid_file(layout).unlink(missing_ok=True)
        raise
    _stop_lost_clusters(layout, echo)
    return outcome


def _free_bytes(folder: Path) -> int:
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return shutil.disk_usage(existing).free


def _check_room(layout: LocalLayout) -> None:
    """Refuse before writing anything when the state dir's disk is (nearly) full: a hub that cannot write
    its database fails logins and spawns in ways that name no cause."""
    free = _free_bytes(layout.state)
    if free < MIN_FREE:
        raise LocalError(
            f"only {free // 2**10} KiB free on the disk of {layout.state} (the platform needs {MIN_FREE // 2**20} MiB for its database, "
            "logs and Dask spill space) — free some space there, or set `local.state_dir` in pangeo.yaml to a folder on a disk with room"
        )


def _cannot_write(layout: LocalLayout, e: OSError) -> str:
    where = e.filename or layout.state
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {where}: no space left — free some space in {layout.state}, or set `local.state_dir` in pangeo.yaml to a folder on a disk with room"
    return f"cannot write {where}: {e.strerror or e} — check the permissions of {layout.state}, or set `local.state_dir` in pangeo.yaml to a folder you own"


def _check_port_free(layout: LocalLayout) -> None:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((layout.host, layout.ports["hub_port"]))
        except OSError:
            raise LocalError(
                f"port {layout.ports['hub_port']} on {layout.host} is in use by another program — set `local.port` in pangeo.yaml (0 picks a free one)"
            ) from None


def _wait_ready(layout: LocalLayout, pid: int, echo: Echo, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        state = health(layout)
        if all(state.values()):
            return
        if not _alive(pid, "jupyterhub"):
            raise LocalError(f"the hub exited while starting; last lines of {layout.log}:\n{_log_tail(layout)}")
        waiting = ", ".join(k for k, ok in state.items() if not ok)
        if waiting != last:
            echo(f"waiting for {waiting} …")
            last = waiting
        time.sleep(0.25)
    raise LocalError(f"not ready after {timeout:.0f} s (waiting for {last}); last lines of the hub log:\n{_log_tail(layout)}")


def _terminate(procs: list[Any], timeout: float) -> None:
    import psutil

    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)


def _stop_hub(layout: LocalLayout, pid: int) -> None:
    """Stop the hub and what it supervises, but not user servers (the next hub adopts them from its
    database: ``cleanup_servers = False``) nor Dask clusters (their state is kept in the gateway db)."""
    import psutil

    try:
        hub = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    _terminate([hub], timeout=20)
    # The hub stops its proxy and services itself; anything that did not follow is stopped here.
    _terminate([p for procs in _leftovers(layout).values() for p in procs], timeout=10)


def down(layout: LocalLayout, echo: Echo, *, purge: bool = False) -> list[int]:
    """Stop every process of the platform. Returns the pids that were stopped. Keeps state unless ``purge``."""
    pid = hub_pid(layout)
    procs = _ours(layout, pid)
    if pid:
        echo(f"stopping the hub (pid {pid}) and everything it started …")
        _terminate([p for p in procs if p.pid == pid], timeout=30)
    rest = [p for p in procs if p.is_running() and p.pid != pid]
    if rest:
        _terminate(rest, timeout=10)
    _hub_pid_file(layout).unlink(missing_ok=True)
    busy = listening_ports(layout)
    if busy:
        raise LocalError(f"ports still in use after stopping: {busy} — see `pangeoctl status`")
    if purge and layout.state.exists():
        shutil.rmtree(layout.state)
        echo(f"removed {layout.state} (hub database, user homes, secrets)")
    return [p.pid for p in procs]


def listening_ports(layout: LocalLayout) -> list[int]:
    import socket

    busy = []
    for port in layout.ports.values():
        if not port:
            continue
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((layout.host, port)) == 0:
                busy.append(port)
    return busy


def _processes(layout: LocalLayout, hub: int | None) -> dict[str, dict[str, Any]]:
    """Hub, proxy, dashboard guard and gateway: each found by its command line (they outlive a dead hub) and
    checked on its own address, then the routes between them through the proxy, as a user takes them."""
    h, p = layout.host, layout.ports
    roles = _by_role(_ours(layout, hub))

    def pid(role: str) -> int | None:
        found = roles.get(role)
        return found[0].pid if found else None

    proxy, guard, gateway = pid("proxy"), pid("guard"), pid("gateway")
    hub_ok = bool(hub) and _get(f"http://{h}:{p['hub_api_port']}/hub/api/")[0] == 200
    # The guard on its own: any answer below 500 (its 404 outside the service prefix), as the hub checks services —
    # through it, the gateway's health would be the gateway's.
    guard_ok = bool(guard) and 0 < _get(f"http://{h}:{p[GUARD_PORT]}/")[0] < 500
    gateway_ok = bool(gateway) and _get(f"http://{h}:{p['gateway_http_port']}{GATEWAY_PREFIX}/api/health")[0] == 200
    # The proxy on its own API (not through the hub, which may be the part that is down), with the routes
    # the hub gives it: a proxy restarted a moment ago routes nowhere until the hub adds them again.
    routes: Any = None
    token = layout.secrets / "proxy_token"
    if proxy and token.exists():
        code, routes = _get(f"http://{h}:{p['proxy_api_port']}/api/routes", token.read_text().strip())
    proxy_ok = isinstance(routes, dict) and {"/", GATEWAY_PREFIX} <= set(routes)
    return {
        "hub": {"pid": hub, "port": p["hub_api_port"], "healthy": hub_ok},
        "proxy": {"pid": proxy, "port": p["hub_port"], "healthy": proxy_ok},
        "guard": {"pid": guard, "port": p[GUARD_PORT], "healthy": guard_ok},
        "gateway": {"pid": gateway, "port": p["gateway_tcp_port"], "healthy": gateway_ok},
    }


def _down_parts(layout: LocalLayout, hub: int) -> list[str]:
    return [name for name, proc in _processes(layout, hub).items() if not proc["healthy"]]


def status(layout: LocalLayout) -> dict[str, Any]:
    """Processes, users, servers, Dask clusters and workers — what ``pangeoctl status`` prints."""
    pid = hub_pid(layout)
    procs = _processes(layout, pid)
    users: list[dict[str, Any]] = []
    token_file = layout.secrets / "admin_token"
    if procs["hub"]["healthy"] and token_file.exists():  # asked directly: users are listed even when the proxy is down
        code, body = _get(f"http://{layout.host}:{layout.ports['hub_api_port']}/hub/api/users", token_file.read_text().strip())
        if code == 200:
            users = [{"name": u["name"], "admin": u["admin"], "server": bool(u.get("servers", {}).get("", {}).get("ready"))} for u in body]
    found = clusters(layout)
    return {
        "cloud": "local",
        "url": layout.url,
        "state_dir": str(layout.state),
        "log": str(layout.log),
        "up": bool(pid),
        "healthy": bool(pid) and all(p["healthy"] for p in procs.values()) and not any(c["status"] == LOST for c in found),
        "processes": procs,
        "users": users,
        "clusters": found,
    }


LOST = "scheduler down"
_STATUS = {1: "pending", 2: "pending", 3: "running"}


def _cluster_rows(layout: LocalLayout) -> list[dict[str, Any]]:
    """Active clusters from the gateway's own database (read-only), each with its scheduler's liveness and
    its live workers. The gateway records a worker as submitted and keeps its live state in memory: count
    the workers started, not yet stopping, whose process runs."""
    db = layout.state / "dask_gateway.sqlite"
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)) as con:
            rows = con.execute("SELECT id, name, username, status, state, token FROM clusters WHERE status <= 3").fetchall()
            workers = con.execute("SELECT cluster_id, state FROM workers WHERE status IN (2, 3) AND target = 3").fetchall()
    except sqlite3.Error:
        return []

    def pid(state: str) -> int | None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            return int(json.loads(state).get("pid"))
        return None

    out = []
    for cid, name, user, st, state, token in rows:
        sched = pid(state)
        lost = st >= 2 and sched is not None and not _alive(sched, SCHEDULER_CMD[1])
        live = sum(1 for wc, ws in workers if wc == cid and _alive(pid(ws), WORKER_CMD[1]))
        out.append({"name": name, "user": user, "status": LOST if lost else _STATUS.get(st, str(st)), "workers": live, "pid": sched, "token": token})
    return out


def clusters(layout: LocalLayout) -> list[dict[str, Any]]:
    """Active Dask clusters and their live workers; a cluster whose scheduler process is gone is "scheduler
    down" until the gateway notices (its heartbeat timeout) or ``up`` stops it."""
    return [{k: c[k] for k in ("name", "user", "status", "workers")} for c in _cluster_rows(layout)]


def _stop_lost_clusters(layout: LocalLayout, echo: Echo) -> None:
    """Stop, through the gateway, each cluster whose scheduler died.

    A Dask cluster cannot outlive its scheduler (tasks, results and worker registrations live in its memory;
    dask-gateway has no scheduler restart). The gateway would stop it after its heartbeat timeout (30–45 s),
    counting it against the user's cluster cap until then. We ask now, authenticated as the cluster itself
    (its token, which the gateway keeps encrypted with the platform's key — how a scheduler stops its own
    cluster when idle).
    """
    lost = [c for c in _cluster_rows(layout) if c["status"] == LOST]
    if not lost:
        return
    from cryptography.fernet import Fernet

    fernet = Fernet(ensure_secret(layout.secrets, "gateway_encrypt_key"))
    api = f"http://{layout.host}:{layout.ports['gateway_http_port']}{GATEWAY_PREFIX}/api/v1/clusters"
    for c in lost:
        req = urllib.request.Request(f"{api}/{c['name']}", method="DELETE", headers={"Authorization": f"token {fernet.decrypt(c['token']).decode()}"})
        try:
            with urllib.request.urlopen(req, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as e:
            echo(
                f"dask cluster {c['name']} of {c['user']} lost its scheduler (pid {c['pid']}); the gateway did not stop it ({e}) — it will after its heartbeat timeout"
            )
            continue
        echo(
            f"dask cluster {c['name']} of {c['user']} lost its scheduler (pid {c['pid']}): stopped it — a Dask cluster cannot outlive its scheduler, start a new one"
        )
    names = {c["name"] for c in lost}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and names & {c["name"] for c in _cluster_rows(layout)}:
        time.sleep(0.25)


def admin_token(layout: LocalLayout) -> str:
    return (layout.secrets / "admin_token").read_text().strip()

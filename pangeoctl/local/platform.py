"""Start, check and stop the local platform's processes.

The hub is the one process we start; it starts and supervises the rest (the proxy, Dask Gateway as a
managed service — restarted by the hub if it dies — the idle culler, user servers), and the gateway
starts Dask schedulers and workers. ``down`` stops the hub, then anything of ours still running: every
descendant it had, and any process working inside the state dir (orphaned Dask processes).
"""

from __future__ import annotations

import contextlib
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
from pangeoctl.targets.local import HUB_CONFIG, LocalLayout
from pangeoctl.wiring import GATEWAY_PREFIX

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
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LocalError(f"cannot write {path}: {e.strerror or e} — free some space in {path.parent} or set `local.state_dir`") from None


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


# ------------------------------------------------------------------ up / down / status


def up(layout: LocalLayout, files: dict[str, str], *, needs: list[str], echo: Echo, timeout: float = 120) -> str:
    """Bring the platform up, or leave it as it is when it already runs with these files.

    Returns "started", "restarted" or "unchanged".
    """
    check_installed()
    for sub in ("run", "logs", "homes", "dask-clusters"):
        (layout.state / sub).mkdir(parents=True, exist_ok=True)
    _write_atomic(layout.state / PORTS_FILE, json.dumps(layout.ports, indent=1, sort_keys=True))
    ensure_secrets(layout, needs)
    changed = write_files(layout, files)
    pid = hub_pid(layout)
    outcome = "started"
    if pid and not changed:
        if all(health(layout).values()):
            return "unchanged"
        echo("the hub runs but is not healthy; giving it a moment")
        try:
            _wait_ready(layout, pid, echo, timeout=min(timeout, 5))
            return "unchanged"
        except LocalError:
            echo("still not healthy: restarting the hub (users, homes and clusters are kept)")
            _stop_hub(layout, pid)
            outcome = "restarted"
    elif pid:
        echo("pangeo.yaml changed: restarting the hub (users, homes and clusters are kept)")
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
    return outcome


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


def _ours(layout: LocalLayout, root_pid: int | None) -> list[Any]:
    """Every process of this platform: the hub's descendants and anything working inside the state dir."""
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
    for p in psutil.process_iter(["pid", "cwd", "cmdline"]):
        try:
            if p.pid != os.getpid() and ((p.info["cwd"] or "").startswith(state) or any(state in a for a in p.info["cmdline"] or [])):
                found.setdefault(p.pid, p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return list(found.values())


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
    """Stop the hub and what it supervises, but not Dask clusters (their state is kept in the gateway db)."""
    import psutil

    try:
        hub = psutil.Process(pid)
        children = hub.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    _terminate([hub], timeout=20)
    # The hub stops its proxy, services and servers itself; anything that did not follow is stopped here.
    _terminate([c for c in children if c.is_running() and "dask" not in " ".join(c.cmdline())], timeout=10)


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


def status(layout: LocalLayout) -> dict[str, Any]:
    """Processes, users, servers, Dask clusters and workers — what ``pangeoctl status`` prints."""
    import psutil

    pid = hub_pid(layout)
    ok = health(layout) if pid else {"hub": False, "gateway": False}
    procs: dict[str, Any] = {"hub": {"pid": pid, "port": layout.ports["hub_port"], "healthy": ok["hub"]}}
    kids = []
    if pid:
        with contextlib.suppress(psutil.NoSuchProcess):
            kids = psutil.Process(pid).children(recursive=False)

    def find(needle: str) -> int | None:
        for k in kids:
            try:
                if any(needle in a for a in k.cmdline()):
                    return k.pid
            except psutil.NoSuchProcess:
                continue
        return None

    procs["proxy"] = {"pid": find("pangeoctl.local.chp"), "port": layout.ports["hub_port"], "healthy": ok["hub"]}
    procs["gateway"] = {"pid": find("dask_gateway_server"), "port": layout.ports["gateway_tcp_port"], "healthy": ok["gateway"]}
    users: list[dict[str, Any]] = []
    token_file = layout.secrets / "admin_token"
    if ok["hub"] and token_file.exists():
        code, body = _get(f"{layout.url}/hub/api/users", token_file.read_text().strip())
        if code == 200:
            users = [{"name": u["name"], "admin": u["admin"], "server": bool(u.get("servers", {}).get("", {}).get("ready"))} for u in body]
    return {
        "cloud": "local",
        "url": layout.url,
        "state_dir": str(layout.state),
        "log": str(layout.log),
        "up": bool(pid),
        "healthy": bool(pid) and all(p["healthy"] for p in procs.values()),
        "processes": procs,
        "users": users,
        "clusters": clusters(layout),
    }


def clusters(layout: LocalLayout) -> list[dict[str, Any]]:
    """Running Dask clusters and their workers, read from the gateway's own database (read-only)."""
    db = layout.state / "dask_gateway.sqlite"
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        rows = con.execute(
            # The gateway records a worker as submitted and keeps its live state in memory: count the
            # workers started and not yet stopping.
            "SELECT c.name, c.username, c.status, (SELECT count(*) FROM workers w WHERE w.cluster_id = c.id AND w.status IN (2, 3) AND w.target = 3) "
            "FROM clusters c WHERE c.status <= 3"
        ).fetchall()
        con.close()
    except sqlite3.Error:
        return []
    names = {1: "pending", 2: "pending", 3: "running"}
    return [{"name": n, "user": u, "status": names.get(s, str(s)), "workers": w} for n, u, s, w in rows]


def admin_token(layout: LocalLayout) -> str:
    return (layout.secrets / "admin_token").read_text().strip()

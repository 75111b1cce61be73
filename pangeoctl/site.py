"""The one reader of the environment: where state lives, which Python runs us, who we are, today, ports.

A :class:`Site` is built once at the CLI's edge (:meth:`Site.current`) and handed to everything that makes
a plan, so a plan is a pure function of ``(Config, Site)``: tests build a Site by hand and get the same
files every time. Nothing under :mod:`pangeoctl.targets` ``plan`` reads ``os.environ``, the clock, the
file system or sockets — it asks the Site.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

# Local ports the platform needs besides the hub's public one; chosen once, then remembered.
PORT_NAMES = ("hub_port", "hub_api_port", "proxy_api_port", "gateway_http_port", "gateway_api_port", "gateway_tcp_port", "guard_port")
PORTS_FILE = Path("run") / "ports.json"


@dataclass(frozen=True)
class Site:
    """Facts about this machine and this moment that a plan may depend on.

    Parameters
    ----------
    data_root
        Where deployments keep their state: ``<data_root>/<name>/<target>`` (platformdirs' user data dir).
    bin_dir
        The ``bin`` of the Python running pangeoctl (where jupyterhub, dask, … are installed).
    as_root
        Running as uid 0 (jupyter-server then needs ``--allow-root``).
    today
        The date budgets start from.
    ports
        Local ports already chosen (remembered in the state dir, or picked free for ``up``); 0 = not yet.
    """

    data_root: Path
    bin_dir: Path
    as_root: bool = False
    today: dt.date = dt.date(2026, 1, 1)
    ports: dict[str, int] = field(default_factory=dict)
    cpus: int = 2  # this computer: what kind's single node can hold
    memory: int = 8 * 1024**3

    def state_dir(self, name: str, target: str, override: Path | None = None) -> Path:
        """The deployment's own state folder, keyed by name *and* target, so one never purges another's."""
        return override if override is not None else self.data_root / name / target

    def with_ports(self, ports: dict[str, int]) -> Site:
        return replace(self, ports=dict(ports))

    @classmethod
    def current(cls) -> Site:
        """The Site of this process: reads platformdirs, the euid, the clock and the interpreter's path."""
        import os
        import sys

        import psutil
        from platformdirs import user_data_dir

        return cls(
            data_root=Path(user_data_dir("pangeoctl")),
            bin_dir=Path(sys.executable).parent,
            as_root=hasattr(os, "geteuid") and os.geteuid() == 0,
            today=dt.date.today(),
            cpus=os.cpu_count() or 1,
            memory=int(psutil.virtual_memory().total),
        )


def remembered_ports(state: Path) -> dict[str, int]:
    """Ports a previous ``up`` chose for this deployment (empty when it never ran)."""
    f = state / PORTS_FILE
    try:
        saved = json.loads(f.read_text())
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in saved.items() if k in PORT_NAMES and isinstance(v, int)}


def free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])

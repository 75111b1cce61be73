"""Where the local platform lives: its state dir, and the ports it uses (chosen once, then kept)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from pangeoctl.config import Config
from pangeoctl.render.local import LocalLayout

PORT_NAMES = ("hub_api_port", "proxy_api_port", "gateway_http_port", "gateway_api_port", "gateway_tcp_port")


def state_dir(cfg: Config) -> Path:
    if cfg.local.state_dir is not None:
        return cfg.local.state_dir.expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("pangeoctl")) / cfg.name


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def bin_dir() -> Path:
    """The bin directory of the Python running pangeoctl: where jupyterhub, dask, … were installed."""
    return Path(sys.executable).parent


def layout_for(cfg: Config, *, resolve_ports: bool) -> LocalLayout:
    """The layout for ``cfg``. Ports set to 0 take the ones remembered in the state dir; with
    ``resolve_ports``, those still unknown get a free port, remembered so a restart keeps the addresses
    users and clusters already know."""
    state = state_dir(cfg)
    host = cfg.local.host
    ports = {"hub_port": cfg.local.port, "gateway_tcp_port": cfg.local.gateway_port}
    saved_file = state / "run" / "ports.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    for name in ("hub_port", *PORT_NAMES):
        if not ports.get(name):
            ports[name] = saved.get(name) or (free_port(host) if resolve_ports else 0)
    if resolve_ports:
        saved_file.parent.mkdir(parents=True, exist_ok=True)
        saved_file.write_text(json.dumps(ports, indent=1))
    return LocalLayout(
        state=state,
        bin_dir=bin_dir(),
        host=host,
        as_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        **{n: ports.get(n, 0) for n in ("hub_port", *PORT_NAMES)},
    )

"""The local target: a real JupyterHub + Dask Gateway on this machine, no Kubernetes.

``plan`` is the local view of the wiring: one data file, ``platform.json``, read by the fixed config
modules :mod:`pangeoctl.local.jupyterhub_config` and :mod:`pangeoctl.local.dask_gateway_config`. ``apply``
writes it with the secrets the platform needs and starts (or restarts) the hub through
:mod:`pangeoctl.local.platform`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pangeoctl import wiring as W
from pangeoctl.config import Config, GitHubAuth, Problem, SharedPasswordAuth
from pangeoctl.runner import Runner
from pangeoctl.site import PORT_NAMES, Site, free_port, remembered_ports
from pangeoctl.targets.base import Echo, Outcome, Plan, TargetError, login_lines

DATA_FILE = "platform.json"
LAB_DIR = "lab"  # JupyterLab settings for user servers (overrides.json)
HUB_CONFIG = Path(__file__).resolve().parent.parent / "local" / "jupyterhub_config.py"
GATEWAY_CONFIG = HUB_CONFIG.with_name("dask_gateway_config.py")
CULLER_SERVICE = "idle-culler"
# The hub service people reach at /services/dask-gateway/ is the dashboard guard (pangeoctl/dashboard_guard.py), in
# front of the gateway; the gateway process is a hub-managed service of its own, without a route.
GATEWAY_SERVER_SERVICE = "dask-gateway-server"
GUARD_MODULE = "pangeoctl.dashboard_guard"
GUARD_PORT = "guard_port"
PROXY_TIMEOUT_MS = 3_600_000  # the Node proxy has no such limit; an hour stands for none
# What Dask processes the gateway starts may inherit from it (the hub gives services a minimal environment).
INHERITED_ENV = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]


@dataclass(frozen=True)
class LocalLayout:
    """Where the local platform lives: its state dir, the Python's bin dir, the host and the ports."""

    state: Path
    bin_dir: Path
    host: str
    ports: dict[str, int]
    as_root: bool = False

    @property
    def secrets(self) -> Path:
        return self.state / "secrets"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.ports.get('hub_port', 0)}"

    @property
    def data_file(self) -> Path:
        return self.state / DATA_FILE

    @property
    def log(self) -> Path:
        return self.state / "logs" / "hub.log"


def state_dir(cfg: Config, site: Site) -> Path:
    override = cfg.local.state_dir.expanduser() if cfg.local.state_dir is not None else None
    return site.state_dir(cfg.name, "local", override)


def layout(cfg: Config, site: Site) -> LocalLayout:
    """Pure: the ports come from the config, else from ``site.ports`` (0 while unknown)."""
    fixed = {"hub_port": cfg.local.port, "gateway_tcp_port": cfg.local.gateway_port}
    ports = {n: fixed.get(n) or site.ports.get(n, 0) for n in PORT_NAMES}
    return LocalLayout(state=state_dir(cfg, site), bin_dir=site.bin_dir, host=cfg.local.host, ports=ports, as_root=site.as_root)


def secret_files(cfg: Config, lay: LocalLayout) -> dict[str, dict[str, str]]:
    """``Class.trait`` → where its secret value is read when the hub starts (the config's reference, or a
    file under ``secrets/`` that ``apply`` generates once)."""
    auth = cfg.hub.auth
    s = lay.secrets

    def ref(r: Any, default: Path) -> dict[str, str]:
        if r is None:
            return {"file": str(default)}
        return {"env": r.env} if r.env else {"file": str(Path(r.file).expanduser())}

    if isinstance(auth, GitHubAuth):
        return {"GitHubOAuthenticator.client_secret": ref(auth.client_secret, s / "github_client_secret")}
    out = {"SharedPasswordAuthenticator.user_password": ref(auth.password, s / "password")}
    if auth.admins:
        out["SharedPasswordAuthenticator.admin_password"] = {"file": str(s / "admin_password")}
    return out


def platform_data(cfg: Config, lay: LocalLayout) -> dict[str, Any]:
    """The local view of the wiring: everything the fixed hub and gateway config modules read."""
    w = W.wiring(cfg, W.local_endpoints(lay.host, lay.ports), containers=False)
    b, s, st, p = lay.bin_dir, lay.secrets, lay.state, lay.ports
    env = {"PANGEOCTL_PLATFORM": str(lay.data_file)}
    culler = [str(b / "python"), "-m", "jupyterhub_idle_culler", f"--timeout={w.cull.timeout}", f"--cull-every={w.cull.every}"]
    if w.cull.max_age:
        culler.append(f"--max-age={w.cull.max_age}")
    return {
        "config": w.hub_config,
        "secrets": secret_files(cfg, lay),
        "hub": {
            "ip": lay.host,
            "port": p["hub_port"],
            "api_port": p["hub_api_port"],
            "db_url": "sqlite:///" + str(st / "jupyterhub.sqlite"),
            "cookie_secret_file": str(s / "cookie_secret"),
            "pid_file": str(st / "run" / "hub.pid"),
            "template_paths": [str(W.HUB_TEMPLATES)],
        },
        "proxy": {
            # The Python configurable-http-proxy, with websocket subprotocols passed through (Bokeh, Lab kernels).
            # No 20 s cap on an answer (tornado's default): a gateway starting a cluster takes longer under load.
            "command": [str(b / "python"), "-m", "pangeoctl.local.chp", f"--proxy-timeout={PROXY_TIMEOUT_MS}"],
            "api_url": f"http://{lay.host}:{p['proxy_api_port']}",
            "token": {"file": str(s / "proxy_token")},
            "pid_file": str(st / "run" / "proxy.pid"),
        },
        "spawner": {
            "cmd": [str(b / "jupyterhub-singleuser")],
            "args": [*W.SERVER_ARGS, W.LAB_SETTINGS_ARG.format(st / LAB_DIR), *(["--allow-root"] if lay.as_root else [])],
            "home_dir_template": str(st / "homes" / "{username}"),
            "environment": w.user_env,
        },
        "roles": [
            *w.roles,
            {"name": CULLER_SERVICE, "services": [CULLER_SERVICE], "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
        ],
        "services": [
            {
                # Dask Gateway, managed by the hub: started, stopped and restarted with it. No URL: reached only
                # through the guard (users) and on its TCP port (schedulers). Listed first: the hub starts services
                # in this order and waits for the guard's URL to answer, which it does once the gateway does.
                "name": GATEWAY_SERVER_SERVICE,
                "command": [str(b / "python"), "-m", "dask_gateway_server", "-f", str(GATEWAY_CONFIG)],
                "environment": env,
                "display": False,
            },
            {
                # What /services/dask-gateway/ reaches: the dashboard guard, which lets a Dask dashboard open only for
                # its owner (dask/dask-gateway#570) and passes the rest to the gateway's HTTP proxy. A hub service
                # with a URL, so the hub routes the prefix to it and makes it an OAuth client (no consent page: it
                # is part of the platform); managed, so the hub restarts it and hands it its token.
                "name": W.GATEWAY_SERVICE,
                "url": f"http://{lay.host}:{p[GUARD_PORT]}",
                "command": [str(b / "python"), "-m", GUARD_MODULE, "--upstream", f"http://{lay.host}:{p['gateway_http_port']}"],
                "oauth_no_confirm": True,
                "display": False,
            },
            {"name": W.ADMIN_SERVICE, "api_token": {"file": str(s / "admin_token")}, "display": False},
            {"name": CULLER_SERVICE, "command": culler, "display": False},
        ],
        "gateway": {
            "api_address": f"{lay.host}:{p['gateway_api_port']}",
            "http_address": f"{lay.host}:{p['gateway_http_port']}",
            "tcp_address": f"{lay.host}:{p['gateway_tcp_port']}",
            "prefix": W.GATEWAY_PREFIX,
            "hub_api": w.endpoints.hub_api,
            "service_name": W.GATEWAY_SERVICE,
            "encrypt_key_file": str(s / "gateway_encrypt_key"),
            "db_url": "sqlite:///" + str(st / "dask_gateway.sqlite"),
            "clusters_directory": str(st / "dask-clusters"),
            "inherited_environment": INHERITED_ENV,
            # The venv's own `dask` (services get a minimal PATH), and every listener on the platform's host.
            "scheduler_cmd": [str(b / W.SCHEDULER_CMD[0]), *W.SCHEDULER_CMD[1:]],
            "worker_cmd": [str(b / W.WORKER_CMD[0]), *W.WORKER_CMD[1:], "--host", lay.host],
            "dask": w.dask,
        },
    }


class LocalTarget:
    name = "local"
    tools: tuple[str, ...] = ()
    kubernetes = False

    def locate(self, cfg: Config, site: Site, *, choose_ports: bool) -> Site:
        """The site with this deployment's ports: remembered ones, and (for ``up``) free ones for the rest."""
        lay = layout(cfg, site)
        ports = {**remembered_ports(lay.state), **{k: v for k, v in lay.ports.items() if v}}
        if choose_ports:
            ports = {n: ports.get(n) or free_port(cfg.local.host) for n in PORT_NAMES}
        return site.with_ports(ports)

    def warnings(self, cfg: Config, site: Site) -> list[Problem]:
        return []

    def plan(self, cfg: Config, site: Site, where: Path | None = None) -> Plan:
        lay = layout(cfg, site)
        text = json.dumps(platform_data(cfg, lay), indent=1, sort_keys=True) + "\n"
        lab = json.dumps(W.LAB_OVERRIDES, indent=1) + "\n"
        return Plan(cfg, site, where or lay.state, files={DATA_FILE: text, f"{LAB_DIR}/overrides.json": lab})

    def apply(self, plan: Plan, runner: Runner, echo: Echo, *, timeout: float = 120) -> Outcome:
        from pangeoctl.local import platform

        lay = layout(plan.cfg, plan.site)
        if runner.dry_run:
            echo(f"# would write {lay.data_file} and start JupyterHub (+ proxy, dashboard guard, Dask Gateway, idle culler) on {lay.url}")
            return Outcome(lay.url, "planned")
        _check_references(plan.cfg)
        try:
            result = platform.up(lay, plan.files, needs=_generated_secrets(plan.cfg), echo=echo, timeout=timeout)
        except platform.LocalError as e:
            raise TargetError(str(e)) from None
        return Outcome(lay.url, result, [*login_lines(plan.cfg, lay.secrets), f"state, logs and homes: {lay.state}   stop with: pangeoctl down"])

    def status(self, cfg: Config, site: Site, runner: Runner) -> dict[str, Any]:
        from pangeoctl.local import platform

        return platform.status(layout(cfg, site))

    def down(self, cfg: Config, site: Site, runner: Runner, echo: Echo, *, purge: bool, delete_cluster: bool) -> list[str]:
        from pangeoctl.local import platform

        if delete_cluster:
            raise TargetError("the local platform has no cluster to delete — drop --delete-cluster", 2)
        lay = layout(cfg, site)
        if runner.dry_run:
            echo(f"# would stop the hub and every process it started{f'; and delete {lay.state}' if purge else '; state is kept'}")
            return []
        try:
            stopped = platform.down(lay, echo, purge=purge)
        except platform.LocalError as e:
            raise TargetError(str(e)) from None
        return [f"stopped {len(stopped)} processes"] if stopped else []

    def destroys(self, cfg: Config, *, delete_cluster: bool) -> str | None:
        return None

    def admin_access(self, cfg: Config, site: Site, runner: Runner) -> tuple[str, str]:
        """The hub's address and the ``pangeoctl`` service token; refuses when the platform is not up."""
        from pangeoctl.local import platform

        lay = layout(cfg, site)
        if not lay.ports.get("hub_port") or not all(platform.health(lay).values()):
            raise TargetError("the local platform is not up — run `pangeoctl up` first")
        return lay.url, platform.admin_token(lay)

    def forget_home(self, cfg: Config, site: Site, user: str) -> None:
        import shutil

        shutil.rmtree(layout(cfg, site).state / "homes" / user, ignore_errors=True)

    def log(self, cfg: Config, site: Site) -> Path:
        return layout(cfg, site).log

    def leftovers(self, cfg: Config, site: Site, runner: Runner) -> list[str]:
        from pangeoctl.local import platform

        lay = layout(cfg, site)
        return [f"port {p} on {lay.host} still answers" for p in platform.listening_ports(lay)]


def _check_references(cfg: Config) -> None:
    """Every secret the config references resolves — before anything starts (the hub would otherwise die at
    start with a KeyError); raises LookupError naming the reference, never the value."""
    from pangeoctl.runner import read_secret

    auth = cfg.hub.auth
    ref = auth.client_secret if isinstance(auth, GitHubAuth) else auth.password
    if ref is not None:
        read_secret(ref.env, ref.file)


def _generated_secrets(cfg: Config) -> list[str]:
    """Secret files under ``secrets/`` that ``apply`` must create once (the rest come from references)."""
    auth = cfg.hub.auth
    out = ["cookie_secret", "proxy_token", "admin_token", "gateway_encrypt_key"]
    if isinstance(auth, SharedPasswordAuth):
        if auth.password is None:
            out.append("password")
        if auth.admins:
            out.append("admin_password")
    return out

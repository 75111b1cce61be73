"""The facts the hub, the proxy and the gateway share, computed once — as plain data.

Both worlds are views of :class:`Wiring`: the helm values (:mod:`pangeoctl.render.values`) and the local
platform's data file (:mod:`pangeoctl.targets.local`). Service names, the address a notebook uses for the
gateway, roles and scopes, cull cadence, Dask options and limits, the scheduler's size, the hub's login
settings: each is written here and nowhere else, and a test asserts both views carry the same values.

Pure: a function of the validated config and of where the parts are reachable (:class:`Endpoints`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pangeoctl.config import Config, GitHubAuth, SharedPasswordAuth
from pangeoctl.units import format_memory

GATEWAY_SERVICE = "dask-gateway"  # the JupyterHub service name == the gateway's jupyterhub_service_name
GATEWAY_PREFIX = f"/services/{GATEWAY_SERVICE}"
ADMIN_SERVICE = "pangeoctl"  # token-only service for `status`, `check` and the tests
GATEWAY_ACCESS = f"access:services!service={GATEWAY_SERVICE}"

# On Kubernetes: the dask-gateway chart's objects are named from this (`traefik-<name>`, `api-<name>`).
GATEWAY_RELEASE_NAME = "dask-gateway"
TRAEFIK_SERVICE = f"traefik-{GATEWAY_RELEASE_NAME}"
TRAEFIK_PORT = 80  # its Service port (→ the pod's `web` entrypoint)
TRAEFIK_WEB_PORT = 8000  # traefik pod ports, for NetworkPolicies (they match pod ports, not Service ports)
TRAEFIK_TCP_PORT = 8786
KUBE_BACKEND = "dask_gateway_server.backends.kubernetes.KubeBackend"
HUB_API_K8S = "http://hub:8081/hub/api"  # the z2jh `hub` Service
Z2JH_HUB_SECRET = "hub"  # the jupyterhub subchart's Secret: service tokens as `hub.services.<name>.apiToken`
# The hub service GATEWAY_SERVICE is the dashboard guard (pangeoctl/dashboard_guard.py) in front of the gateway: a
# Dask dashboard opens only for its cluster's owner (the gateway alone serves it to anyone: dask/dask-gateway#570).
DASHBOARD_GUARD = Path(__file__).resolve().parent / "dashboard_guard.py"
GUARD_NAME = "dashboard-guard"  # on Kubernetes: its Deployment, Service, ConfigMap and pod label
GUARD_PORT = 8000  # …and where it listens
# A NodePort fixed in the values, so kind can map it to the host (kind has no LoadBalancer).
HUB_NODE_PORT = 30080
KIND_HOST_PORT = 8080  # …mapped to this port of the host (kind's extraPortMappings)

# Secrets the hub reads from its environment (values never enter rendered files).
SHARED_PASSWORD_ENV = "PANGEOCTL_SHARED_PASSWORD"
ADMIN_PASSWORD_ENV = "PANGEOCTL_ADMIN_PASSWORD"
GITHUB_SECRET_ENV = "GITHUB_CLIENT_SECRET"  # oauthenticator's GitHubOAuthenticator.client_secret_env

# Arguments every user server starts with, and the JupyterLab settings it reads: no news or update prompts
# (they fetch from the internet; JupyterLab 4.6 asks about news unless `fetchNews` is set, whatever news_url).
SERVER_ARGS = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
LAB_SETTINGS_ARG = "--LabApp.app_settings_dir={}"  # a folder holding overrides.json

# The hub's own page templates (a 403 that offers to log in as someone else), package data.
HUB_TEMPLATES = Path(__file__).resolve().parent / "hub_templates"

# Every Dask scheduler gets this much (schedulers hold the task graph, not data).
SCHEDULER_CORES = 1
SCHEDULER_MEMORY = 2 * 1024**3
# distributed 2026 has no dask-scheduler/dask-worker scripts, but dask-gateway-server 2026.3.0 still starts
# them by default (in pods too): the `dask` CLI's subcommands instead.
SCHEDULER_CMD = ["dask", "scheduler"]
WORKER_CMD = ["dask", "worker"]


@dataclass(frozen=True)
class Endpoints:
    """Where the platform's parts are reachable: from the browser, from a notebook, from the gateway."""

    hub_url: str | None  # the public address people open (None: known only once the cluster runs)
    gateway_address: str  # HTTP address of the gateway API for a notebook's dask-gateway client
    gateway_proxy: str  # gateway://host:port — scheduler traffic (TLS-over-TCP, SNI-routed)
    hub_api: str  # the hub API the gateway checks tokens against


def kubernetes_endpoints(cfg: Config, hub_url: str | None) -> Endpoints:
    """Inside the cluster. With autohttps on, ``proxy-public:80`` is traefik's redirect to https (whose
    certificate names only the hub's domain), so notebooks use the chart's ``proxy-http`` Service, which
    the chart creates exactly then; without HTTPS ``proxy-public`` serves plain HTTP on 80."""
    base = "http://proxy-http:8000" if cfg.https_enabled else "http://proxy-public"
    return Endpoints(
        hub_url=hub_url,
        gateway_address=f"{base}{GATEWAY_PREFIX}",
        gateway_proxy=f"gateway://{TRAEFIK_SERVICE}:{TRAEFIK_PORT}",
        hub_api=HUB_API_K8S,
    )


def local_endpoints(host: str, ports: dict[str, int]) -> Endpoints:
    url = f"http://{host}:{ports.get('hub_port', 0)}"
    return Endpoints(
        hub_url=url,
        gateway_address=f"{url}{GATEWAY_PREFIX}",
        gateway_proxy=f"gateway://{host}:{ports.get('gateway_tcp_port', 0)}",
        hub_api=f"http://{host}:{ports.get('hub_api_port', 0)}/hub/api",
    )


@dataclass(frozen=True)
class Cull:
    timeout: int  # seconds idle before a server is stopped
    every: int  # how often the culler looks
    max_age: int  # 0: no limit


@dataclass(frozen=True)
class Wiring:
    endpoints: Endpoints
    roles: list[dict[str, Any]]
    hub_config: dict[str, dict[str, Any]]  # traitlets config, class → trait → value (no secrets)
    user_env: dict[str, str]  # what a user's server needs to reach the gateway
    cull: Cull
    dask: dict[str, Any]  # read by pangeoctl/gateway_extra.py in both worlds
    secrets_env: dict[str, str] = field(default_factory=dict)  # env var → what it holds (for the hub)


def roles() -> list[dict[str, Any]]:
    """Users and their servers may reach the gateway; nothing else about services. ``pangeoctl`` (the
    check and status service) manages a temporary user and its server."""
    return [
        {"name": "user", "scopes": ["self", GATEWAY_ACCESS]},
        {"name": "server", "scopes": ["users:activity!user", "access:servers!server", GATEWAY_ACCESS]},
        {
            "name": ADMIN_SERVICE,
            "services": [ADMIN_SERVICE],
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:services", "read:services"],
        },
    ]


def github_api_url(github_url: str) -> str:
    """As oauthenticator derives it: github.com's API lives on api.github.com, Enterprise's under /api/v3."""
    url = github_url.rstrip("/")
    return "https://api.github.com" if url == "https://github.com" else f"{url}/api/v3"


def hub_config(cfg: Config, endpoints: Endpoints) -> dict[str, dict[str, Any]]:
    """The login settings, as traitlets config. Secrets are read from the environment (``secrets_env``)."""
    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        github: dict[str, Any] = {
            "client_id": auth.client_id,
            "allowed_organizations": sorted(auth.allowed_organizations),
            "allowed_users": sorted(auth.allowed_users),
            "admin_users": sorted(auth.admins),
            # read:org lets membership of private organisations and teams be checked.
            "scope": ["read:org"],
        }
        if endpoints.hub_url:
            github["oauth_callback_url"] = f"{endpoints.hub_url}/hub/oauth_callback"
        url = auth.github_url.rstrip("/")
        if url != "https://github.com":
            github["github_url"] = url
        return {"JupyterHub": {"authenticator_class": "github", "template_vars": {"github_url": url}}, "GitHubOAuthenticator": github}
    assert isinstance(auth, SharedPasswordAuth)
    return {
        "JupyterHub": {"authenticator_class": "shared-password"},
        "Authenticator": {"admin_users": sorted(auth.admins), "allowed_users": sorted(auth.users), "allow_all": auth.allow_all},
    }


def dask_data(cfg: Config, *, images: bool) -> dict[str, Any]:
    """Cluster options, limits and the per-user cap, as the gateway config reads them.

    ``images``: the backend runs containers, so the worker image is an option (Kubernetes only).
    """
    opts, lim = cfg.dask.options, cfg.dask.limits
    image: dict[str, Any] | None = None
    if images:
        image = {"default": cfg.worker_image, "choice": opts.allow_image}
    return {
        # Select takes string choices (the first is the default); the handler maps each back to the number
        # the cluster config reads. Pairs, not a mapping, so no serializer can reorder them.
        "worker_cores": [[f"{c:g}", float(c)] for c in opts.worker_cores],
        "worker_memory": [[format_memory(m), int(m)] for m in opts.worker_memory],
        "image": image,
        "idle_timeout": int(cfg.dask.idle_timeout),
        "max_cores": float(lim.max_cores),
        "max_memory": int(lim.max_memory),
        "max_workers": int(lim.max_workers),
        "max_clusters_per_user": int(lim.max_clusters_per_user),
        "scheduler_cores": SCHEDULER_CORES,
        "scheduler_memory": SCHEDULER_MEMORY,
        "scheduler_cmd": SCHEDULER_CMD,
        "worker_cmd": WORKER_CMD,
    }


def user_env(endpoints: Endpoints, *, worker_image: bool) -> dict[str, str]:
    env = {
        "DASK_GATEWAY__ADDRESS": endpoints.gateway_address,
        "DASK_GATEWAY__PROXY_ADDRESS": endpoints.gateway_proxy,
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{GATEWAY_PREFIX}/",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }
    if worker_image:
        # Workers run the notebook's own image unless the user asks otherwise; the dask-gateway client
        # expands `{JUPYTER_IMAGE_SPEC}` from the server's environment when it builds the options.
        env["DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE"] = "{JUPYTER_IMAGE_SPEC}"
    return env


def wiring(cfg: Config, endpoints: Endpoints, *, containers: bool) -> Wiring:
    """Everything both worlds share, for ``cfg`` reached at ``endpoints``.

    ``containers``: Kubernetes (images are options, pods have images); False for the local platform.
    """
    auth = cfg.hub.auth
    secrets_env: dict[str, str] = {}
    if isinstance(auth, GitHubAuth):
        secrets_env[GITHUB_SECRET_ENV] = "the GitHub OAuth client secret"
    else:
        secrets_env[SHARED_PASSWORD_ENV] = "the shared password"
        # JupyterHub ≥ 5.3's shared-password login lets admins in only with their own admin password.
        if auth.admins:
            secrets_env[ADMIN_PASSWORD_ENV] = "the admins' password"
    timeout = int(cfg.hub.cull_idle)
    return Wiring(
        endpoints=endpoints,
        roles=roles(),
        hub_config=hub_config(cfg, endpoints),
        user_env=user_env(endpoints, worker_image=containers),
        cull=Cull(timeout=timeout, every=min(600, max(60, timeout // 6)), max_age=int(cfg.hub.max_age)),
        dask=dask_data(cfg, images=containers),
        secrets_env=secrets_env,
    )

"""Config → the local platform's ``jupyterhub_config.py`` and ``dask_gateway_config.py``.

Pure: given the config and a :class:`LocalLayout` (paths and ports), returns file contents. The files
hold no secret; they read the secret files in the state dir (mode 0600) when the hub starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pangeoctl.config import Config, SharedPasswordAuth
from pangeoctl.render.gateway import gateway_config
from pangeoctl.render.values import GATEWAY_PREFIX, GATEWAY_SERVICE

ADMIN_SERVICE = "pangeoctl"  # the service whose token `status`, `check` and the tests use


@dataclass(frozen=True)
class LocalLayout:
    state: Path
    bin_dir: Path  # where jupyterhub, dask, configurable-http-proxy … live (the venv's bin)
    host: str
    hub_port: int
    hub_api_port: int
    proxy_api_port: int
    gateway_http_port: int
    gateway_api_port: int
    gateway_tcp_port: int
    as_root: bool = False

    @property
    def secrets(self) -> Path:
        return self.state / "secrets"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.hub_port}"

    def ports(self) -> dict[str, int]:
        return {
            k: getattr(self, k) for k in ("hub_port", "hub_api_port", "proxy_api_port", "gateway_http_port", "gateway_api_port", "gateway_tcp_port")
        }


def user_environment(layout: LocalLayout) -> dict[str, str]:
    """What a user's server needs to reach the gateway — the same variables the helm values set."""
    return {
        "DASK_GATEWAY__ADDRESS": f"{layout.url}{GATEWAY_PREFIX}",
        "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://{layout.host}:{layout.gateway_tcp_port}",
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{GATEWAY_PREFIX}/",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }


def jupyterhub_config(cfg: Config, layout: LocalLayout) -> str:
    auth = cfg.hub.auth
    assert isinstance(auth, SharedPasswordAuth), "the local platform logs in with a shared password"
    s, b = layout.secrets, layout.bin_dir
    gateway_env = {
        "DASK_GATEWAY_ENCRYPT_KEYS": f"@{s / 'gateway_encrypt_key'}",
    }
    password_source = (
        f"os.environ[{auth.password.env!r}]"
        if auth.password and auth.password.env
        else f"_read({str(auth.password.file)!r})"
        if auth.password and auth.password.file
        else f"_read({str(s / 'password')!r})"
    )
    spawner_args = ["--allow-root"] if layout.as_root else []
    return f'''# Rendered by pangeoctl from pangeo.yaml for the local platform. Edit pangeo.yaml, not this.
import os


def _read(path):
    with open(path) as f:
        return f.read().strip()


c = get_config()  # noqa: F821
c.JupyterHub.ip = {layout.host!r}
c.JupyterHub.port = {layout.hub_port}
c.JupyterHub.hub_ip = {layout.host!r}
c.JupyterHub.hub_port = {layout.hub_api_port}
c.JupyterHub.db_url = {"sqlite:///" + str(layout.state / "jupyterhub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(s / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(layout.state / "run" / "hub.pid")!r}
# Servers and Dask clusters outlive a hub or gateway restart; `pangeoctl down` stops them.
c.JupyterHub.cleanup_servers = False

# The proxy: the Python port of configurable-http-proxy (no Node needed), started by the hub.
c.ConfigurableHTTPProxy.command = [{str(b / "configurable-http-proxy")!r}]
c.ConfigurableHTTPProxy.api_url = "http://{layout.host}:{layout.proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = _read({str(s / "proxy_token")!r})
c.ConfigurableHTTPProxy.pid_file = {str(layout.state / "run" / "proxy.pid")!r}

# Log in: one shared password; {"any user name" if auth.allow_all else "listed users only"}.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password_source}
c.Authenticator.allow_all = {auth.allow_all!r}
c.Authenticator.allowed_users = set({sorted(auth.users)!r})
c.Authenticator.admin_users = set({sorted(auth.admins)!r})

# Servers run as this account, each user with a home of their own under the state dir.
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = [{str(b / "jupyterhub-singleuser")!r}]
c.Spawner.args = {spawner_args!r}
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.SimpleLocalProcessSpawner.home_dir_template = {str(layout.state / "homes" / "{username}")!r}
c.Spawner.environment = {user_environment(layout)!r}

c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service={GATEWAY_SERVICE}"]}},
    {{"name": "server", "scopes": ["users:activity!user", "access:servers!server", "access:services!service={GATEWAY_SERVICE}"]}},
    {{"name": "{ADMIN_SERVICE}", "services": ["{ADMIN_SERVICE}"],
      "scopes": ["admin:users", "admin:servers", "tokens", "list:services", "read:services"]}},
    {{"name": "idle-culler", "services": ["idle-culler"],
      "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}},
]

c.JupyterHub.services = [
    {{
        # Dask Gateway, managed by the hub: started, stopped and restarted with it.
        "name": "{GATEWAY_SERVICE}",
        "url": "http://{layout.host}:{layout.gateway_http_port}",
        "command": [{str(b / "python")!r}, "-m", "dask_gateway_server", "-f", {str(layout.state / "dask_gateway_config.py")!r}],
        "environment": {gateway_env!r},
        "display": False,
    }},
    {{"name": "{ADMIN_SERVICE}", "api_token": _read({str(s / "admin_token")!r}), "display": False}},
    {{
        "name": "idle-culler",
        "command": [{str(b / "python")!r}, "-m", "jupyterhub_idle_culler", "--timeout={cfg.hub.cull_idle}",
                    "--cull-every={min(600, max(60, cfg.hub.cull_idle // 6))}"{f', "--max-age={cfg.hub.max_age}"' if cfg.hub.max_age else ""}],
        "display": False,
    }},
]
'''


def dask_gateway_config(cfg: Config, layout: LocalLayout) -> str:
    b, h = layout.bin_dir, layout.host
    head = f'''# Rendered by pangeoctl from pangeo.yaml for the local platform. Edit pangeo.yaml, not this.
import os

c = get_config()  # noqa: F821
_key = os.environ.get("DASK_GATEWAY_ENCRYPT_KEYS", "")
if _key.startswith("@"):  # the hub passes the key file's path, not the key
    with open(_key[1:]) as f:
        os.environ["DASK_GATEWAY_ENCRYPT_KEYS"] = f.read().strip()

c.DaskGateway.address = "{h}:{layout.gateway_api_port}"
c.Proxy.address = "{h}:{layout.gateway_http_port}"
c.Proxy.tcp_address = "{h}:{layout.gateway_tcp_port}"
c.Proxy.prefix = "{GATEWAY_PREFIX}"

# Users log in through the hub; only tokens with access:services!service={GATEWAY_SERVICE} get in.
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
c.JupyterHubAuthenticator.jupyterhub_api_url = "http://{h}:{layout.hub_api_port}/hub/api"
c.JupyterHubAuthenticator.jupyterhub_service_name = "{GATEWAY_SERVICE}"

# UnsafeLocalBackend: clusters run as this account. (LocalBackend, with real Unix users, chowns `/` when
# run as root in dask-gateway-server 2026.3.0 — never use it unpatched here.)
c.UnsafeLocalBackend.db_url = "sqlite:///{layout.state / "dask_gateway.sqlite"}"
c.UnsafeLocalBackend.stop_clusters_on_shutdown = False
c.UnsafeLocalBackend.clusters_directory = "{layout.state / "dask-clusters"}"
c.UnsafeLocalBackend.inherited_environment = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]
# distributed 2026 has no dask-scheduler/dask-worker scripts; bind every listener to loopback.
c.LocalClusterConfig.scheduler_cmd = ["{b / "dask"}", "scheduler"]
c.LocalClusterConfig.worker_cmd = ["{b / "dask"}", "worker", "--host", "{h}"]
c.ClusterConfig.scheduler_cores = 1
c.ClusterConfig.scheduler_memory = "1 G"
# Scratch space per cluster (its working directory), not a shared folder under the system temp dir.
c.ClusterConfig.environment = {{"DASK_TEMPORARY_DIRECTORY": "."}}

'''
    return head + gateway_config(cfg, backend="dask_gateway_server.backends.local.UnsafeLocalBackend", image_option=False)

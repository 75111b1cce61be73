"""The local platform's JupyterHub configuration: fixed code reading the deployment's ``platform.json``.

``pangeoctl up`` writes the data (:mod:`pangeoctl.targets.local`) and starts ``jupyterhub -f`` this file
with ``PANGEOCTL_PLATFORM`` naming the data file. Nothing here is generated, so no path, name or value in
the data can break the syntax; secrets are read from their files or variables when the hub starts.
"""

import json
import os


def _secret(ref):
    """A secret reference of the data: {"file": path} or {"env": NAME}."""
    if "env" in ref:
        return os.environ[ref["env"]]
    with open(ref["file"], encoding="utf-8") as f:
        return f.readline().strip()


with open(os.environ["PANGEOCTL_PLATFORM"], encoding="utf-8") as _f:
    P = json.load(_f)

c = get_config()  # type: ignore[name-defined]  # noqa: F821 — jupyterhub/dask-gateway define it while loading a config file

for _cls, _traits in P["config"].items():  # the login settings, shared with the chart's hub.config
    for _name, _value in _traits.items():
        setattr(c[_cls], _name, _value)
for _target, _ref in P["secrets"].items():  # "Class.trait" → where its value is
    _cls, _, _name = _target.partition(".")
    setattr(c[_cls], _name, _secret(_ref))

_hub = P["hub"]
c.JupyterHub.ip = _hub["ip"]
c.JupyterHub.port = _hub["port"]
c.JupyterHub.hub_ip = _hub["ip"]
c.JupyterHub.hub_port = _hub["api_port"]
c.JupyterHub.db_url = _hub["db_url"]
c.JupyterHub.cookie_secret_file = _hub["cookie_secret_file"]
c.JupyterHub.pid_file = _hub["pid_file"]
c.JupyterHub.template_paths = _hub["template_paths"]
# Servers and Dask clusters outlive a hub or gateway restart; `pangeoctl down` stops them.
c.JupyterHub.cleanup_servers = False

_proxy = P["proxy"]
c.ConfigurableHTTPProxy.command = _proxy["command"]
c.ConfigurableHTTPProxy.api_url = _proxy["api_url"]
c.ConfigurableHTTPProxy.auth_token = _secret(_proxy["token"])
c.ConfigurableHTTPProxy.pid_file = _proxy["pid_file"]

# Servers run as this account, each user with a home of their own under the state dir.
_sp = P["spawner"]
c.JupyterHub.spawner_class = "simple"
c.Spawner.cmd = _sp["cmd"]
c.Spawner.args = _sp["args"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.SimpleLocalProcessSpawner.home_dir_template = _sp["home_dir_template"]
c.Spawner.environment = _sp["environment"]


def _ephemeral_low():
    """Where the kernel's automatic ports begin (Linux reads it from /proc; 49152 is the IANA start others use)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def _server_port(spawner):
    """A free port for the server, below the kernel's automatic range. JupyterHub's own choice is a port 0 bind,
    closed again until the server binds it seconds later — on a busy machine another process's outgoing
    connection or port 0 bind can take it in between, and the server dies with "port is not available"."""
    import random
    import socket

    low = min(_ephemeral_low(), 32768)
    for port in random.sample(range(20000, low), 200):
        with socket.socket() as s:
            try:
                s.bind((spawner.ip or "127.0.0.1", port))
            except OSError:
                continue
        spawner.port = port
        return


c.Spawner.pre_spawn_hook = _server_port

c.JupyterHub.load_roles = P["roles"]
c.JupyterHub.services = [{k: (_secret(v) if k == "api_token" else v) for k, v in service.items()} for service in P["services"]]

"""The local platform's Dask Gateway configuration: fixed code reading the deployment's ``platform.json``.

The hub starts the gateway as a managed service with ``PANGEOCTL_PLATFORM`` in its environment. Options,
limits and the per-user cap come from :mod:`pangeoctl.gateway_extra`, the same code the chart runs.
"""

import json
import os

from pangeoctl.gateway_extra import configure

with open(os.environ["PANGEOCTL_PLATFORM"], encoding="utf-8") as _f:
    G = json.load(_f)["gateway"]

with open(G["encrypt_key_file"], encoding="utf-8") as _f:
    os.environ["DASK_GATEWAY_ENCRYPT_KEYS"] = _f.readline().strip()

c = get_config()  # type: ignore[name-defined]  # noqa: F821 — jupyterhub/dask-gateway define it while loading a config file
c.DaskGateway.address = G["api_address"]
c.Proxy.address = G["http_address"]
c.Proxy.tcp_address = G["tcp_address"]
c.Proxy.prefix = G["prefix"]

# Users log in through the hub; only tokens with access:services!service=<this service> get in.
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
c.JupyterHubAuthenticator.jupyterhub_api_url = G["hub_api"]
c.JupyterHubAuthenticator.jupyterhub_service_name = G["service_name"]

# UnsafeLocalBackend: clusters run as this account. (LocalBackend, with real Unix users, chowns `/` when
# run as root in dask-gateway-server 2026.3.0 — never use it unpatched here.)
c.UnsafeLocalBackend.db_url = G["db_url"]
c.UnsafeLocalBackend.stop_clusters_on_shutdown = False
c.UnsafeLocalBackend.clusters_directory = G["clusters_directory"]
c.UnsafeLocalBackend.inherited_environment = G["inherited_environment"]
# A laptop's Dask processes share its cores with everything else: a 54 s stall of a busy machine's scheduler
# (seen under the parallel test run) outlived the 30 s default and lost a computing cluster. Two minutes;
# a scheduler that really died is stopped by `up` at once (`status` names it).
c.UnsafeLocalBackend.cluster_heartbeat_timeout = 120
# The venv's `dask` by its full path, workers bound to the platform's host (LocalClusterConfig wins over
# the ClusterConfig commands configure() sets below).
c.LocalClusterConfig.scheduler_cmd = G["scheduler_cmd"]
c.LocalClusterConfig.worker_cmd = G["worker_cmd"]
# Scratch space per cluster (its working directory), not a shared folder under the system temp dir.
c.ClusterConfig.environment = {"DASK_TEMPORARY_DIRECTORY": "."}

configure(c, G["dask"], "dask_gateway_server.backends.local.UnsafeLocalBackend")

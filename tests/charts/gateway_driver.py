"""Load the gateway's rendered config into dask-gateway-server and build a cluster's pods with its controller.

Usage (with dask-gateway-server[kubernetes] 2026.3.0, the chart's appVersion)::

    python gateway_driver.py GATEWAY_ROOT CONTROLLER_ROOT ENV_JSON OUT_JSON

GATEWAY_ROOT and CONTROLLER_ROOT hold the two pods' mounts; ENV_JSON has both containers' argv and
environment. ``DaskGateway.initialize`` executes the gateway's ``dask_gateway_config.py`` (our
``extraConfig`` included), the backend turns default cluster options into a DaskCluster object as
``start_cluster`` would, and ``KubeController.make_pod`` builds its scheduler and worker pods from it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback

from driver_log import Collect  # beside this script, which runs as a file (not in a package)


def _argv(args: list[str], root: str) -> list[str]:
    return [root + a if a.startswith("/etc/") else a for a in args]


def main(gateway_root: str, controller_root: str, env_file: str, out_file: str) -> None:
    with open(env_file) as f:
        given = json.load(f)
    collect = Collect()
    out: dict = {"log": collect.lines, "error": None}
    try:
        os.environ.update(given["gateway"]["env"])
        from dask_gateway_server.app import DaskGateway
        from dask_gateway_server.backends.kubernetes.controller import KubeController
        from dask_gateway_server.models import User
        from dask_gateway_server.utils import FrozenAttrDict

        gateway = DaskGateway()
        gateway.initialize(_argv(given["gateway"]["args"][1:], gateway_root))
        gateway.log.addHandler(collect)
        backend, auth = gateway.backend, gateway.authenticator
        out["authenticator"] = {
            "class": type(auth).__module__ + "." + type(auth).__name__,
            "api_url": getattr(auth, "jupyterhub_api_url", None),
            "api_token_set": bool(getattr(auth, "jupyterhub_api_token", None)),
            "service_name": getattr(auth, "jupyterhub_service_name", None),
        }
        out["backend"] = [c.__module__ + "." + c.__name__ for c in type(backend).__mro__[:3]]
        out["options"] = backend.cluster_options.get_specification() if hasattr(backend.cluster_options, "get_specification") else None

        async def cluster() -> dict:
            options, config = await backend.process_cluster_options(User("alice", [], False), {})
            return backend.make_cluster_object("alice", options, config)

        obj = asyncio.run(cluster())
        out["cluster_config"] = obj["spec"]["config"]

        controller = KubeController()
        controller.initialize(_argv(given["controller"]["args"][2:], controller_root))
        config = FrozenAttrDict(obj["spec"]["config"])
        out["scheduler_pod"] = controller.make_pod(config.namespace or "default", "c0ffee", config, is_worker=False)
        out["worker_pod"] = controller.make_pod(config.namespace or "default", "c0ffee", config, is_worker=True)
    except BaseException:
        out["error"] = traceback.format_exc(limit=-5)
    with open(out_file, "w") as f:
        json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main(*sys.argv[1:5])

"""Dask Gateway settings we add: cluster options, limits, and a per-user cap on concurrent clusters.

One fixed piece of code, run by both gateways: the local platform's gateway config imports it, and on
Kubernetes its source goes into the chart's ``gateway.extraConfig`` followed by one call with the data as a
JSON literal (the gateway image has no pangeoctl). So it imports only dask_gateway_server and the standard
library, and everything that varies arrives as data (:func:`pangeoctl.wiring.dask_data`).
"""

import importlib


def _capped(base, limit):
    """``base`` backend refusing a user's (limit+1)th concurrent cluster — dask-gateway has no such limit."""
    from dask_gateway_server.backends.base import PublicException

    class CappedBackend(base):  # type: ignore[valid-type,misc]
        async def start_cluster(self, user, cluster_options):
            await self.process_cluster_options(user, cluster_options)  # bad options: say so first
            active = await self.list_clusters(username=user.name)  # pending + running
            if len(active) >= limit:
                raise PublicException(
                    f"user {user.name!r} already has {len(active)} cluster(s) running; the limit is "
                    f"{limit} (dask.limits.max_clusters_per_user) — shut one down with cluster.shutdown()"
                )
            return await super().start_cluster(user, cluster_options)

    CappedBackend.__name__ = "Capped" + base.__name__
    return CappedBackend


def configure(c, data, backend):
    """Apply ``data`` to the gateway config ``c``; ``backend`` is the dotted path of the backend to cap."""
    from dask_gateway_server.options import Options, Select, String

    cores, memory, image = dict(data["worker_cores"]), dict(data["worker_memory"]), data["image"]
    fields = [
        Select("worker_cores", [k for k, _ in data["worker_cores"]], label="Cores per worker"),
        Select("worker_memory", [k for k, _ in data["worker_memory"]], label="Memory per worker"),
    ]
    if image and image["choice"]:
        fields.append(String("image", default=image["default"], label="Worker image"))

    def handler(options, user):
        out = {"worker_cores": cores[options.worker_cores], "worker_memory": memory[options.worker_memory]}
        if image:
            out["image"] = options.image if image["choice"] else image["default"]
        return out

    c.Backend.cluster_options = Options(*fields, handler=handler)
    c.ClusterConfig.idle_timeout = data["idle_timeout"]
    c.ClusterConfig.cluster_max_cores = data["max_cores"]
    c.ClusterConfig.cluster_max_memory = data["max_memory"]
    c.ClusterConfig.cluster_max_workers = data["max_workers"]
    c.ClusterConfig.scheduler_cores = data["scheduler_cores"]
    c.ClusterConfig.scheduler_memory = data["scheduler_memory"]
    c.ClusterConfig.scheduler_cmd = data["scheduler_cmd"]
    c.ClusterConfig.worker_cmd = data["worker_cmd"]
    if data.get("pod_labels"):  # (Kubernetes) labels a cloud's identity webhook acts on
        c.KubeClusterConfig.scheduler_extra_pod_labels = data["pod_labels"]
        c.KubeClusterConfig.worker_extra_pod_labels = data["pod_labels"]
    module, _, name = backend.rpartition(".")
    c.DaskGateway.backend_class = _capped(getattr(importlib.import_module(module), name), data["max_clusters_per_user"])

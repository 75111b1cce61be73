"""The Dask Gateway server configuration we add: cluster options, limits, the per-user cluster cap.

One Python snippet, rendered from the config, runs in both places a gateway runs: appended to the local
platform's ``dask_gateway_config.py`` and as ``gateway.extraConfig`` in the dask-gateway chart. It must
not import pangeoctl (the gateway image does not have it), so it is self-contained text.
"""

from __future__ import annotations

from pangeoctl.config import Config
from pangeoctl.units import format_memory

_CAP = """
# Dask Gateway has no per-user limit on concurrent clusters; refuse the (N+1)th at creation.
from dask_gateway_server.backends.base import PublicException as _PublicException

def _cap_clusters_per_user(base, limit):
    class CappedBackend(base):
        async def start_cluster(self, user, cluster_options):
            await self.process_cluster_options(user, cluster_options)  # bad options: say so first
            active = await self.list_clusters(username=user.name)  # pending + running
            if len(active) >= limit:
                raise _PublicException(
                    f"user {{user.name!r}} already has {{len(active)}} cluster(s) running; the limit is "
                    f"{{limit}} (dask.limits.max_clusters_per_user) — shut one down with cluster.shutdown()"
                )
            return await super().start_cluster(user, cluster_options)
    CappedBackend.__name__ = "Capped" + base.__name__
    return CappedBackend

from {module} import {cls} as _Backend

c.DaskGateway.backend_class = _cap_clusters_per_user(_Backend, {limit})
"""


def gateway_config(cfg: Config, *, backend: str, image_option: bool) -> str:
    """Python source configuring options and limits of the gateway.

    Parameters
    ----------
    backend
        Dotted path of the backend class the cap wraps (the chart's ``KubeBackend`` or the local one).
    image_option
        Offer ``image`` in the cluster options (only backends that run containers honour it).
    """
    opts, lim = cfg.dask.options, cfg.dask.limits
    # Select takes string choices; the handler maps them back to numbers the cluster config reads.
    cores = {f"{c:g}": float(c) for c in opts.worker_cores}
    memory = {format_memory(m): m for m in opts.worker_memory}
    fields = [
        f'Select("worker_cores", {list(cores)!r}, default={next(iter(cores))!r}, label="Cores per worker")',
        f'Select("worker_memory", {list(memory)!r}, default={next(iter(memory))!r}, label="Memory per worker")',
    ]
    handler = [f'"worker_cores": {cores!r}[options.worker_cores]', f'"worker_memory": {memory!r}[options.worker_memory]']
    if image_option and opts.allow_image:
        fields.append(f'String("image", default={cfg.worker_image!r}, label="Worker image")')
        handler.append('"image": options.image')
    if image_option and not opts.allow_image:
        handler.append(f'"image": {cfg.worker_image!r}')
    lines = [
        "# Rendered by pangeoctl from pangeo.yaml (dask:). Edit pangeo.yaml, not this.",
        "from dask_gateway_server.options import Options, Select, String",
        "",
        "def _options_handler(options, user):",
        "    return {" + ", ".join(handler) + "}",
        "",
        "c.Backend.cluster_options = Options(",
        *[f"    {f}," for f in fields],
        "    handler=_options_handler,",
        ")",
        f"c.ClusterConfig.idle_timeout = {cfg.dask.idle_timeout}",
        f"c.ClusterConfig.cluster_max_cores = {float(lim.max_cores)!r}",
        f"c.ClusterConfig.cluster_max_memory = {lim.max_memory}",
        f"c.ClusterConfig.cluster_max_workers = {lim.max_workers}",
    ]
    return "\n".join(lines) + "\n" + _CAP.format(module=backend.rpartition(".")[0], cls=backend.rpartition(".")[2], limit=lim.max_clusters_per_user)

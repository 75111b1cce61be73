"""A cluster someone else runs: install into it through the given kubeconfig and context; never create or delete it.

Pods are placed by node labels (``pangeoctl.io/pool`` and the z2jh/Dask node-purpose labels), which nobody
has put on a cluster we did not create: :meth:`ExistingCloud.notes` prints the exact ``kubectl label``
commands, and :meth:`ExistingCloud.labels_probe` tells whether they are needed.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, Defaults, load_balancer_address
from pangeoctl.config import Config
from pangeoctl.render.placement import PLACEMENT, POOL_LABEL
from pangeoctl.runner import Command


class ExistingCloud(Defaults):
    name: str = "existing"
    tools: tuple[str, ...] = ("kubectl", "helm")
    owns_cluster: bool = False

    def handle(self, cfg: Config, state: Path) -> ClusterHandle:
        assert cfg.existing is not None
        return ClusterHandle(cfg.existing.kubeconfig or Path("~/.kube/config").expanduser(), cfg.existing.context)

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.existing is not None
        return "cluster.yaml", {
            "kind": "ExistingCluster",
            "kubeconfig": str(cfg.existing.kubeconfig or "~/.kube/config"),
            "context": cfg.existing.context,
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        return []

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("kubectl", *handle.kubectl(), "version", "--output", "json"), why="check the context reaches a cluster")]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return []

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None:
        return load_balancer_address(cfg, handle) if cfg.hub.domain else None

    def labels_probe(self, cfg: Config, handle: ClusterHandle) -> Command:
        """Read-only: the names of nodes already labelled for a pool (empty output: nobody labelled any)."""
        return Command(
            ("kubectl", *handle.kubectl(), "get", "nodes", "--selector", POOL_LABEL, "--output", "name"),
            why="nodes labelled for the platform's pools",
        )

    def label_commands(self, cfg: Config, handle: ClusterHandle) -> list[str]:
        """The ``kubectl label nodes`` line per pool, with NODE for the person to fill in (one line per node)."""
        out = []
        for role, pool in cfg.pools().items():
            del pool
            labels = [f"{k}={v}" for k, v in PLACEMENT[role].labels.items()]
            out.append(shlex.join(["kubectl", *handle.kubectl(), "label", "nodes", "NODE", *labels, "--overwrite"]))
        return out

    def notes(self, cfg: Config, handle: ClusterHandle) -> list[str]:
        return [
            "pods are placed by node labels; label the nodes of this cluster once (NODE: a name from `kubectl get nodes`; "
            "a node may carry one pool — core for the hub, user for notebooks, worker for Dask):",
            *[f"  {line}" for line in self.label_commands(cfg, handle)],
            "the hub's proxy-public Service asks for a load balancer: a cluster without a load balancer controller leaves it "
            f"<pending> — reach the hub with `kubectl {' '.join(handle.kubectl())} --namespace {cfg.name} port-forward service/proxy-public 8080:80`",
        ]

"""A cluster someone else runs: install into it through the given kubeconfig and context; never create or delete it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle
from pangeoctl.config import Config
from pangeoctl.runner import Command


class ExistingCloud:
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

    def leftovers(self, cfg: Config) -> list[Command]:
        return []

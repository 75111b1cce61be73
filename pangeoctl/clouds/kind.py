"""kind (Kubernetes in Docker) for testing the chart on a laptop: one node carrying every pool label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, OwnKubeconfig
from pangeoctl.config import Config
from pangeoctl.runner import Command


class KindCloud(OwnKubeconfig):
    name: str = "kind"
    tools: tuple[str, ...] = ("kind", "kubectl", "helm")
    owns_cluster: bool = True

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        return "kind.yaml", {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "name": cfg.name,
            "nodes": [{"role": "control-plane", "labels": {"pangeoctl.io/pool": "core"}}],
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        return [
            Command(
                (
                    "kind",
                    "create",
                    "cluster",
                    "--name",
                    cfg.name,
                    "--config",
                    str(spec_path),
                    "--kubeconfig",
                    str(handle.kubeconfig),
                    "--wait",
                    "120s",
                ),
                why="create the kind cluster",
                unless=("kind", "get", "kubeconfig", "--name", cfg.name),
            )
        ]

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("kind", "export", "kubeconfig", "--name", cfg.name, "--kubeconfig", str(handle.kubeconfig)), why="write the kubeconfig")]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("kind", "delete", "cluster", "--name", cfg.name), why="delete the kind cluster")]

    def leftovers(self, cfg: Config) -> list[Command]:
        return [Command(("kind", "get", "clusters"), why="kind clusters")]

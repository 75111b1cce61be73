"""kind (Kubernetes in Docker) for testing the chart on a laptop: one node, the hub reachable from the host.

kind runs nodes as containers, so a NodePort is not reachable from the host unless the node container
publishes it: the cluster maps host port :data:`HOST_PORT` (loopback only) to node port :data:`NODE_PORT`,
and the release's ``proxy-public`` Service must be a NodePort on exactly that port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, Leftover, LeftoverQuery, OwnKubeconfig
from pangeoctl.config import Config
from pangeoctl.runner import Command
from pangeoctl.wiring import HUB_NODE_PORT, KIND_HOST_PORT

# proxy-public's nodePort (the values fix it) and where the hub answers on this machine (8000 is the local platform's)
NODE_PORT, HOST_PORT = HUB_NODE_PORT, KIND_HOST_PORT


class KindCloud(OwnKubeconfig):
    name: str = "kind"
    tools: tuple[str, ...] = ("kind", "kubectl", "helm")
    owns_cluster: bool = True

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        return "kind.yaml", {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "name": cfg.name,
            "nodes": [
                {
                    "role": "control-plane",
                    "labels": {"pangeoctl.io/pool": "core"},
                    "extraPortMappings": [{"containerPort": NODE_PORT, "hostPort": HOST_PORT, "listenAddress": "127.0.0.1", "protocol": "TCP"}],
                }
            ],
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

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        # `kind get nodes --name` prints only this cluster's node containers (nothing when it is gone)
        def parse(out: str) -> list[Leftover]:
            nodes = out.split()
            return [Leftover("kind cluster", cfg.name, detail=f"{len(nodes)} node container(s): {', '.join(nodes)}")] if nodes else []

        return [LeftoverQuery(Command(("kind", "get", "nodes", "--name", cfg.name), why="kind cluster"), parse)]

    def notes(self, cfg: Config, handle: ClusterHandle) -> list[str]:
        return [f"the hub answers on this machine at http://127.0.0.1:{HOST_PORT} (kind maps it to node port {NODE_PORT})"]

"""minikube for testing the chart on a laptop, as a named profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, OwnKubeconfig
from pangeoctl.config import Config
from pangeoctl.runner import Command


class MinikubeCloud(OwnKubeconfig):
    name: str = "minikube"
    tools: tuple[str, ...] = ("minikube", "kubectl", "helm")
    owns_cluster: bool = True

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        return "minikube.yaml", {
            "profile": cfg.name,
            "kubernetes-version": f"v{cfg.cluster.kubernetes_version}.0",
            "cpus": 4,
            "memory": "8g",
            "cni": "calico",
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        _, s = self.spec(cfg)
        return [
            Command(
                (
                    "minikube",
                    "start",
                    "--profile",
                    cfg.name,
                    "--kubernetes-version",
                    s["kubernetes-version"],
                    "--cpus",
                    str(s["cpus"]),
                    "--memory",
                    s["memory"],
                    "--cni",
                    s["cni"],
                ),
                why="start the minikube profile",
                env={"KUBECONFIG": str(handle.kubeconfig)},
                unless=("minikube", "status", "--profile", cfg.name),
            )
        ]

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [
            Command(("minikube", "update-context", "--profile", cfg.name), why="write the kubeconfig", env={"KUBECONFIG": str(handle.kubeconfig)})
        ]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("minikube", "delete", "--profile", cfg.name), why="delete the minikube profile")]

    def leftovers(self, cfg: Config) -> list[Command]:
        return [Command(("minikube", "profile", "list"), why="minikube profiles")]

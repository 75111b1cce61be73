"""minikube for testing the chart on a laptop, as a named profile sized for the platform it must hold."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, Leftover, LeftoverQuery, OwnKubeconfig
from pangeoctl.config import Config
from pangeoctl.runner import Command

GIB = 1024**3
# What runs besides the user's server and one Dask worker: the system pods, hub, proxy, gateway API and
# controller, traefik, a Dask scheduler — measured allowances, rounded up.
OVERHEAD_CPUS = 3
OVERHEAD_GIB = 5


def sizing(cfg: Config) -> tuple[int, int]:
    """(CPUs, memory in GiB) of the minikube VM: ``minikube.cpus``/``minikube.memory`` when pangeo.yaml sets them,
    else enough for the default profile's guarantee, the smallest Dask worker and the platform itself."""
    prof = next((p for p in cfg.hub.profiles if p.default), cfg.hub.profiles[0])
    cpus = math.ceil(prof.cpu + cfg.dask.options.worker_cores[0] + OVERHEAD_CPUS)
    gib = math.ceil((prof.memory + cfg.dask.options.worker_memory[0]) / GIB + OVERHEAD_GIB)
    given = getattr(cfg, "minikube", None)  # FIXME: read cfg.minikube directly once the config helper adds it
    if given is not None:
        cpus = int(getattr(given, "cpus", None) or cpus)
        mem = getattr(given, "memory", None)
        gib = math.ceil(mem / GIB) if mem else gib
    return cpus, gib


class MinikubeCloud(OwnKubeconfig):
    name: str = "minikube"
    tools: tuple[str, ...] = ("minikube", "kubectl", "helm")
    owns_cluster: bool = True

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        cpus, gib = sizing(cfg)
        return "minikube.yaml", {
            "profile": cfg.name,
            "kubernetes-version": f"v{cfg.cluster.kubernetes_version}.0",
            "cpus": cpus,
            "memory": f"{gib}g",
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
                why=f"start the minikube profile ({s['cpus']} CPUs, {s['memory']} memory: the default profile, one Dask worker and the platform)",
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

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        def parse(out: str) -> list[Leftover]:
            data = json.loads(out or "{}")
            ours = [p for part in ("valid", "invalid") for p in data.get(part) or [] if p.get("Name") == cfg.name]
            return [Leftover("minikube profile", cfg.name, detail=str(p.get("Status", ""))) for p in ours]

        return [LeftoverQuery(Command(("minikube", "profile", "list", "--output", "json"), why="minikube profile"), parse)]

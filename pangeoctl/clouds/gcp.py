"""GKE through ``gcloud``: a cluster whose default pool is the core pool, then one node pool per role."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, OwnKubeconfig, labels_csv
from pangeoctl.config import Config, Pool
from pangeoctl.render.placement import PLACEMENT, pool_taints
from pangeoctl.runner import Command


class GCPCloud(OwnKubeconfig):
    name: str = "gcp"
    tools: tuple[str, ...] = ("gcloud", "gke-gcloud-auth-plugin", "kubectl", "helm")
    owns_cluster: bool = True

    @staticmethod
    def _where(cfg: Config) -> list[str]:
        assert cfg.gcp is not None
        loc = ["--zone", cfg.gcp.zone] if cfg.gcp.zone else ["--region", cfg.gcp.region]
        return ["--project", cfg.gcp.project, *loc]

    @staticmethod
    def _pool_flags(cfg: Config, name: str, pool: Pool) -> list[str]:
        assert cfg.gcp is not None
        if cfg.gcp.zone:  # zonal: counts are the pool's
            size = ["--num-nodes", str(pool.min_nodes), "--min-nodes", str(pool.min_nodes), "--max-nodes", str(pool.max_nodes)]
        else:  # regional: --num-nodes is per zone (×3); bound the totals instead
            size = [
                "--num-nodes",
                str(math.ceil(pool.min_nodes / 3)),
                "--total-min-nodes",
                str(pool.min_nodes),
                "--total-max-nodes",
                str(pool.max_nodes),
            ]
        flags = [
            "--machine-type",
            pool.machine_type or "",
            "--disk-size",
            str(pool.disk_gb),
            "--enable-autoscaling",
            *size,
            "--node-labels",
            labels_csv(PLACEMENT[name].labels),
        ]
        taints = pool_taints("gcp", name, pool.spot)
        if taints:
            flags += ["--node-taints", ",".join(f"{t.key}={t.value}:{t.effect}" for t in taints)]
        if pool.spot:
            flags.append("--spot")
        if name == "gpu":
            flags += ["--accelerator", "type=nvidia-l4,count=1,gpu-driver-version=default"]
        return flags

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.gcp is not None
        pools = []
        for name, pool in cfg.pools().items():
            pools.append(
                {
                    "name": "default-pool" if name == "core" else name,
                    "initialNodeCount": pool.min_nodes,
                    "autoscaling": {"enabled": True, "totalMinNodeCount": pool.min_nodes, "totalMaxNodeCount": pool.max_nodes},
                    "config": {
                        "machineType": pool.machine_type,
                        "diskSizeGb": pool.disk_gb,
                        "spot": pool.spot,
                        "labels": dict(PLACEMENT[name].labels),
                        "taints": [{"key": t.key, "value": t.value, "effect": "NO_SCHEDULE"} for t in pool_taints("gcp", name, pool.spot)],
                    },
                }
            )
        return "cluster.yaml", {
            "kind": "GKECluster",
            "name": cfg.name,
            "project": cfg.gcp.project,
            "location": cfg.gcp.zone or cfg.gcp.region,
            "initialClusterVersion": cfg.cluster.kubernetes_version,
            "releaseChannel": "REGULAR",
            "networkConfig": {"datapathProvider": "ADVANCED_DATAPATH"},
            "workloadIdentityConfig": {"workloadPool": f"{cfg.gcp.project}.svc.id.goog"},
            "resourceLabels": {"pangeoctl": cfg.name},
            "nodePools": pools,
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.gcp is not None
        where = self._where(cfg)
        exists = ("gcloud", "container", "clusters", "describe", cfg.name, *where)
        pools = cfg.pools()
        cmds = [
            Command(
                (
                    "gcloud",
                    "container",
                    "clusters",
                    "create",
                    cfg.name,
                    *where,
                    "--release-channel",
                    "regular",
                    "--cluster-version",
                    cfg.cluster.kubernetes_version,
                    "--enable-ip-alias",
                    "--enable-dataplane-v2",
                    "--workload-pool",
                    f"{cfg.gcp.project}.svc.id.goog",
                    "--labels",
                    f"pangeoctl={cfg.name}",
                    *self._pool_flags(cfg, "core", pools["core"]),
                ),
                why="create the GKE cluster with the core pool",
                unless=exists,
            )
        ]
        for name, pool in pools.items():
            if name == "core":
                continue
            cmds.append(
                Command(
                    ("gcloud", "container", "node-pools", "create", name, "--cluster", cfg.name, *where, *self._pool_flags(cfg, name, pool)),
                    why=f"add the {name} node pool",
                    unless=("gcloud", "container", "node-pools", "describe", name, "--cluster", cfg.name, *where),
                )
            )
        return cmds

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [
            Command(
                ("gcloud", "container", "clusters", "get-credentials", cfg.name, *self._where(cfg)),
                why="write the kubeconfig",
                env={"KUBECONFIG": str(handle.kubeconfig)},
            )
        ]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("gcloud", "container", "clusters", "delete", cfg.name, *self._where(cfg), "--quiet"), why="delete the GKE cluster")]

    def leftovers(self, cfg: Config) -> list[Command]:
        assert cfg.gcp is not None
        p = ["--project", cfg.gcp.project]
        return [
            Command(
                (
                    "gcloud",
                    "compute",
                    "disks",
                    "list",
                    *p,
                    "--filter",
                    f"labels.goog-k8s-cluster-name={cfg.name}",
                    "--format",
                    "value(name,zone,sizeGb)",
                ),
                why="disks",
            ),
            Command(
                ("gcloud", "compute", "forwarding-rules", "list", *p, "--filter", f"description~{cfg.name}", "--format", "value(name,IPAddress)"),
                why="load balancers",
            ),
            Command(
                ("gcloud", "compute", "addresses", "list", *p, "--filter", f"description~{cfg.name}", "--format", "value(name,address)"),
                why="IP addresses",
            ),
        ]

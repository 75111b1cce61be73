"""AKS through ``az``: resource group, cluster (core pool, Cilium network policy), one pool per role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, OwnKubeconfig
from pangeoctl.config import Config, Pool
from pangeoctl.render.placement import PLACEMENT

# Taints we ask for; AKS adds kubernetes.azure.com/scalesetpriority=spot:NoSchedule on spot pools itself.
from pangeoctl.render.placement import pool_taints as _taints
from pangeoctl.runner import Command


def _requested_taints(name: str) -> list[str]:
    return [f"{t.key}={t.value}:{t.effect}" for t in _taints("azure", name, False)]


class AzureCloud(OwnKubeconfig):
    name: str = "azure"
    tools: tuple[str, ...] = ("az", "kubectl", "helm")
    owns_cluster: bool = True

    @staticmethod
    def _rg(cfg: Config) -> list[str]:
        assert cfg.azure is not None
        return ["--subscription", cfg.azure.subscription, "--resource-group", cfg.azure.resource_group]

    @staticmethod
    def _size(pool: Pool) -> list[str]:
        return [
            "--node-count",
            str(pool.min_nodes),
            "--enable-cluster-autoscaler",
            "--min-count",
            str(pool.min_nodes),
            "--max-count",
            str(pool.max_nodes),
            "--node-osdisk-size",
            str(pool.disk_gb),
        ]

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.azure is not None
        profiles = []
        for name, pool in cfg.pools().items():
            profiles.append(
                {
                    "name": name,
                    "mode": "System" if name == "core" else "User",
                    "vmSize": pool.machine_type,
                    "count": pool.min_nodes,
                    "minCount": pool.min_nodes,
                    "maxCount": pool.max_nodes,
                    "enableAutoScaling": True,
                    "osDiskSizeGB": pool.disk_gb,
                    "scaleSetPriority": "Spot" if pool.spot else "Regular",
                    "nodeLabels": dict(PLACEMENT[name].labels),
                    "nodeTaints": [f"{t.key}={t.value}:{t.effect}" for t in _taints("azure", name, pool.spot)],
                }
            )
        return "cluster.yaml", {
            "kind": "AKSManagedCluster",
            "name": cfg.name,
            "subscription": cfg.azure.subscription,
            "resourceGroup": cfg.azure.resource_group,
            "location": cfg.azure.location,
            "kubernetesVersion": cfg.cluster.kubernetes_version,
            "sku": {"tier": "Free"},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium", "networkPolicy": "cilium"},
            "tags": {"pangeoctl": cfg.name},
            "agentPoolProfiles": profiles,
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.azure is not None
        rg = self._rg(cfg)
        pools = cfg.pools()
        core = pools["core"]
        cmds = [
            Command(
                (
                    "az",
                    "group",
                    "create",
                    "--subscription",
                    cfg.azure.subscription,
                    "--name",
                    cfg.azure.resource_group,
                    "--location",
                    cfg.azure.location,
                    "--tags",
                    f"pangeoctl={cfg.name}",
                ),
                why="resource group",
                unless=("az", "group", "show", "--subscription", cfg.azure.subscription, "--name", cfg.azure.resource_group),
            ),
            Command(
                (
                    "az",
                    "aks",
                    "create",
                    *rg,
                    "--name",
                    cfg.name,
                    "--location",
                    cfg.azure.location,
                    "--kubernetes-version",
                    cfg.cluster.kubernetes_version,
                    "--tier",
                    "free",
                    "--network-plugin",
                    "azure",
                    "--network-plugin-mode",
                    "overlay",
                    "--network-dataplane",
                    "cilium",
                    "--network-policy",
                    "cilium",
                    "--nodepool-name",
                    "core",
                    "--node-vm-size",
                    core.machine_type or "",
                    *self._size(core),
                    "--nodepool-labels",
                    *[f"{k}={v}" for k, v in PLACEMENT["core"].labels.items()],
                    "--generate-ssh-keys",
                    "--tags",
                    f"pangeoctl={cfg.name}",
                ),
                why="create the AKS cluster with the core pool",
                unless=("az", "aks", "show", *rg, "--name", cfg.name),
            ),
        ]
        for name, pool in pools.items():
            if name == "core":
                continue
            argv = [
                "az",
                "aks",
                "nodepool",
                "add",
                *rg,
                "--cluster-name",
                cfg.name,
                "--name",
                name,
                "--mode",
                "User",
                "--node-vm-size",
                pool.machine_type or "",
                *self._size(pool),
                "--labels",
                *[f"{k}={v}" for k, v in PLACEMENT[name].labels.items()],
            ]
            taints = _requested_taints(name)
            if taints:
                argv += ["--node-taints", ",".join(taints)]
            if pool.spot:
                argv += ["--priority", "Spot", "--eviction-policy", "Delete", "--spot-max-price", "-1"]
            cmds.append(
                Command(
                    tuple(argv),
                    why=f"add the {name} node pool",
                    unless=("az", "aks", "nodepool", "show", *rg, "--cluster-name", cfg.name, "--name", name),
                )
            )
        return cmds

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [
            Command(
                ("az", "aks", "get-credentials", *self._rg(cfg), "--name", cfg.name, "--file", str(handle.kubeconfig), "--overwrite-existing"),
                why="write the kubeconfig",
            )
        ]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("az", "aks", "delete", *self._rg(cfg), "--name", cfg.name, "--yes"), why="delete the AKS cluster")]

    def leftovers(self, cfg: Config) -> list[Command]:
        assert cfg.azure is not None
        return [
            Command(
                (
                    "az",
                    "resource",
                    "list",
                    "--subscription",
                    cfg.azure.subscription,
                    "--tag",
                    f"pangeoctl={cfg.name}",
                    "--query",
                    "[].{name:name, type:type}",
                    "--output",
                    "tsv",
                ),
                why="resources tagged for this platform",
            )
        ]

"""EKS through ``eksctl`` with a rendered ``ClusterConfig``, plus what EKS lacks out of the box: the
cluster-autoscaler (with scale-from-zero tags), a default gp3 StorageClass for home volumes, and Calico to
enforce NetworkPolicies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import ClusterHandle, OwnKubeconfig
from pangeoctl.config import Config
from pangeoctl.render.placement import PLACEMENT, pool_taints
from pangeoctl.runner import Command, Stdin

AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler"
AUTOSCALER_CHART_VERSION = "9.50.1"
# The VPC CNI enforces no NetworkPolicy by default, and with its policy agent on it skips pods without
# ownerReferences — JupyterHub's user pods have none. Calico in policy-only mode (EKS provider, Amazon VPC
# networking kept) enforces the hub's and the Dask pods' policies.
CALICO_CHART_REPO = "https://docs.tigera.io/calico/charts"
CALICO_CHART_VERSION = "v3.31.0"

GP3_STORAGECLASS = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: gp3
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: ebs.csi.aws.com
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
parameters:
  type: gp3
"""


class AWSCloud(OwnKubeconfig):
    name: str = "aws"
    tools: tuple[str, ...] = ("aws", "eksctl", "kubectl", "helm")
    owns_cluster: bool = True

    @staticmethod
    def _env(cfg: Config, handle: ClusterHandle | None = None) -> dict[str, str]:
        env = {"AWS_PROFILE": cfg.aws.profile} if cfg.aws and cfg.aws.profile else {}
        if handle is not None:
            env["KUBECONFIG"] = str(handle.kubeconfig)
        return env

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.aws is not None
        groups = []
        for name, pool in cfg.pools().items():
            labels = dict(PLACEMENT[name].labels)
            taints = pool_taints("aws", name, pool.spot)
            # Scale-from-zero: the autoscaler must know a node's labels and taints before one exists.
            tags = {f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in labels.items()}
            tags.update({f"k8s.io/cluster-autoscaler/node-template/taint/{t.key}": f"{t.value}:{t.effect}" for t in taints})
            tags.update({"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cfg.name}": "owned"})
            groups.append(
                {
                    "name": name,
                    "instanceTypes": [pool.machine_type],
                    "spot": pool.spot,
                    "minSize": pool.min_nodes,
                    "maxSize": pool.max_nodes,
                    "desiredCapacity": pool.min_nodes,
                    "volumeSize": pool.disk_gb,
                    "labels": labels,
                    "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in taints],
                    "tags": tags,
                    "propagateASGTags": True,
                    "iam": {"withAddonPolicies": {"autoScaler": True, "ebs": True}},
                }
            )
        return "cluster.yaml", {
            "apiVersion": "eksctl.io/v1alpha5",
            "kind": "ClusterConfig",
            "metadata": {"name": cfg.name, "region": cfg.aws.region, "version": cfg.cluster.kubernetes_version, "tags": {"pangeoctl": cfg.name}},
            # EXTENDED support bills six times the control plane once a version ages out.
            "upgradePolicy": {"supportType": "STANDARD"},
            "iam": {"withOIDC": True},
            "addons": [
                {"name": "aws-ebs-csi-driver", "wellKnownPolicies": {"ebsCSIController": True}},
                {"name": "vpc-cni"},
                {"name": "coredns"},
                {"name": "kube-proxy"},
            ],
            "managedNodeGroups": groups,
        }

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.aws is not None
        region = ["--region", cfg.aws.region]
        cmds = []
        if cfg.aws.account:
            cmds.append(
                Command(
                    ("aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"),
                    why=f"check these credentials are for account {cfg.aws.account}",
                    env=self._env(cfg),
                    expect=cfg.aws.account,
                )
            )
        cmds.append(
            Command(
                ("eksctl", "create", "cluster", "-f", str(spec_path), "--kubeconfig", str(handle.kubeconfig)),
                why="create the EKS cluster and node groups",
                env=self._env(cfg),
                unless=("eksctl", "get", "cluster", "--name", cfg.name, *region),
            )
        )
        return cmds

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        assert cfg.aws is not None
        return [
            Command(
                ("eksctl", "utils", "write-kubeconfig", "--cluster", cfg.name, "--region", cfg.aws.region, "--kubeconfig", str(handle.kubeconfig)),
                why="write the kubeconfig",
                env=self._env(cfg),
            ),
            Command(
                ("kubectl", *handle.kubectl(), "apply", "-f", "-"),
                why="default gp3 StorageClass for home volumes",
                stdin=Stdin("StorageClass gp3 (default)", lambda: GP3_STORAGECLASS),
                env=self._env(cfg),
            ),
            Command(
                (
                    "helm",
                    "upgrade",
                    "--install",
                    "cluster-autoscaler",
                    "cluster-autoscaler",
                    "--repo",
                    AUTOSCALER_CHART_REPO,
                    "--version",
                    AUTOSCALER_CHART_VERSION,
                    "--namespace",
                    "kube-system",
                    *handle.helm(),
                    "--set",
                    f"autoDiscovery.clusterName={cfg.name}",
                    "--set",
                    f"awsRegion={cfg.aws.region}",
                    "--set",
                    "extraArgs.balance-similar-node-groups=true",
                    "--set",
                    "extraArgs.skip-nodes-with-local-storage=false",
                    "--wait",
                ),
                why="cluster-autoscaler (EKS has none built in)",
                env=self._env(cfg),
            ),
            Command(
                (
                    "helm",
                    "upgrade",
                    "--install",
                    "calico",
                    "tigera-operator",
                    "--repo",
                    CALICO_CHART_REPO,
                    "--version",
                    CALICO_CHART_VERSION,
                    "--namespace",
                    "tigera-operator",
                    "--create-namespace",
                    *handle.helm(),
                    "--set",
                    "installation.kubernetesProvider=EKS",
                    "--wait",
                ),
                why="Calico network policy (the VPC CNI does not enforce the hub's and Dask's NetworkPolicies on user pods)",
                env=self._env(cfg),
            ),
        ]

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        assert cfg.aws is not None
        # Without --wait eksctl returns before CloudFormation finishes and swallows its errors.
        return [
            Command(
                ("eksctl", "delete", "cluster", "--name", cfg.name, "--region", cfg.aws.region, "--wait"),
                why="delete the EKS cluster",
                env=self._env(cfg),
            )
        ]

    def leftovers(self, cfg: Config) -> list[Command]:
        assert cfg.aws is not None
        # Load balancers, volumes and addresses Kubernetes created carry the cluster's ownership tag.
        return [
            Command(
                (
                    "aws",
                    "resourcegroupstaggingapi",
                    "get-resources",
                    "--region",
                    cfg.aws.region,
                    "--tag-filters",
                    f"Key=kubernetes.io/cluster/{cfg.name},Values=owned",
                    "--query",
                    "ResourceTagMappingList[].ResourceARN",
                    "--output",
                    "text",
                ),
                why="resources tagged for this cluster",
                env=self._env(cfg),
            )
        ]

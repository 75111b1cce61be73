"""GKE through ``gcloud``: the APIs enabled, a cluster whose default pool is the core pool, then one node pool per
role (spot roles: one per equivalent machine type), a tagged StorageClass, and a reserved address for HTTPS."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import (
    SCRATCH_LEFT,
    SCRATCH_LIFECYCLE,
    SCRATCH_SA,
    STORAGE_CLASS,
    ClusterHandle,
    Leftover,
    LeftoverQuery,
    ObservedPool,
    Owned,
    OwnKubeconfig,
    PoolChange,
    PoolPlan,
    Scratch,
    address_name,
    diff_pool,
    labels_csv,
    monthly,
    rows,
    scratch_service_account,
    split_pools,
    storage_class,
    tags,
)
from pangeoctl.config import Config
from pangeoctl.render.placement import PLACEMENT, POOL_LABEL, pool_taints
from pangeoctl.runner import Command, Stdin

APIS = ("container.googleapis.com", "compute.googleapis.com")
BUDGET_API = "billingbudgets.googleapis.com"
SCRATCH_APIS = ("storage.googleapis.com", "iam.googleapis.com")
IAM_SETTLING = (5.0, 10.0, 15.0, 30.0)  # waits before retrying a binding that names a service account just made
ZONES_PER_REGION = 3  # a regional cluster's pools span the region's zones (3 in every GKE region we know)


def zones(cfg: Config) -> int:
    """How many zones each node pool spans: counts given per zone to gcloud multiply by this."""
    assert cfg.gcp is not None
    return 1 if cfg.gcp.zone else ZONES_PER_REGION


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
    def _name(role: str, i: int) -> str:
        base = "default-pool" if role == "core" else role
        return base if i == 0 else f"{role}-{i + 1}"

    def pool_plans(self, cfg: Config) -> list[PoolPlan]:
        return split_pools(cfg, "gcp", self._name)

    @staticmethod
    def _bounds(cfg: Config, p: PoolPlan) -> list[str]:
        if zones(cfg) == 1:  # zonal: counts are the pool's
            return ["--min-nodes", str(p.min_nodes), "--max-nodes", str(p.max_nodes)]
        # regional: --min/--max-nodes are per zone; bound the totals instead
        return ["--total-min-nodes", str(p.min_nodes), "--total-max-nodes", str(p.max_nodes)]

    def _pool_flags(self, cfg: Config, p: PoolPlan) -> list[str]:
        # --num-nodes is per zone: the smallest per-zone count whose total reaches min_nodes
        per_zone = math.ceil(p.min_nodes / zones(cfg))
        flags = [
            "--machine-type",
            p.machine_type,
            "--disk-size",
            str(p.pool.disk_gb),
            "--enable-autoscaling",
            "--num-nodes",
            str(per_zone),
            *self._bounds(cfg, p),
            "--node-labels",
            labels_csv(PLACEMENT[p.role].labels),
            # pods may reach the metadata server only through Workload Identity (their own identity)
            "--workload-metadata",
            "GKE_METADATA",
        ]
        taints = pool_taints("gcp", p.role, p.pool.spot)
        if taints:
            flags += ["--node-taints", ",".join(f"{t.key}={t.value}:{t.effect}" for t in taints)]
        if p.pool.spot:
            flags.append("--spot")
        if p.role == "gpu":
            # GKE installs the driver and runs its own device plugin (it tolerates every NoSchedule taint)
            flags += ["--accelerator", "type=nvidia-l4,count=1,gpu-driver-version=default"]
        return flags

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.gcp is not None
        pools = []
        for p in self.pool_plans(cfg):
            pools.append(
                {
                    "name": p.name,
                    "initialNodeCount": math.ceil(p.min_nodes / zones(cfg)),  # per zone, as GKE counts it
                    "autoscaling": {"enabled": True, "totalMinNodeCount": p.min_nodes, "totalMaxNodeCount": p.max_nodes},
                    "config": {
                        "machineType": p.machine_type,
                        "diskSizeGb": p.pool.disk_gb,
                        "spot": p.pool.spot,
                        "labels": dict(PLACEMENT[p.role].labels),
                        "resourceLabels": tags(cfg),
                        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                        "taints": [{"key": t.key, "value": t.value, "effect": "NO_SCHEDULE"} for t in pool_taints("gcp", p.role, p.pool.spot)],
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
            "resourceLabels": tags(cfg),
            "nodePools": pools,
        }

    def prepare(self, cfg: Config) -> list[Command]:
        assert cfg.gcp is not None
        apis = APIS + ((BUDGET_API,) if cfg.budget is not None and cfg.gcp.billing_account else ()) + (SCRATCH_APIS if cfg.scratch_bucket else ())
        # `services enable` is a no-op for an API that is already on, so a re-run costs one quick call.
        return [Command(("gcloud", "services", "enable", *apis, "--project", cfg.gcp.project), why="enable the Google Cloud APIs the steps use")]

    def versions_probe(self, cfg: Config) -> Command | None:
        return Command(
            ("gcloud", "container", "get-server-config", *self._where(cfg), "--format", "json"),
            why="Kubernetes versions GKE offers here",
        )

    def _create_pool(self, cfg: Config, p: PoolPlan) -> Command:
        where = self._where(cfg)
        return Command(
            ("gcloud", "container", "node-pools", "create", p.name, "--cluster", cfg.name, *where, *self._pool_flags(cfg, p)),
            why=f"add the {p.name} node pool",
            unless=("gcloud", "container", "node-pools", "describe", p.name, "--cluster", cfg.name, *where),
        )

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.gcp is not None
        where = self._where(cfg)
        exists = ("gcloud", "container", "clusters", "describe", cfg.name, *where)
        plans = self.pool_plans(cfg)
        core = plans[0]
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
                    # cluster labels are copied to its VMs and their boot disks
                    "--labels",
                    labels_csv(tags(cfg)),
                    *self._pool_flags(cfg, core),
                ),
                why="create the GKE cluster with the core pool",
                unless=exists,
            )
        ]
        cmds += [self._create_pool(cfg, p) for p in plans[1:]]
        return cmds

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        sc = storage_class("pd.csi.storage.gke.io", {"type": "pd-balanced", "labels": labels_csv(tags(cfg))})
        return [
            Command(
                ("gcloud", "container", "clusters", "get-credentials", cfg.name, *self._where(cfg)),
                why="write the kubeconfig",
                env={"KUBECONFIG": str(handle.kubeconfig)},
            ),
            Command(
                ("kubectl", *handle.kubectl(), "apply", "-f", "-"),
                why=f"StorageClass {STORAGE_CLASS}: balanced disks labelled for this platform",
                stdin=Stdin(f"StorageClass {STORAGE_CLASS}", lambda: sc),
            ),
        ]

    # ------------------------------------------------------------ re-runs: changed pools

    def pools_probe(self, cfg: Config) -> Command | None:
        return Command(
            ("gcloud", "container", "node-pools", "list", "--cluster", cfg.name, *self._where(cfg), "--format", "json"),
            why="node pools as they run",
        )

    @staticmethod
    def observed(listing: str) -> list[ObservedPool]:
        out = []
        for item in json.loads(listing or "[]"):
            conf, auto = item.get("config", {}), item.get("autoscaling", {})
            role = conf.get("labels", {}).get(POOL_LABEL)
            if not role:
                continue
            lo = auto.get("totalMinNodeCount", auto.get("minNodeCount", 0))
            hi = auto.get("totalMaxNodeCount", auto.get("maxNodeCount", 0))
            out.append(
                ObservedPool(
                    item["name"], role, (conf.get("machineType", ""),), int(lo), int(hi), bool(conf.get("spot")), int(conf.get("diskSizeGb", 0))
                )
            )
        return out

    def pool_changes(self, cfg: Config, listing: str, *, spec_path: Path | None = None) -> list[PoolChange]:
        where = self._where(cfg)
        have = {o.name: o for o in self.observed(listing)}
        plans = self.pool_plans(cfg)
        out = []
        for p in plans:
            o = have.get(p.name)
            if o is None:
                continue  # create() adds it
            update, replace = diff_pool(p.pool.model_copy(update={"min_nodes": p.min_nodes, "max_nodes": p.max_nodes}), o, (p.machine_type,))
            base = ("gcloud", "container", "node-pools", "update", p.name, "--cluster", cfg.name, *where)
            spot_changed = any(c.startswith("spot") for c in replace)
            if replace and spot_changed:
                delete = ("gcloud", "container", "node-pools", "delete")
                steps = [
                    Command(
                        (*delete, p.name, "--cluster", cfg.name, *where, "--quiet"), why=f"delete the {p.name} pool (GKE drains its nodes first)"
                    ),
                    Command(self._create_pool(cfg, p).argv, why=f"recreate the {p.name} pool"),
                ]
                if p.role == "core":
                    # the hub waits on a temporary pool of the new shape instead of having no node at all
                    tmp = PoolPlan("core-tmp", p.role, p.machine_type, max(p.min_nodes, 1), p.max_nodes, p.pool)
                    steps = [
                        Command(self._create_pool(cfg, tmp).argv, why="a temporary core pool to hold the hub"),
                        *steps,
                        Command((*delete, tmp.name, "--cluster", cfg.name, *where, "--quiet"), why="drain the temporary pool back and delete it"),
                    ]
                out.append(PoolChange(p.name, "replace", tuple(update + replace), tuple(steps)))
                continue
            cmds: list[Command] = []
            if update:
                cmds.append(Command((*base, "--enable-autoscaling", *self._bounds(cfg, p)), why=f"new autoscaling bounds for {p.name}"))
            if replace:
                # GKE changes machine type and disk size in place by recreating the nodes (surge upgrade)
                cmds.append(
                    Command(
                        (*base, "--machine-type", p.machine_type, "--disk-size", str(p.pool.disk_gb)),
                        why=f"new machine type/disk for {p.name} (its nodes are recreated one by one)",
                    )
                )
            if cmds:
                out.append(PoolChange(p.name, "update", tuple(update + [c + " (nodes recreated)" for c in replace]), tuple(cmds)))
        wanted = {p.name for p in plans}
        for o in have.values():
            if o.name not in wanted:
                out.append(
                    PoolChange(
                        o.name,
                        "delete",
                        ("no longer in pangeo.yaml",),
                        (
                            Command(
                                ("gcloud", "container", "node-pools", "delete", o.name, "--cluster", cfg.name, *where, "--quiet"),
                                why=f"remove the {o.name} pool",
                            ),
                        ),
                    )
                )
        return out

    # ------------------------------------------------------------ HTTPS: a reserved address

    def reserve_address(self, cfg: Config) -> list[Command]:
        assert cfg.gcp is not None
        if not cfg.hub.domain:
            return []
        p = ["--project", cfg.gcp.project, "--region", cfg.gcp.region]
        return [
            Command(
                ("gcloud", "compute", "addresses", "create", address_name(cfg), *p, "--description", f"pangeoctl {cfg.name} hub"),
                why=f"reserve the hub's IP address (the DNS record for {cfg.hub.domain} points at it; a reinstall keeps it)",
                unless=("gcloud", "compute", "addresses", "describe", address_name(cfg), *p),
            ),
            Command(
                ("gcloud", "compute", "addresses", "update", address_name(cfg), *p, "--update-labels", labels_csv(tags(cfg))),
                why="label the address for `down --verify`",
            ),
        ]

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None:
        assert cfg.gcp is not None
        if not cfg.hub.domain:
            return None
        return Command(
            (
                "gcloud",
                "compute",
                "addresses",
                "describe",
                address_name(cfg),
                "--project",
                cfg.gcp.project,
                "--region",
                cfg.gcp.region,
                "--format",
                "value(address)",
            ),
            why="the hub's reserved IP address",
        )

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("gcloud", "container", "clusters", "delete", cfg.name, *self._where(cfg), "--quiet"), why="delete the GKE cluster")]

    def destroys_data(self, cfg: Config) -> str | None:
        return "home and hub-database disks outlive the GKE cluster and keep billing until deleted (`down --purge` first, or delete them after `down --verify` lists them)"

    # ------------------------------------------------------------ teardown: what is left, priced

    # ------------------------------------------------------------ users' scratch bucket

    def scratch(self, cfg: Config) -> Scratch | None:
        # GKE_METADATA nodes answer pods from the GKE metadata server with their own Workload Identity only.
        return Scratch(f"gs://{cfg.scratch_bucket}", metadata_server=True) if cfg.scratch_bucket else None

    @staticmethod
    def lifecycle(days: int) -> dict[str, Any]:
        return {"rule": [{"action": {"type": "Delete"}, "condition": {"age": days}}]}

    @staticmethod
    def scratch_account(cfg: Config) -> str:
        """The Google service account users act as (account IDs are 6–30 characters)."""
        assert cfg.gcp is not None
        return f"{cfg.name[:24].rstrip('-')}-users@{cfg.gcp.project}.iam.gserviceaccount.com"

    def scratch_owned(self, cfg: Config) -> list[Owned]:
        assert cfg.gcp is not None
        if not cfg.scratch_bucket:
            return []
        p, bucket, gsa = ("--project", cfg.gcp.project), f"gs://{cfg.scratch_bucket}", self.scratch_account(cfg)
        return [
            Owned(f"users' scratch bucket {bucket}", ("gcloud", "storage", "buckets", "list", *p, "--filter", f"name={cfg.scratch_bucket}", "--format", "value(name)"),
                  ("gcloud", "storage", "rm", "--recursive", bucket, *p), data=True),
            Owned(f"the service account {gsa} users acted as", ("gcloud", "iam", "service-accounts", "list", *p, "--filter", f"email={gsa}", "--format", "value(email)"),
                  ("gcloud", "iam", "service-accounts", "delete", gsa, *p, "--quiet")),
        ]  # fmt: skip

    def scratch_steps(self, cfg: Config, handle: ClusterHandle, where: Path) -> list[Any]:
        assert cfg.gcp is not None
        if not cfg.scratch_bucket:
            return []
        p, bucket, gsa = ("--project", cfg.gcp.project), f"gs://{cfg.scratch_bucket}", self.scratch_account(cfg)
        member = f"serviceAccount:{cfg.gcp.project}.svc.id.goog[{cfg.name}/{SCRATCH_SA}]"
        # A new service account is known to IAM only after a few seconds: it is made first, and the bindings
        # that name it try again for up to a minute.
        return [
            Command(
                ("gcloud", "iam", "service-accounts", "create", gsa.split("@")[0], *p, "--display-name", f"pangeoctl {cfg.name} users"),
                why="the identity users and their Dask workers act as",
                unless=("gcloud", "iam", "service-accounts", "describe", gsa, *p),
            ),
            Command(
                ("gcloud", "storage", "buckets", "create", bucket, *p, "--location", cfg.gcp.region, "--uniform-bucket-level-access"),
                why=f"users' scratch bucket {bucket}, beside the cluster",
                unless=("gcloud", "storage", "buckets", "describe", bucket, *p),
            ),
            Command(
                (
                    "gcloud",
                    "storage",
                    "buckets",
                    "update",
                    bucket,
                    *p,
                    "--update-labels",
                    labels_csv(tags(cfg)),
                    "--lifecycle-file",
                    str(where / SCRATCH_LIFECYCLE),
                ),
                why=f"label it, and delete what is older than {cfg.hub.user_identity.expire_days} days",
            ),
            Command(
                (
                    "gcloud",
                    "storage",
                    "buckets",
                    "add-iam-policy-binding",
                    bucket,
                    *p,
                    "--member",
                    f"serviceAccount:{gsa}",
                    "--role",
                    "roles/storage.objectUser",
                ),
                why="it may read, write and delete objects in the scratch bucket — and nothing else",
                retry=IAM_SETTLING,
            ),
            Command(
                (
                    "gcloud",
                    "iam",
                    "service-accounts",
                    "add-iam-policy-binding",
                    gsa,
                    *p,
                    "--role",
                    "roles/iam.workloadIdentityUser",
                    "--member",
                    member,
                ),
                why=f"pods running as {SCRATCH_SA} act as it (Workload Identity)",
                retry=IAM_SETTLING,
            ),
            *scratch_service_account(cfg, handle, {"iam.gke.io/gcp-service-account": gsa}),
        ]

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        assert cfg.gcp is not None
        p = ["--project", cfg.gcp.project]

        def disks(out: str) -> list[Leftover]:
            return [
                Leftover("disk", r[0], r[1].rsplit("/", 1)[-1] if len(r) > 1 else "", monthly("gcp", "disk_gb_month", float(r[2])), f"{r[2]} GB")
                for r in rows(out)
                if len(r) >= 3
            ]

        def lbs(out: str) -> list[Leftover]:
            return [Leftover("load balancer", r[0], r[1] if len(r) > 1 else "", monthly("gcp", "load_balancer")) for r in rows(out)]

        def gke(out: str) -> list[Leftover]:
            return [Leftover("gke cluster", r[0], r[1] if len(r) > 1 else "", monthly("gcp", "control_plane")) for r in rows(out)]

        def buckets(out: str) -> list[Leftover]:
            return [Leftover("bucket", r[0], r[1].lower() if len(r) > 1 else "", detail=SCRATCH_LEFT) for r in rows(out)]

        def ips(out: str) -> list[Leftover]:
            return [Leftover("ip", r[0], r[1] if len(r) > 1 else "", monthly("gcp", "ip")) for r in rows(out)]

        return [
            LeftoverQuery(
                Command(
                    (
                        "gcloud",
                        "container",
                        "clusters",
                        "list",
                        *p,
                        "--filter",
                        f"resourceLabels.pangeoctl={cfg.name}",
                        "--format",
                        "value(name,location)",
                    ),
                    why="GKE clusters",
                ),
                gke,
            ),
            LeftoverQuery(
                Command(
                    (
                        "gcloud",
                        "compute",
                        "disks",
                        "list",
                        *p,
                        "--filter",
                        f"labels.goog-k8s-cluster-name={cfg.name} OR labels.pangeoctl={cfg.name}",
                        "--format",
                        "value(name,zone,sizeGb)",
                    ),
                    why="disks",
                ),
                disks,
            ),
            LeftoverQuery(
                Command(
                    ("gcloud", "compute", "forwarding-rules", "list", *p, "--filter", f"description~{cfg.name}", "--format", "value(name,IPAddress)"),
                    why="load balancers",
                ),
                lbs,
            ),
            LeftoverQuery(
                Command(
                    (
                        "gcloud",
                        "compute",
                        "addresses",
                        "list",
                        *p,
                        "--filter",
                        f"labels.pangeoctl={cfg.name} OR description~{cfg.name}",
                        "--format",
                        "value(name,address)",
                    ),
                    why="IP addresses",
                ),
                ips,
            ),
            LeftoverQuery(
                Command(
                    ("gcloud", "storage", "buckets", "list", *p, "--filter", f"labels.pangeoctl={cfg.name}", "--format", "value(name,location)"),
                    why="buckets",
                ),
                buckets,
            ),
        ]

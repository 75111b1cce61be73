"""EKS through ``eksctl`` with a rendered ``ClusterConfig``, plus what EKS lacks out of the box: the
cluster-autoscaler (its own IAM role, scale-from-zero tags), a default gp3 StorageClass that tags its volumes,
Calico to enforce NetworkPolicies, and the NVIDIA device plugin on a GPU pool.

Home volumes are zonal EBS disks: the core pool (hub database) sits in one zone and every user-facing pool
(user, gpu) is one node group per zone, so the autoscaler can always add a node in the zone of the volume a
pending pod needs (cluster-autoscaler's AWS FAQ; ``balance-similar-node-groups`` keeps the groups even).
Pods cannot read the node's credentials: IMDS hop limit 1 (``disablePodIMDS``), and the autoscaler and the
EBS driver get their own roles through IRSA.
"""

from __future__ import annotations

import dataclasses
import json
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
    Scratch,
    diff_pool,
    load_balancer_address,
    monthly,
    nvidia_device_plugin,
    rows,
    scratch_service_account,
    spot_types,
    storage_class,
    tags,
)
from pangeoctl.config import Config, Pool
from pangeoctl.render.placement import PLACEMENT, pool_taints
from pangeoctl.runner import Command, Stdin

AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler"
AUTOSCALER_CHART_VERSION = "9.50.1"
AUTOSCALER_SA = "cluster-autoscaler"
# The VPC CNI enforces no NetworkPolicy by default, and with its policy agent on it skips pods without
# ownerReferences — JupyterHub's user pods have none. Calico in policy-only mode (EKS provider, Amazon VPC
# networking kept) enforces the hub's and the Dask pods' policies.
CALICO_CHART_REPO = "https://docs.tigera.io/calico/charts"
CALICO_CHART_VERSION = "v3.31.0"

# aws.nat (config) → eksctl's vpc.nat.gateway. "none": nodes sit in public subnets with public IPs.
NAT = {"single": "Single", "highly-available": "HighlyAvailable", "none": "Disable"}
ZONAL_ROLES = ("user", "gpu")  # pods that mount home volumes


def nat_mode(cfg: Config) -> str:
    # FIXME: read cfg.aws.nat directly once the config helper's field lands.
    return str(getattr(cfg.aws, "nat", "single") or "single")


def zones(cfg: Config) -> list[str]:
    """The availability zones the cluster uses: ``aws.zones`` when set, else the region's a, b and c."""
    assert cfg.aws is not None
    given = getattr(cfg.aws, "zones", None)
    return list(given) if given else [f"{cfg.aws.region}{s}" for s in "abc"]


def nat_gateways(cfg: Config) -> int:
    """How many NAT gateways eksctl creates (each ~$33/month plus data)."""
    mode = nat_mode(cfg)
    return 0 if mode == "none" else len(zones(cfg)) if mode == "highly-available" else 1


DISK_TAG = "pangeoctl.io/disk-gb"  # on each node group: its disk size, as `up` reads it back


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

    def groups(self, cfg: Config) -> list[tuple[str, str, Pool, list[str] | None, int, int]]:
        """(name, role, pool, zones or None for all, min, max) of every node group.

        Zonal roles get one group per zone with ``max_nodes`` shared out (the sum stays the cap; a cap
        below the number of zones uses that many zones) and ``min_nodes`` on the first zone; the core pool stays in the first zone with the hub's volume.
        """
        out: list[tuple[str, str, Pool, list[str] | None, int, int]] = []
        zs = zones(cfg)
        for role, pool in cfg.pools().items():
            if role in ZONAL_ROLES:
                # a pool capped below the number of zones uses only as many zones as it has nodes (EKS needs maxSize ≥ 1)
                n = min(len(zs), pool.max_nodes)
                for i, z in enumerate(zs[:n]):
                    share = pool.max_nodes // n + (1 if i < pool.max_nodes % n else 0)
                    lo = pool.min_nodes if i == 0 else 0
                    out.append((f"{role}-{z}", role, pool, [z], lo, max(share, lo)))
            elif role == "core":
                out.append((role, role, pool, [zs[0]], pool.min_nodes, pool.max_nodes))
            else:
                out.append((role, role, pool, None, pool.min_nodes, pool.max_nodes))
        return out

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.aws is not None
        private = nat_mode(cfg) != "none"
        groups = []
        for name, role, pool, zs, lo, hi in self.groups(cfg):
            labels = dict(PLACEMENT[role].labels)
            taints = pool_taints("aws", role, pool.spot)
            # Scale-from-zero: the autoscaler must know a node's labels and taints before one exists.
            asg_tags = {f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in labels.items()}
            asg_tags.update({f"k8s.io/cluster-autoscaler/node-template/taint/{t.key}": f"{t.value}:{t.effect}" for t in taints})
            asg_tags.update({"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cfg.name}": "owned", **tags(cfg)})
            asg_tags[DISK_TAG] = str(pool.disk_gb)  # the EKS API does not report a launch template's disk size
            group: dict[str, Any] = {
                "name": name,
                # spot: several equivalent types, so one type's spot capacity running out does not stop scaling
                "instanceTypes": list(spot_types("aws", pool.machine_type or "", pool.spot)),
                "spot": pool.spot,
                "minSize": lo,
                "maxSize": hi,
                "desiredCapacity": lo,
                "volumeSize": pool.disk_gb,
                "labels": labels,
                "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in taints],
                "tags": asg_tags,
                "propagateASGTags": True,
                "privateNetworking": private,
                # IMDSv2 only, hop limit 1: pods (one hop further) cannot reach the node's credentials
                "disableIMDSv1": True,
                "disablePodIMDS": True,
            }
            if zs is not None:
                group["availabilityZones"] = zs
            groups.append(group)
        return "cluster.yaml", {
            "apiVersion": "eksctl.io/v1alpha5",
            "kind": "ClusterConfig",
            "metadata": {"name": cfg.name, "region": cfg.aws.region, "version": cfg.cluster.kubernetes_version, "tags": tags(cfg)},
            # EXTENDED support bills six times the control plane once a version ages out.
            "upgradePolicy": {"supportType": "STANDARD"},
            "availabilityZones": zones(cfg),
            "vpc": {"nat": {"gateway": NAT[nat_mode(cfg)]}},
            "iam": {
                "withOIDC": True,
                # IRSA: the autoscaler's own role (node roles get no autoscaling rights)
                "serviceAccounts": [
                    {"metadata": {"name": AUTOSCALER_SA, "namespace": "kube-system"}, "wellKnownPolicies": {"autoScaler": True}},
                    *self._scratch_account(cfg),
                ],
            },
            "addons": [
                {"name": "aws-ebs-csi-driver", "wellKnownPolicies": {"ebsCSIController": True}},  # IRSA role for the driver
                {"name": "vpc-cni"},
                {"name": "coredns"},
                {"name": "kube-proxy"},
            ],
            "managedNodeGroups": groups,
        }

    def versions_probe(self, cfg: Config) -> Command | None:
        assert cfg.aws is not None
        return Command(
            ("aws", "eks", "describe-cluster-versions", "--region", cfg.aws.region, "--output", "json"),
            why="Kubernetes versions EKS offers",
            env=self._env(cfg),
        )

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.aws is not None
        region = ("--region", cfg.aws.region)
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
                ("eksctl", "create", "cluster", "-f", str(spec_path), "--without-nodegroup", "--kubeconfig", str(handle.kubeconfig)),
                why="create the EKS cluster",
                env=self._env(cfg),
                unless=("eksctl", "get", "cluster", "--name", cfg.name, *region),
            )
        )
        for name, *_ in self.groups(cfg):
            cmds.append(self._create_group(cfg, spec_path, name))
        return cmds

    def _create_group(self, cfg: Config, spec_path: Path, name: str) -> Command:
        assert cfg.aws is not None
        return Command(
            ("eksctl", "create", "nodegroup", "-f", str(spec_path), "--include", name),
            why=f"add the {name} node group",
            env=self._env(cfg),
            unless=("eksctl", "get", "nodegroup", "--cluster", cfg.name, "--region", cfg.aws.region, "--name", name),
        )

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        assert cfg.aws is not None
        sc = storage_class("ebs.csi.aws.com", {"type": "gp3", "tagSpecification_1": f"pangeoctl={cfg.name}"}, default=True)
        cmds = [
            Command(
                ("eksctl", "utils", "write-kubeconfig", "--cluster", cfg.name, "--region", cfg.aws.region, "--kubeconfig", str(handle.kubeconfig)),
                why="write the kubeconfig",
                env=self._env(cfg),
            ),
            Command(
                ("kubectl", *handle.kubectl(), "apply", "-f", "-"),
                why=f"default gp3 StorageClass {STORAGE_CLASS} for home volumes (tagged for this platform)",
                stdin=Stdin(f"StorageClass {STORAGE_CLASS} (default)", lambda: sc),
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
                    "rbac.serviceAccount.create=false",
                    "--set",
                    f"rbac.serviceAccount.name={AUTOSCALER_SA}",
                    "--set",
                    "extraArgs.balance-similar-node-groups=true",
                    "--set",
                    "extraArgs.skip-nodes-with-local-storage=false",
                    "--wait",
                ),
                why="cluster-autoscaler (EKS has none built in), with its own IAM role",
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
        if "gpu" in cfg.pools():
            cmds.append(nvidia_device_plugin(handle, self._env(cfg)))
        return cmds

    # ------------------------------------------------------------ re-runs: changed node groups

    def pools_probe(self, cfg: Config) -> Command | None:
        assert cfg.aws is not None
        return Command(
            ("eksctl", "get", "nodegroup", "--cluster", cfg.name, "--region", cfg.aws.region, "--output", "json"),
            why="node groups as they run",
            env=self._env(cfg),
        )

    def pool_changes(self, cfg: Config, listing: str, *, spec_path: Path | None = None, details: dict[str, str] | None = None) -> list[PoolChange]:
        """Compare ``eksctl get nodegroup -o json`` with the groups pangeo.yaml wants (by name).

        eksctl reports sizes and instance types only; ``details`` (a group's ``aws eks describe-nodegroup``
        output, see :meth:`pool_steps`) adds its capacity type (spot) and disk size. A changed size is scaled
        in place; a changed type, spot or disk is a new group (managed node groups cannot change them): drain
        and delete it, then create it again. Groups pangeo.yaml no longer has are deleted.
        """
        have: dict[str, dict[str, Any]] = {g.get("Name", ""): g for g in json.loads(listing or "[]")}
        out = []
        wanted = self.groups(cfg)
        for w in wanted:
            if w[0] in have:
                change = self._group_change(cfg, w, have[w[0]], (details or {}).get(w[0]), spec_path)
                if change is not None:
                    out.append(change)
        names = {w[0] for w in wanted}
        out += [self._delete_group(cfg, name) for name in have if name and name not in names]
        return out

    def pool_steps(self, cfg: Config, spec_path: Path) -> list[Any]:
        """The node groups as they run (eksctl), then each wanted group's details (capacity type, disk) from
        the EKS API, and what changes — one read per group, so a group is judged on all it has."""
        from pangeoctl.targets.base import Read

        assert cfg.aws is not None
        probe = self.pools_probe(cfg)
        assert probe is not None
        wanted = self.groups(cfg)
        names = {w[0] for w in wanted}

        def each(listing: str) -> list[Any]:
            if not listing.strip():
                return []
            have: dict[str, dict[str, Any]] = {g.get("Name", ""): g for g in json.loads(listing)}
            gone = [self._delete_group(cfg, name) for name in have if name and name not in names]
            steps: list[Any] = [c for change in gone for c in change.commands]
            for w in wanted:
                if w[0] in have:
                    steps.append(self._judge(cfg, w, have[w[0]], spec_path))
            return steps

        def gone_told(listing: str) -> str | None:
            have = [g.get("Name", "") for g in json.loads(listing or "[]")] if listing.strip() else []
            return "\n".join(self._delete_group(cfg, n).describe() for n in have if n and n not in names) or None

        return [Read(dataclasses.replace(probe, read_only=True), tell=gone_told, follow=each)]

    def _judge(self, cfg: Config, wanted: Any, entry: dict[str, Any], spec_path: Path) -> Any:
        """Read one running group's details, then say and run what its change needs."""
        from pangeoctl.targets.base import Read

        def change(detail: str) -> PoolChange | None:
            return self._group_change(cfg, wanted, entry, detail or None, spec_path)

        def tell(detail: str) -> str | None:
            c = change(detail)
            return c.describe() if c else None

        def follow(detail: str) -> list[Command]:
            c = change(detail)
            return list(c.commands) if c else []

        return Read(self.describe_group(cfg, wanted[0]), tell=tell, follow=follow)

    def describe_group(self, cfg: Config, name: str) -> Command:
        assert cfg.aws is not None
        return Command(
            (
                "aws",
                "eks",
                "describe-nodegroup",
                "--cluster-name",
                cfg.name,
                "--nodegroup-name",
                name,
                "--region",
                cfg.aws.region,
                "--output",
                "json",
            ),
            why=f"node group {name} as it runs (capacity type, disk)",
            env=self._env(cfg),
            read_only=True,
        )

    def _delete_group(self, cfg: Config, name: str) -> PoolChange:
        assert cfg.aws is not None
        return PoolChange(
            name,
            "delete",
            ("no longer in pangeo.yaml",),
            (
                Command(
                    ("eksctl", "delete", "nodegroup", "--cluster", cfg.name, "--region", cfg.aws.region, "--name", name, "--drain", "--wait"),
                    why=f"remove the {name} node group",
                    env=self._env(cfg),
                ),
            ),
        )

    def _group_change(self, cfg: Config, wanted: Any, g: dict[str, Any], detail: str | None, spec_path: Path | None) -> PoolChange | None:
        assert cfg.aws is not None
        name, role, pool, _zs, lo, hi = wanted
        region = ("--region", cfg.aws.region)
        types = spot_types("aws", pool.machine_type or "", pool.spot)
        reported = tuple(t for t in str(g.get("InstanceType", "")).split(",") if t and t != "-")
        spot, disk = pool.spot, pool.disk_gb  # as wanted, unless the EKS API says otherwise
        if detail:
            ng = json.loads(detail).get("nodegroup") or {}
            spot = {"SPOT": True, "ON_DEMAND": False}.get(ng.get("capacityType", ""), spot)
            # eksctl gives managed groups a launch template, so the API's diskSize is empty; the size is in our tag.
            disk = int(ng.get("diskSize") or (ng.get("tags") or {}).get(DISK_TAG) or disk)
        o = ObservedPool(name, role, reported or types, int(g.get("MinSize", lo)), int(g.get("MaxSize", hi)), spot, disk)
        update, replace = diff_pool(pool.model_copy(update={"min_nodes": lo, "max_nodes": hi}), o, types)
        if replace:
            return PoolChange(
                name,
                "replace",
                tuple(update + replace),
                (
                    Command(
                        ("eksctl", "delete", "nodegroup", "--cluster", cfg.name, *region, "--name", name, "--drain", "--wait"),
                        why=f"drain and delete the {name} node group",
                        env=self._env(cfg),
                    ),
                    Command(
                        self._create_group(cfg, spec_path or Path("cluster.yaml"), name).argv,
                        why=f"recreate the {name} node group",
                        env=self._env(cfg),
                    ),
                ),
            )
        if update:
            scale = ("eksctl", "scale", "nodegroup", "--cluster", cfg.name, *region, "--name", name, "--nodes-min", str(lo), "--nodes-max", str(hi))
            return PoolChange(name, "update", tuple(update), (Command(scale, why=f"new size bounds for {name}", env=self._env(cfg)),))
        return None

    # ------------------------------------------------------------ users' scratch bucket

    def scratch(self, cfg: Config) -> Scratch | None:
        return Scratch(f"s3://{cfg.scratch_bucket}") if cfg.scratch_bucket else None

    @staticmethod
    def _scratch_account(cfg: Config) -> list[dict[str, Any]]:
        """IRSA for users: eksctl makes the ServiceAccount and a role that may use only the scratch bucket."""
        if not cfg.scratch_bucket:
            return []
        arn = f"arn:aws:s3:::{cfg.scratch_bucket}"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": arn},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                    "Resource": f"{arn}/*",
                },
            ],
        }
        return [
            {
                "metadata": {"name": SCRATCH_SA, "namespace": cfg.name},
                "roleName": AWSCloud._scratch_role(cfg),
                "attachPolicy": policy,
                "tags": tags(cfg),
            }
        ]

    @staticmethod
    def _scratch_role(cfg: Config) -> str:
        """The IAM role users' pods take (role names are global to the account: the region keeps two platforms of
        the same name apart)."""
        assert cfg.aws is not None
        return f"{cfg.name}-scratch-{cfg.aws.region}"[:64]

    @staticmethod
    def lifecycle(days: int) -> dict[str, Any]:
        rule = {
            "ID": "expire-scratch",
            "Status": "Enabled",
            "Filter": {},
            "Expiration": {"Days": days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }
        return {"Rules": [rule]}

    def scratch_owned(self, cfg: Config) -> list[Owned]:
        assert cfg.aws is not None
        bucket, region, env = cfg.scratch_bucket, cfg.aws.region, self._env(cfg)
        if not bucket:
            return []
        role = self._scratch_role(cfg)
        return [
            Owned(f"users' scratch bucket s3://{bucket}", ("aws", "s3api", "list-buckets", "--query", f"Buckets[?Name=='{bucket}'].Name", "--output", "text"),
                  ("aws", "s3", "rb", f"s3://{bucket}", "--force", "--region", region), env, data=True),
            # eksctl made the role in a CloudFormation stack of its own: deleting the stack deletes the role.
            Owned(f"the IAM role {role} users acted as", ("aws", "iam", "list-roles", "--query", f"Roles[?RoleName=='{role}'].RoleName", "--output", "text"),
                  ("eksctl", "delete", "iamserviceaccount", "--cluster", cfg.name, "--region", region, "--namespace", cfg.name, "--name", SCRATCH_SA, "--wait"), env),
        ]  # fmt: skip

    def scratch_steps(self, cfg: Config, handle: ClusterHandle, where: Path) -> list[Any]:
        assert cfg.aws is not None
        bucket = cfg.scratch_bucket
        if not bucket:
            return []
        from pangeoctl.targets.base import Read, unreadable

        region, env = cfg.aws.region, self._env(cfg)
        role = Command(
            ("aws", "iam", "get-role", "--role-name", self._scratch_role(cfg), "--query", "Role.Arn", "--output", "text"),
            why="the scratch role",
            env=env,
            read_only=True,
        )

        def role_missing(out: str) -> str | None:
            if out.startswith("arn:"):
                return None
            return unreadable(f"the scratch role {self._scratch_role(cfg)}", role, out, "without it pods get no identity for the scratch bucket")

        def annotated(arn: str) -> list[Command]:
            return scratch_service_account(cfg, handle, {"eks.amazonaws.com/role-arn": arn.strip()}, env)

        # us-east-1 is S3's default location and refuses to be named as a LocationConstraint.
        located = () if region == "us-east-1" else ("--create-bucket-configuration", f"LocationConstraint={region}")
        tagging = "TagSet=[" + ",".join(f"{{Key={k},Value={v}}}" for k, v in tags(cfg).items()) + "]"
        return [
            Command(
                ("aws", "s3api", "create-bucket", "--bucket", bucket, "--region", region, *located),
                why=f"users' scratch bucket s3://{bucket}, in the cluster's region",
                unless=("aws", "s3api", "head-bucket", "--bucket", bucket, "--region", region),
                env=env,
            ),
            Command(("aws", "s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging", tagging), why="tag it for `down --verify`", env=env),
            Command(
                (
                    "aws",
                    "s3api",
                    "put-bucket-lifecycle-configuration",
                    "--bucket",
                    bucket,
                    "--lifecycle-configuration",
                    f"file://{where / SCRATCH_LIFECYCLE}",
                ),
                why=f"delete what is older than {cfg.hub.user_identity.expire_days} days",
                env=env,
            ),
            Command(
                (
                    "eksctl",
                    "create",
                    "iamserviceaccount",
                    "--config-file",
                    str(where / "cluster.yaml"),
                    "--include",
                    f"{cfg.name}/{SCRATCH_SA}",
                    "--approve",
                ),
                why=f"ServiceAccount {SCRATCH_SA} with a role that may use only that bucket (IRSA; kept when it exists)",
                env=env,
            ),
            # eksctl skips an account whose role exists, even when the ServiceAccount went with its namespace
            # (`down --purge`): make sure it is there, annotated with the role.
            Read(role, tell=role_missing, follow=annotated, shown=tuple(annotated("ROLE_ARN")), fatal=True, code=1),
        ]  # fmt: skip

    # ------------------------------------------------------------ HTTPS: the load balancer's name

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None:
        if not cfg.hub.domain:
            return None
        # AWS load balancers have names, not fixed IPs: the DNS record is a CNAME to this hostname, known
        # once the release's proxy-public Service has its load balancer.
        return load_balancer_address(cfg, handle, self._env(cfg))

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

    def destroys_data(self, cfg: Config) -> str | None:
        return "home and hub-database EBS volumes outlive the EKS cluster and keep billing until deleted (`down --purge` first, or delete them after `down --verify` lists them)"

    # ------------------------------------------------------------ teardown: what is left, priced

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        assert cfg.aws is not None
        region = ("--region", cfg.aws.region)
        env = self._env(cfg)

        from pangeoctl.cost import prices

        def volumes(out: str) -> list[Leftover]:
            return [Leftover("disk", r[0], r[1], monthly("aws", "disk_gb_month", float(r[2])), f"{r[2]} GB") for r in rows(out) if len(r) >= 3]

        def nats(out: str) -> list[Leftover]:
            return [
                Leftover(
                    "nat gateway", r[0], r[1] if len(r) > 1 else "", monthly("aws", "nat_gateway"), f"plus ${prices()['aws']['nat_gb']}/GB processed"
                )
                for r in rows(out)
            ]

        def tagged(out: str) -> list[Leftover]:
            found = []
            for arn in out.split():
                kind = arn.split(":")[5].split("/")[0] if arn.count(":") >= 5 else arn
                if kind == "loadbalancer":
                    # …:loadbalancer/NAME (classic) or …:loadbalancer/net|app/NAME/ID
                    parts = arn.split(":", 5)[5].split("/")
                    found.append(
                        Leftover(
                            "load balancer",
                            parts[2] if len(parts) >= 4 else parts[-1],
                            cfg.aws.region if cfg.aws else "",
                            monthly("aws", "load_balancer"),
                        )
                    )
                elif kind == "elastic-ip":
                    found.append(Leftover("ip", arn.rsplit("/", 1)[-1], cfg.aws.region if cfg.aws else "", monthly("aws", "ip")))
                elif arn.startswith("arn:aws:s3:::"):
                    found.append(Leftover("bucket", arn.split(":::", 1)[1], cfg.aws.region if cfg.aws else "", detail=SCRATCH_LEFT))
                elif arn.startswith("arn:aws:eks:") and kind == "cluster":  # a cluster whose deletion failed bills its control plane
                    found.append(Leftover("eks cluster", arn.rsplit("/", 1)[-1], cfg.aws.region if cfg.aws else "", monthly("aws", "control_plane")))
                elif kind not in ("volume", "natgateway"):  # those two are listed, with sizes, by their own queries
                    found.append(Leftover(kind, arn.rsplit("/", 1)[-1], cfg.aws.region if cfg.aws else ""))
            return found

        def tag_query(key: str, value: str, why: str) -> LeftoverQuery:
            return LeftoverQuery(
                Command(
                    (
                        "aws",
                        "resourcegroupstaggingapi",
                        "get-resources",
                        *region,
                        "--tag-filters",
                        f"Key={key},Values={value}",
                        "--query",
                        "ResourceTagMappingList[].ResourceARN",
                        "--output",
                        "text",
                    ),
                    why=why,
                    env=env,
                ),
                tagged,
            )

        return [
            LeftoverQuery(
                Command(
                    (
                        "aws",
                        "ec2",
                        "describe-volumes",
                        *region,
                        "--filters",
                        f"Name=tag:pangeoctl,Values={cfg.name}",
                        "--query",
                        "Volumes[].[VolumeId,AvailabilityZone,Size]",
                        "--output",
                        "text",
                    ),
                    why="EBS volumes",
                    env=env,
                ),
                volumes,
            ),
            LeftoverQuery(
                Command(
                    (
                        "aws",
                        "ec2",
                        "describe-nat-gateways",
                        *region,
                        "--filter",
                        f"Name=tag:alpha.eksctl.io/cluster-name,Values={cfg.name}",
                        "Name=state,Values=available,pending",
                        "--query",
                        "NatGateways[].[NatGatewayId,SubnetId]",
                        "--output",
                        "text",
                    ),
                    why="NAT gateways",
                    env=env,
                ),
                nats,
            ),
            # what Kubernetes made (load balancers, their IPs), then what eksctl and our StorageClass made
            tag_query(f"kubernetes.io/cluster/{cfg.name}", "owned", "resources tagged for this cluster"),
            tag_query("pangeoctl", cfg.name, "resources tagged for this platform"),
        ]

"""The ``Cloud`` contract: what every ``--cloud`` value must provide to host the platform.

Each module in this package implements it for one cloud. All methods are pure: they return the cluster
spec and the :class:`~pangeoctl.runner.Command` objects to run, and the caller hands those to a runner.
Where a plan depends on what already exists (a node pool that changed, resources left behind), the cloud
gives a read-only *probe* command and a pure function of that probe's output; the caller runs the probe.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pangeoctl.config import Config, Pool
from pangeoctl.runner import Command, Runner


@dataclass(frozen=True)
class ClusterHandle:
    """How later steps reach the cluster: a kubeconfig file of our own (never the user's default) and context."""

    kubeconfig: Path
    context: str | None = None

    def kubectl(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)] + (["--context", self.context] if self.context else [])

    def helm(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)] + (["--kube-context", self.context] if self.context else [])


@dataclass(frozen=True)
class ObservedPool:
    """A node pool as the cloud reports it, in the config's terms (``role`` is its ``pangeoctl.io/pool`` label)."""

    name: str
    role: str
    machine_types: tuple[str, ...]
    min_nodes: int
    max_nodes: int
    spot: bool
    disk_gb: int


@dataclass(frozen=True)
class PoolChange:
    """A node pool whose running shape differs from pangeo.yaml, and the commands that bring it there.

    ``action`` is ``update`` (changed in place: autoscaling bounds; on GKE also machine type and disk, by
    recreating the nodes one by one), ``replace`` (the cloud cannot change it in place — spot, or machine
    type and disk on EKS/AKS: the old pool is drained and deleted, then created anew, so that role has no
    nodes for a few minutes and its pods restart; homes are volumes and stay; AKS's core pool moves through a
    temporary System pool instead) or ``delete`` (a pool pangeo.yaml no longer has).
    """

    pool: str
    action: str
    changes: tuple[str, ...]
    commands: tuple[Command, ...]

    def describe(self) -> str:
        verb = "update in place" if self.action == "update" else "needs a new pool (drain, delete, create)"
        return f"{self.pool} pool: {', '.join(self.changes)} — {verb}"


# Users' scratch bucket (``hub.user_identity.scratch_bucket``): user servers and their Dask pods run as this
# ServiceAccount, which the cloud maps to an identity that may use that one bucket; users find it in $SCRATCH_BUCKET.
SCRATCH_SA = "pangeo-user"
SCRATCH_ENV = "SCRATCH_BUCKET"


@dataclass(frozen=True)
class Scratch:
    """How users reach their scratch bucket on one cloud (what the chart values need)."""

    url: str  # the bucket as fsspec reads it (gs://B, s3://B, az://C); each user's prefix is added to it
    env: dict[str, str] = field(default_factory=dict)  # more variables the storage library needs (Azure: the account)
    pod_labels: dict[str, str] = field(default_factory=dict)  # on user and Dask pods (Azure's identity webhook)
    metadata_server: bool = False  # pods get their identity from the metadata server (GKE Workload Identity)


@dataclass(frozen=True)
class Owned:
    """A resource ``up`` made beside the cluster that ``down --purge`` deletes: ``probe`` is a listing that prints
    its name when it is there and nothing when it is not (it fails only when it cannot look); ``delete``
    removes it. ``data``: it holds users' files."""

    what: str
    probe: tuple[str, ...]
    delete: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    data: bool = False


@dataclass(frozen=True)
class Leftover:
    """A billable resource still tagged for this deployment, with what it costs per month (None: not priced)."""

    kind: str  # disk, ip, load balancer, nat gateway, cluster, …
    name: str
    where: str = ""
    monthly: float | None = None
    detail: str = ""

    def line(self) -> str:
        where = f" ({self.where})" if self.where else ""
        detail = f", {self.detail}" if self.detail else ""
        price = f": ~${self.monthly:,.2f}/month" if self.monthly is not None else ""
        return f"{self.kind} {self.name}{where}{detail}{price}"


@dataclass(frozen=True)
class LeftoverQuery:
    """A read-only listing command and the pure function that turns its stdout into :class:`Leftover` rows."""

    command: Command
    parse: Callable[[str], list[Leftover]]


class Cloud(Protocol):
    """One place a Kubernetes cluster can come from.

    ``tools`` are the CLIs it needs (checked before anything runs). ``spec`` is the declarative cluster
    description written by ``render`` (file name, document). ``create`` makes the cluster and each node
    pool if it does not exist (each command carries an ``unless`` probe, so a second ``up`` skips it);
    ``credentials`` writes the handle's kubeconfig and installs what the cluster lacks (storage class,
    autoscaler, device plugin…); ``delete`` removes the cluster; ``leftovers`` lists billable resources
    still tagged for this deployment. ``owns_cluster`` is False for clouds that must never create or
    delete one.

    Added for re-runs, teardown and HTTPS (all pure; each probe is read-only and safe under dry-run):

    ``prepare(cfg)``
        Commands that must run before ``create`` (enable the cloud APIs the steps use). Idempotent.
    ``pools_probe(cfg)`` / ``pool_changes(cfg, listing, *, spec_path=None)``
        The probe lists the running node pools (JSON); ``pool_changes`` compares its output with pangeo.yaml
        and returns one :class:`PoolChange` per pool that differs — ``update`` or ``replace`` — whose
        commands ``up`` runs after ``create`` (``up --dry-run`` shows them). None/[] for clouds without pools.
    ``pool_steps(cfg, spec_path)``
        The plan's steps for that: by default one read of the probe; a cloud whose listing lacks a pool's
        details reads them per pool (EKS: capacity type and disk from the EKS API).
    ``versions_probe(cfg)``
        Asks the cloud which Kubernetes versions it offers; feed its stdout to
        :func:`pangeoctl.kube_versions.check_cli_listing` before ``create``. None when not applicable.
    ``reserve_address(cfg)`` / ``address_probe(cfg, handle)``
        HTTPS needs DNS before Let's Encrypt: GCP and Azure reserve a static IP (idempotent) that the proxy's
        LoadBalancer uses (``proxy.service.loadBalancerIP``), so a reinstall keeps it; the probe prints that
        address (AWS: the load balancer's hostname, known only after the release is installed). Give its
        stdout to :func:`dns_record` for the line to print.
    ``leftover_queries(cfg)``
        ``leftovers`` with a parser each: disks, IPs, load balancers, NAT gateways found by tag, priced
        per month from ``prices.yaml`` (see :func:`find_leftovers`).
    ``destroys_data(cfg)``
        What ``delete`` destroys or leaves billing, said before it runs (AKS deletes home disks with the
        node resource group; GKE/EKS leave them billing); None when nothing.
    ``scratch(cfg)`` / ``scratch_steps(cfg, handle, where)``
        Users' scratch bucket (``hub.user_identity.scratch_bucket``; None/[] when off): how pods reach it, and
        the steps that make the bucket (tagged, objects expiring; its lifecycle file written into ``where``), an
        identity allowed only that bucket, and the :data:`SCRATCH_SA` ServiceAccount mapped to it — run after
        the namespace exists, before the release. ``scratch_owned(cfg)``: the bucket and identity, for
        ``down --purge`` to delete.
    ``notes(cfg, handle)``
        Lines to show after ``up``: what the person must do or know (label nodes of an existing cluster,
        the kind URL).

    :func:`find_leftovers` runs the leftover listings through a runner; the other probes are plan steps.
    """

    name: str
    tools: tuple[str, ...]
    owns_cluster: bool

    def handle(self, cfg: Config, state: Path) -> ClusterHandle: ...

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]: ...

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]: ...

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]: ...

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]: ...

    def leftovers(self, cfg: Config) -> list[Command]: ...

    def prepare(self, cfg: Config) -> list[Command]: ...

    def pools_probe(self, cfg: Config) -> Command | None: ...

    def pool_changes(self, cfg: Config, listing: str, *, spec_path: Path | None = None) -> list[PoolChange]: ...

    def pool_steps(self, cfg: Config, spec_path: Path) -> list[Any]: ...

    def versions_probe(self, cfg: Config) -> Command | None: ...

    def reserve_address(self, cfg: Config) -> list[Command]: ...

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None: ...

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]: ...

    def destroys_data(self, cfg: Config) -> str | None: ...

    def notes(self, cfg: Config, handle: ClusterHandle) -> list[str]: ...

    def scratch(self, cfg: Config) -> Scratch | None: ...

    def scratch_steps(self, cfg: Config, handle: ClusterHandle, where: Path) -> list[Any]: ...

    def scratch_files(self, cfg: Config) -> dict[str, str]: ...

    def scratch_owned(self, cfg: Config) -> list[Owned]: ...


class Defaults:
    """Mixin: the added contract methods for clouds that have nothing to say there."""

    def prepare(self, cfg: Config) -> list[Command]:
        return []

    def pools_probe(self, cfg: Config) -> Command | None:
        return None

    def pool_changes(self, cfg: Config, listing: str, *, spec_path: Path | None = None) -> list[PoolChange]:
        return []

    def pool_steps(self, cfg: Config, spec_path: Path) -> list[Any]:
        """The pools probe as a read whose output plans the changes: a running pool whose shape changed is
        updated (or replaced) — never silently skipped."""
        from pangeoctl.targets.base import Read

        probe = self.pools_probe(cfg)
        if probe is None:
            return []

        def changes(out: str) -> list[PoolChange]:
            return self.pool_changes(cfg, out, spec_path=spec_path) if out.strip() else []

        return [
            Read(
                dataclasses.replace(probe, read_only=True),
                tell=lambda out: "\n".join(c.describe() for c in changes(out)) or None,
                follow=lambda out: [cmd for c in changes(out) for cmd in c.commands],
            )
        ]

    def versions_probe(self, cfg: Config) -> Command | None:
        return None

    def reserve_address(self, cfg: Config) -> list[Command]:
        return []

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None:
        return None

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        return []

    def leftovers(self, cfg: Config) -> list[Command]:
        return [q.command for q in self.leftover_queries(cfg)]

    def destroys_data(self, cfg: Config) -> str | None:
        return None

    def notes(self, cfg: Config, handle: ClusterHandle) -> list[str]:
        return []

    def scratch(self, cfg: Config) -> Scratch | None:
        return None

    def scratch_steps(self, cfg: Config, handle: ClusterHandle, where: Path) -> list[Any]:
        return []

    def lifecycle(self, days: int) -> dict[str, Any] | None:
        """The storage service's rule deleting objects ``days`` old (its own JSON), for a scratch bucket."""
        return None

    def scratch_files(self, cfg: Config) -> dict[str, str]:
        rule = self.lifecycle(cfg.hub.user_identity.expire_days) if cfg.scratch_bucket else None
        return {SCRATCH_LIFECYCLE: json.dumps(rule, indent=2) + "\n"} if rule else {}

    def scratch_owned(self, cfg: Config) -> list[Owned]:
        """The scratch bucket (with users' files in it) and its identity, as ``down --purge`` deletes them."""
        return []


SCRATCH_LIFECYCLE = "scratch-lifecycle.json"  # the bucket's expiry rule, written beside the plan
SCRATCH_LEFT = "users' scratch bucket: billed per GB stored until its objects expire or it is deleted"


def scratch_service_account(cfg: Config, handle: ClusterHandle, annotations: dict[str, str], env: dict[str, str] | None = None) -> list[Command]:
    """The :data:`SCRATCH_SA` ServiceAccount in the release's namespace, annotated with the cloud identity it maps to."""
    k, ns = ("kubectl", *handle.kubectl()), cfg.name
    return [
        Command(
            (*k, "create", "serviceaccount", SCRATCH_SA, "--namespace", ns),
            why=f"ServiceAccount {SCRATCH_SA}: users' servers and Dask pods run as it",
            unless=(*k, "get", "serviceaccount", SCRATCH_SA, "--namespace", ns),
            env=env or {},
        ),
        Command(
            (*k, "annotate", "serviceaccount", SCRATCH_SA, "--namespace", ns, "--overwrite", *(f"{a}={v}" for a, v in annotations.items())),
            why="map it to the identity that may use the scratch bucket",
            env=env or {},
        ),
    ]


class OwnKubeconfig(Defaults):
    """Mixin: clouds whose credentials go into ``<state>/kubeconfig``."""

    def handle(self, cfg: Config, state: Path) -> ClusterHandle:
        return ClusterHandle(state / "kubeconfig")


def labels_csv(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def tags(cfg: Config) -> dict[str, str]:
    """The tag/label every resource pangeoctl creates carries, so ``leftovers`` can find it."""
    return {"pangeoctl": cfg.name}


# The StorageClass every cloud's hub database and home volumes use: it tags the disks it creates, so a disk
# left after `down` is found by tag. The lead's values point `hub.db.pvc.storageClassName` and
# `singleuser.storage.dynamic.storageClass` at it.
STORAGE_CLASS = "pangeoctl"


def address_name(cfg: Config) -> str:
    """The static IP address reserved for the hub (GCP, Azure) — its DNS record points at it."""
    return f"{cfg.name}-hub"


def storage_class(provisioner: str, parameters: dict[str, str], *, default: bool = False) -> str:
    """A StorageClass manifest (YAML text) named :data:`STORAGE_CLASS`; disks bind where their pod lands."""
    annotations = '  annotations:\n    storageclass.kubernetes.io/is-default-class: "true"\n' if default else ""
    params = "".join(f"  {k}: {_yaml_str(v)}\n" for k, v in parameters.items())
    return (
        f"apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {STORAGE_CLASS}\n{annotations}"
        f"provisioner: {provisioner}\nvolumeBindingMode: WaitForFirstConsumer\nallowVolumeExpansion: true\nreclaimPolicy: Delete\n"
        f"parameters:\n{params}"
    )


def _yaml_str(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


# The NVIDIA device plugin, for clouds that do not run one on our GPU pool (EKS, AKS). Its chart tolerates
# only `nvidia.com/gpu` and requires NFD labels by default; the GPU pool also carries the user taint, so we
# pin it to the pool by label, drop the NFD affinity and tolerate every NoSchedule taint there (as GKE's own
# device plugin does).
NVIDIA_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
NVIDIA_PLUGIN_VERSION = "0.17.1"


def nvidia_device_plugin(handle: ClusterHandle, env: dict[str, str] | None = None) -> Command:
    from pangeoctl.render.placement import POOL_LABEL

    return Command(
        (
            "helm",
            "upgrade",
            "--install",
            "nvidia-device-plugin",
            "nvidia-device-plugin",
            "--repo",
            NVIDIA_PLUGIN_REPO,
            "--version",
            NVIDIA_PLUGIN_VERSION,
            "--namespace",
            "kube-system",
            *handle.helm(),
            "--set-json",
            f'nodeSelector={{"{POOL_LABEL}":"gpu"}}',
            "--set",
            "affinity=null",
            "--set-json",
            'tolerations=[{"operator":"Exists","effect":"NoSchedule"}]',
            "--wait",
        ),
        why="NVIDIA device plugin on the GPU pool (its chart's tolerations keep it off our tainted GPU nodes)",
        env=env or {},
    )


def diff_pool(want: Pool, have: ObservedPool, want_types: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(in-place changes, changes that need a new pool) between pangeo.yaml and a running pool."""
    update, replace = [], []
    if (have.min_nodes, have.max_nodes) != (want.min_nodes, want.max_nodes):
        update.append(f"nodes {have.min_nodes}–{have.max_nodes} → {want.min_nodes}–{want.max_nodes}")
    if tuple(have.machine_types) != tuple(want_types):
        replace.append(f"machine type {'/'.join(have.machine_types)} → {'/'.join(want_types)}")
    if have.spot != want.spot:
        replace.append(f"spot {str(have.spot).lower()} → {str(want.spot).lower()}")
    if have.disk_gb != want.disk_gb:
        replace.append(f"disk {have.disk_gb} GB → {want.disk_gb} GB")
    return update, replace


def load_balancer_address(cfg: Config, handle: ClusterHandle, env: dict[str, str] | None = None) -> Command:
    """Read-only: the proxy-public load balancer's address — its IP, or its hostname where the cloud names
    load balancers (AWS); empty before the release has made it."""
    ingress = ".status.loadBalancer.ingress[0]"
    return Command(
        (
            "kubectl",
            *handle.kubectl(),
            "get",
            "service",
            "proxy-public",
            "--namespace",
            cfg.name,
            "--ignore-not-found",
            "--output",
            f"jsonpath={{{ingress}.ip}}{{{ingress}.hostname}}",
        ),
        why="the hub's load balancer address",
        env=env or {},
    )


def dns_record(cfg: Config, address: str) -> str | None:
    """The DNS record to create for ``hub.domain``: an A record for an IP, a CNAME for a hostname (AWS)."""
    address = address.strip()
    if not cfg.hub.domain or not address:
        return None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return f"{cfg.hub.domain}. CNAME {address}."
    return f"{cfg.hub.domain}. A {address}"


def find_leftovers(cloud: Cloud, cfg: Config, runner: Runner) -> list[Leftover]:
    """Run the cloud's leftover listings (read-only, failures ignored) and collect the priced rows."""
    out: list[Leftover] = []
    for q in cloud.leftover_queries(cfg):
        res = runner.run(q.command, check=False)
        if res.returncode == 0 and res.stdout.strip():
            out += [x for x in q.parse(res.stdout) if all((x.kind, x.name) != (y.kind, y.name) for y in out)]  # two tags, one resource
    return out


def monthly(cloud: str, key: str, quantity: float = 1.0) -> float:
    """Monthly list price of ``quantity`` units of ``key`` (a per-hour or per-GB-month entry of prices.yaml)."""
    from pangeoctl.cost import HOURS_PER_MONTH, prices

    t = prices()[cloud]
    if key.endswith("_month"):
        return float(t[key]) * quantity
    return float(t[key]) * HOURS_PER_MONTH * quantity


def rows(stdout: str) -> list[list[str]]:
    """Tab-separated rows of a ``--output tsv`` / ``value(...)`` listing."""
    return [line.split("\t") for line in stdout.strip().splitlines() if line.strip()]


# Spot capacity of one VM type runs out; equivalent types (same vCPUs and memory, another family or
# generation) keep a spot pool scaling. First the configured type, then these, kept only when the shape
# matches exactly.
_SPOT_FAMILIES: dict[str, dict[str, tuple[str, ...]]] = {
    "gcp": {"n2": ("n2d",), "n2d": ("n2",), "e2": ("n2d",), "c3": ("c3d",), "c3d": ("c3",), "n4": ("n2",), "t2d": ("n2d",)},
    "aws": {"m": ("m6i", "m6a", "m5", "m7i"), "r": ("r6i", "r6a", "r5", "r7i"), "c": ("c6i", "c6a", "c5", "c7i"), "t": ("t3", "t3a")},
}


def spot_types(cloud: str, machine_type: str, spot: bool) -> tuple[str, ...]:
    """The machine types a pool uses: the configured one, plus equivalent types when the pool is spot."""
    import re

    from pangeoctl import machines

    if not spot:
        return (machine_type,)
    candidates: list[str] = []
    if cloud == "gcp":
        fam, _, rest = machine_type.partition("-")
        candidates = [f"{alt}-{rest}" for alt in _SPOT_FAMILIES["gcp"].get(fam, ())]
    elif cloud == "aws":
        m = re.fullmatch(r"([a-z]+\d+[a-z]*)\.(\w+)", machine_type)
        if m:
            candidates = [f"{fam}.{m.group(2)}" for fam in _SPOT_FAMILIES["aws"].get(machine_type[0], ())]
    elif cloud == "azure":
        m = re.fullmatch(r"Standard_([DEF])(\d+)s_v5", machine_type)
        if m:
            candidates = [f"Standard_{m.group(1)}{m.group(2)}as_v5", f"Standard_{m.group(1)}{m.group(2)}ds_v5"]
    try:
        shape = machines.lookup(cloud, machine_type)
    except machines.UnknownMachine:
        return (machine_type,)
    out = [machine_type]
    for c in candidates:
        try:
            alt = machines.lookup(cloud, c)
        except machines.UnknownMachine:
            continue
        if c not in out and (alt.cpu, alt.memory, alt.gpus) == (shape.cpu, shape.memory, shape.gpus):
            out.append(c)
    return tuple(out)


@dataclass(frozen=True)
class PoolPlan:
    """One cloud node pool to create: a role's pool, or one of a spot role's extra pools of another type."""

    name: str
    role: str
    machine_type: str
    min_nodes: int
    max_nodes: int
    pool: Pool


def split_pools(cfg: Config, cloud: str, name_for: Callable[[str, int], str]) -> list[PoolPlan]:
    """The node pools of each role, for clouds whose pools hold one machine type (GKE, AKS).

    A spot role gets one pool per equivalent type (:func:`spot_types`); its ``max_nodes`` is shared out
    (the sum stays the configured cap, so the cap on cost holds) and its ``min_nodes`` stays on the first.
    """
    out: list[PoolPlan] = []
    for role, pool in cfg.pools().items():
        types = spot_types(cloud, pool.machine_type or "", pool.spot)
        n = min(len(types), pool.max_nodes)
        for i, mt in enumerate(types[:n]):
            share = pool.max_nodes // n + (1 if i < pool.max_nodes % n else 0)
            out.append(PoolPlan(name_for(role, i), role, mt, pool.min_nodes if i == 0 else 0, max(share, pool.min_nodes if i == 0 else 0), pool))
    return out

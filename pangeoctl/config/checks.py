"""Problems that only show across fields, and whether every pod the platform starts can ever be scheduled.

Pure: the same config (and, for kind, the same host) always gives the same list. Each check returns
:class:`Problem` objects located by their ``path``; :mod:`pangeoctl.config.load` adds the lines.

The pod-fits-pool check (:func:`check_fit`) places each pod the release creates from pangeo.yaml — every
profile's user server, the Dask scheduler, each Dask worker option — on its pool and asks what the
scheduler will ask: do its requests fit a fresh node's allocatable resources once the pool's DaemonSets
have taken theirs, does it tolerate the pool's taints, and does a GPU it asks for exist (a GPU machine
with the device plugin running). Machine facts and formulas are in :mod:`pangeoctl.machines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pangeoctl import machines
from pangeoctl.config.errors import Problem
from pangeoctl.config.model import MANAGED_CLOUDS, Config, GitHubAuth
from pangeoctl.config.regions import check_region
from pangeoctl.units import format_memory

GIB = 1024**3


def check(cfg: Config, *, host: machines.Machine | None = None) -> list[Problem]:
    """Every cross-field problem of ``cfg``; ``host`` is kind's node (default: this computer)."""
    return _sections(cfg) + _auth(cfg) + _hub(cfg) + _pools(cfg) + check_fit(cfg, host=host)


def _sections(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    location = {"gcp": cfg.gcp, "aws": cfg.aws, "azure": cfg.azure, "existing": cfg.existing}
    if cfg.minikube is not None and cfg.cloud != "minikube":
        out.append(
            Problem(
                ("minikube",), f"section for cloud 'minikube' is ignored (cloud is {cfg.cloud!r}) — remove it or change `cloud:`", severity="warning"
            )
        )
    if cfg.cloud in location and location[cfg.cloud] is None:
        out.append(
            Problem(("cloud",), f"cloud is {cfg.cloud!r} but the `{cfg.cloud}:` section is missing — `pangeoctl init --cloud {cfg.cloud}` writes one")
        )
    for other, section in location.items():
        if section is not None and other != cfg.cloud:
            out.append(
                Problem(
                    (other,), f"section for cloud {other!r} is ignored (cloud is {cfg.cloud!r}) — remove it or change `cloud:`", severity="warning"
                )
            )
    where = {"gcp": (cfg.gcp, "region"), "aws": (cfg.aws, "region"), "azure": (cfg.azure, "location")}
    if cfg.cloud in where:
        section, field = where[cfg.cloud]
        found = check_region(cfg.cloud, getattr(section, field)) if section is not None else None
        if found:
            out.append(Problem((cfg.cloud, field), found[1], severity="error" if found[0] == "error" else "warning"))
    if cfg.cloud == "aws" and cfg.aws is not None:
        for i, zone in enumerate(cfg.aws.zones or []):
            if not (zone.startswith(cfg.aws.region) and len(zone) == len(cfg.aws.region) + 1 and zone[-1].isalpha()):
                out.append(
                    Problem(
                        ("aws", "zones", i),
                        f"{zone[:40]!r} is not a zone of {cfg.aws.region} — zones are the region and a letter, e.g. `{cfg.aws.region}a`",
                    )
                )
    if cfg.cloud == "gcp" and cfg.gcp is not None and cfg.gcp.zone and not cfg.gcp.zone.startswith(cfg.gcp.region + "-"):
        out.append(Problem(("gcp", "zone"), f"zone {cfg.gcp.zone!r} is not in region {cfg.gcp.region!r} — use e.g. `{cfg.gcp.region}-a`"))

    if cfg.budget is not None and cfg.cloud not in MANAGED_CLOUDS and cfg.cloud != "existing":
        out.append(Problem(("budget",), f"nothing bills on {cfg.cloud}: a budget needs a cloud (gcp, aws, azure) — remove `budget:`"))
    if cfg.budget is not None and cfg.cloud == "gcp" and cfg.gcp is not None and not cfg.gcp.billing_account:
        out.append(
            Problem(
                ("gcp", "billing_account"), "a budget on GCP belongs to a billing account — add `billing_account:` (gcloud billing accounts list)"
            )
        )
    if cfg.budget is not None and cfg.cloud == "aws" and cfg.aws is not None and not cfg.aws.account:
        out.append(Problem(("aws", "account"), "a budget on AWS belongs to an account — add `account:` (aws sts get-caller-identity)"))
    return out


def _auth(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        if not (auth.allowed_organizations or auth.allowed_users):
            out.append(
                Problem(
                    ("hub", "auth", "allowed_organizations"),
                    "GitHub login with no allow rule lets nobody in — list your organisation (or `org:team`) or `allowed_users`",
                )
            )
        # On `local` the callback is the platform's own loopback URL; a cluster needs its public name.
        if cfg.cloud != "local" and cfg.hub.domain is None:
            out.append(
                Problem(
                    ("hub", "auth", "type"),
                    "GitHub login needs the hub's public address for its callback (https://DOMAIN/hub/oauth_callback) — "
                    "set `hub.domain`, or use `type: shared-password`",
                )
            )
    elif cfg.cloud in MANAGED_CLOUDS and auth.allow_all:
        out.append(
            Problem(
                ("hub", "auth", "type"),
                f"a shared password with `allow_all` on a public {cfg.cloud} hub lets anyone with the password in — use `type: github` or set `allow_all: false` and list `users`",
            )
        )
    return out


def _hub(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    hub = cfg.hub
    if cfg.cloud == "local" and hub.domain is not None:
        out.append(Problem(("hub", "domain"), "the local platform listens on this machine only and gets no certificate — remove `domain:`"))
    elif hub.domain is not None and hub.https.enabled is False:
        out.append(
            Problem(("hub", "https", "enabled"), "a public domain with HTTPS off sends passwords and tokens in clear text — remove `enabled: false`")
        )
    if cfg.https_enabled and hub.domain is None:
        out.append(Problem(("hub", "https", "enabled"), "HTTPS needs `hub.domain` — set the DNS name of the hub"))
    if cfg.https_enabled and hub.domain is not None and not hub.https.contact_email and cfg.cloud != "local":
        out.append(Problem(("hub", "https", "contact_email"), "HTTPS with Let's Encrypt needs a contact e-mail — add `contact_email:`"))
    if hub.user_identity.scratch_bucket and cfg.cloud not in MANAGED_CLOUDS:
        out.append(
            Problem(
                ("hub", "user_identity", "scratch_bucket"),
                f"a scratch bucket needs a cloud's storage and identities (gcp, aws, azure), not {cfg.cloud}",
            )
        )
    elif hub.user_identity.scratch_bucket:
        out += _scratch_problems(cfg)

    defaults = [i for i, p in enumerate(hub.profiles) if p.default]
    if len(defaults) > 1:
        out.append(Problem(("hub", "profiles", defaults[1], "default"), "only one profile can be the default"))
    names = [p.name for p in hub.profiles]
    for i, n in enumerate(names):
        if n in names[:i]:
            out.append(Problem(("hub", "profiles", i, "name"), f"profile name {n[:40]!r} is used twice"))
    if cfg.cloud not in MANAGED_CLOUDS and cfg.cloud != "existing":
        for i, p in enumerate(hub.profiles):
            if p.gpu:
                out.append(
                    Problem(("hub", "profiles", i, "gpu"), f"{cfg.cloud} has no GPUs to give — remove `gpu:` (GPU profiles need gcp, aws or azure)")
                )
    return out


def _pools(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    if cfg.cloud not in MANAGED_CLOUDS:
        return out
    for name, pool in cfg.pools().items():
        if pool.min_nodes > pool.max_nodes:
            out.append(Problem(("cluster", "pools", name, "min_nodes"), f"min_nodes {pool.min_nodes} is above max_nodes {pool.max_nodes}"))
        if pool.spot and name in ("core", "user"):
            what = "the hub and proxy" if name == "core" else "notebooks and Dask schedulers"
            out.append(
                Problem(
                    ("cluster", "pools", name, "spot"), f"spot VMs are reclaimed at any time and would take {what} with them — remove `spot: true`"
                )
            )
    return out


# ---------------------------------------------------------------- pods vs pools


@dataclass(frozen=True)
class _Pod:
    path: tuple[str | int, ...]
    what: str
    pool: str
    cpu: float
    memory: int
    gpus: int = 0


# z2jh gives every user pod these tolerations (scheduling.userPods.tolerations), so user servers may run
# on nodes tainted for users.
_Z2JH_USER_TOLERATIONS = frozenset({("hub.jupyter.org/dedicated", "user", "NoSchedule"), ("hub.jupyter.org_dedicated", "user", "NoSchedule")})


def _pods(cfg: Config) -> list[_Pod]:
    pods = [
        _Pod(
            ("hub", "profiles", i),
            f"profile {p.name[:40]!r} ({p.cpu:g} CPU, {format_memory(p.memory)})",
            "gpu" if p.gpu else "user",
            p.cpu,
            p.memory,
            p.gpu,
        )
        for i, p in enumerate(cfg.hub.profiles)
    ]
    # CPU and memory are compared one by one, so each option paired with the other's smallest covers every pair.
    opts = cfg.dask.options
    least_mem, least_cores = min(opts.worker_memory), min(opts.worker_cores)
    pods += [
        _Pod(("dask", "options", "worker_cores", i), f"a Dask worker of {c:g} cores and {format_memory(least_mem)}", "worker", c, least_mem)
        for i, c in enumerate(opts.worker_cores)
    ]
    pods += [
        _Pod(("dask", "options", "worker_memory", i), f"a Dask worker of {least_cores:g} cores and {format_memory(m)}", "worker", least_cores, m)
        for i, m in enumerate(opts.worker_memory)
    ]
    from pangeoctl.wiring import SCHEDULER_CORES, SCHEDULER_MEMORY  # lazy: wiring imports this package

    pods.append(
        _Pod(("dask",), f"the Dask scheduler ({SCHEDULER_CORES:g} CPU, {format_memory(SCHEDULER_MEMORY)})", "user", SCHEDULER_CORES, SCHEDULER_MEMORY)
    )
    return pods


def _tolerations(cfg: Config, pod: _Pod) -> frozenset[tuple[str, str, str]]:
    from pangeoctl.render.placement import pod_rules  # lazy: render imports this package

    if pod.pool == "user" and pod.path[0] == "hub":
        return _Z2JH_USER_TOLERATIONS
    spot = cfg.pools()[pod.pool].spot
    return frozenset((t["key"], t["value"], t["effect"]) for t in pod_rules(cfg.cloud, pod.pool, spot)["tolerations"])


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def check_fit(cfg: Config, *, host: machines.Machine | None = None) -> list[Problem]:
    """Each pod the platform starts vs the allocatable resources, taints and GPUs of the pool it runs on.

    Managed clouds: a fresh node of the pool's machine type. minikube: the one node pangeoctl starts.
    kind: this computer, as a warning (the file may be checked on another machine than the one running kind).
    Existing clusters and the local platform are not checked (their nodes are not known offline).
    """
    if cfg.cloud in MANAGED_CLOUDS:
        return _fit_managed(cfg)
    if cfg.cloud in ("kind", "minikube"):
        node = _minikube_node(cfg) if cfg.cloud == "minikube" else host or machines.host_machine()
        return _fit_single_node(cfg, node, "error" if cfg.cloud == "minikube" else "warning")
    return []


def _minikube_node(cfg: Config) -> machines.Machine:
    """The VM `up` starts: its size is decided once, in clouds/minikube.py (``minikube:`` or sized for the default profile)."""
    from pangeoctl.clouds.minikube import sizing  # lazy: clouds import this package

    cpus, gib = sizing(cfg)
    return machines.Machine("the minikube node", cpus, gib * GIB)


def _fit_managed(cfg: Config) -> list[Problem]:
    from pangeoctl.render.placement import pool_taints  # lazy: render imports this package

    out: list[Problem] = []
    shapes: dict[str, machines.Machine] = {}
    for name, pool in cfg.pools().items():
        try:
            shapes[name] = machines.lookup(cfg.cloud, pool.machine_type or "")
        except machines.UnknownMachine as e:
            out.append(Problem(("cluster", "pools", name, "machine_type"), str(e)))
    gpu = shapes.get("gpu")
    if gpu is not None and gpu.gpus == 0:
        out.append(Problem(("cluster", "pools", "gpu", "machine_type"), f"{gpu.name} has no GPU — use a GPU machine type for the gpu pool"))
    for pod in _pods(cfg):
        if pod.pool == "gpu" and cfg.cluster.pools.gpu is None:
            out.append(Problem(pod.path + ("gpu",), "a GPU profile needs a `cluster.pools.gpu` pool — add one"))
            continue
        shape = shapes.get(pod.pool)
        if shape is None:
            continue
        pool = cfg.pools()[pod.pool]
        taints = pool_taints(cfg.cloud, pod.pool, pool.spot)
        untolerated = [t for t in taints if t.effect in ("NoSchedule", "NoExecute") and (t.key, t.value, t.effect) not in _tolerations(cfg, pod)]
        if untolerated:
            t = untolerated[0]
            out.append(
                Problem(
                    pod.path,
                    f"{pod.what} cannot run on the {pod.pool} pool: its nodes carry taint {t.key}={t.value}:{t.effect}, which the pod does not tolerate",
                )
            )
            continue
        if pod.gpus:
            if shape.gpus and pod.gpus > shape.gpus:
                out.append(
                    Problem(
                        pod.path + ("gpu",), f"{pod.gpus} GPUs asked, but a {shape.name} has {shape.gpus} — lower `gpu:` or use a bigger GPU machine"
                    )
                )
                continue
            plugin = machines.DEVICE_PLUGIN.get(cfg.cloud)
            keys = tuple(t.key for t in taints)
            if plugin is None:
                out.append(
                    Problem(
                        pod.path + ("gpu",),
                        f"no NVIDIA device plugin runs on {cfg.cloud}'s gpu pool, so its nodes offer no {machines.GPU_RESOURCE} and this profile never starts",
                    )
                )
                continue
            if plugin.tolerates is not None and not set(keys) <= set(plugin.tolerates):
                extra = sorted(set(keys) - set(plugin.tolerates))
                out.append(
                    Problem(
                        pod.path + ("gpu",),
                        f"the NVIDIA device plugin ({plugin.installed_by}) tolerates only {', '.join(plugin.tolerates)}, not the gpu pool's taint "
                        f"{', '.join(extra)}: its nodes offer no {machines.GPU_RESOURCE} and this profile never starts",
                    )
                )
                continue
        alloc = machines.allocatable(cfg.cloud, shape)
        ds = machines.daemonsets(cfg.cloud, pod.pool, tuple(t.key for t in taints))
        fix = f"shrink it or use a bigger `cluster.pools.{pod.pool}.machine_type`"
        out += _shortfall(pod, alloc, ds, f"the {pod.pool} pool's {shape.name}", fix, "error")
    worker = shapes.get("worker")
    if worker:
        capacity = worker.cpu * cfg.cluster.pools.worker.max_nodes
        if cfg.dask.limits.max_cores > capacity:
            out.append(
                Problem(
                    ("dask", "limits", "max_cores"),
                    f"{cfg.dask.limits.max_cores:g} cores per cluster is more than the worker pool can ever hold "
                    f"({cfg.cluster.pools.worker.max_nodes} × {worker.cpu} = {capacity}) — lower it or raise `cluster.pools.worker.max_nodes`",
                )
            )
    return out


def _fit_single_node(cfg: Config, node: machines.Machine, severity: str) -> list[Problem]:
    out: list[Problem] = []
    alloc = machines.allocatable(cfg.cloud, node)
    ds = machines.daemonsets(cfg.cloud, "user")
    for pod in _pods(cfg):
        if pod.gpus:
            continue  # refused in _hub: no GPUs on kind/minikube
        fix = (
            "shrink it or give the VM more with `minikube: {cpus: …, memory: …}`"
            if cfg.cloud == "minikube"
            else "shrink it, or run kind on a bigger machine"
        )
        out += _shortfall(pod, alloc, ds, node.name, fix, severity)
    return out


def _shortfall(pod: _Pod, alloc: machines.Allocatable, ds: tuple[machines.SystemPod, ...], where: str, fix: str, severity: str) -> list[Problem]:
    free_cpu = round(alloc.cpu - sum(d.cpu for d in ds), 3)
    free_mem = alloc.memory - sum(d.memory for d in ds)
    short = []
    if pod.cpu > free_cpu:
        short.append(f"{pod.cpu - free_cpu:.2f} CPU")
    if pod.memory > free_mem:
        short.append(f"{_gib(pod.memory - free_mem)} memory")
    if len(ds) + 1 > alloc.max_pods:
        short.append("pod slots")
    if not short:
        return []
    m = alloc.machine
    message = (
        f"{pod.what} does not fit {where} ({m.cpu} CPU, {_gib(m.memory)}): {free_cpu:g} CPU and {_gib(free_mem)} are left for pods "
        f"after kube-reserved, eviction threshold and {len(ds)} system pods — short by {' and '.join(short)}; {fix}"
    )
    return [Problem(pod.path, message, severity="warning" if severity == "warning" else "error")]


def _scratch_problems(cfg: Config) -> list[Problem]:
    name = cfg.scratch_bucket or ""
    where = ("hub", "user_identity", "bucket") if cfg.hub.user_identity.bucket else ("hub", "user_identity", "scratch_bucket")
    if cfg.cloud == "aws" and not name:
        return [Problem(where, "S3 bucket names are global: set `aws.account` (the bucket is then NAME-scratch-ACCOUNT) or `bucket:`")]
    if cfg.cloud == "azure" and not re.fullmatch(r"[a-z0-9]{3,24}", name):
        return [Problem(where, f"an Azure storage account name is 3–24 lowercase letters and digits (got {name!r}) — set `bucket:`")]
    if len(name) > 63 or ".." in name:
        return [Problem(where, f"bucket name {name!r} is longer than 63 characters — set a shorter `bucket:`")]
    return []

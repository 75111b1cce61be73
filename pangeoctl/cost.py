"""What the platform costs: always-on part, usage part, idle cost; data-proximity warnings.

Prices come from ``prices.yaml`` beside this module (source and date recorded there). Estimates are
list prices before discounts and taxes, without network egress except where the data-proximity warning
names it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pangeoctl import machines
from pangeoctl.config import MANAGED_CLOUDS, Config, Problem

HOURS_PER_MONTH = 730
WEEKS_PER_MONTH = 4.345
GIB = 1024**3


@cache
def prices() -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((Path(__file__).parent / "prices.yaml").read_text())


def hourly(cloud: str, machine_type: str, spot: bool = False) -> float:
    """List price per hour of one VM (spot: with the table's typical discount)."""
    table = prices()[cloud]
    m = machines.lookup(cloud, machine_type)
    if cloud == "gcp":
        fam = table["families"][machine_type.split("-")[0]]
        price = m.cpu * fam["vcpu"] + m.memory / GIB * fam["gib"] + m.gpus * fam.get("gpu", 0)
    elif cloud == "aws":
        price = m.cpu * table["families"][machine_type[0]]["vcpu"]
    else:
        series = "NC" if machine_type.startswith("Standard_NC") else machine_type.split("_")[1][0]
        price = m.cpu * table["families"][series]["vcpu"]
    return price * (1 - table["spot_discount"]) if spot else price


@dataclass
class Line:
    part: str  # "always-on" or "usage"
    item: str
    monthly: float
    detail: str


@dataclass
class Estimate:
    cloud: str
    lines: list[Line] = field(default_factory=list)
    per_user_hour: float = 0.0
    per_dask_core_hour: float = 0.0
    source: str = ""
    notes: list[str] = field(default_factory=list)  # what the numbers leave out or assume (GPUs, spot types, NAT data)

    @property
    def idle(self) -> float:
        return sum(line.monthly for line in self.lines if line.part == "always-on")

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "idle_monthly": round(self.idle, 2), "total_monthly": round(self.total, 2)}


def estimate(cfg: Config, *, users: int = 10, hours_per_week: float = 10, dask_core_hours: float = 500) -> Estimate:
    """Monthly estimate for ``users`` active users, each ``hours_per_week`` on the default profile, and
    ``dask_core_hours`` of Dask worker cores per month in all."""
    if cfg.cloud not in MANAGED_CLOUDS:
        raise ValueError(f"cost estimates cover gcp, aws and azure; {cfg.cloud!r} runs on hardware you already pay for")
    t = prices()[cfg.cloud]
    pools = cfg.pools()
    est = Estimate(cfg.cloud, source=f"{t['source']} (compiled {prices()['compiled']}, {t['region']})")
    cp = t["control_plane"] * HOURS_PER_MONTH
    if cfg.cloud == "gcp" and cfg.gcp and cfg.gcp.zone:
        cp = max(0.0, cp - t["zonal_credit_month"])
    est.lines.append(
        Line(
            "always-on",
            "control plane",
            cp,
            f"${t['control_plane']}/h" + (" less the zonal free-tier credit" if cfg.cloud == "gcp" and cfg.gcp and cfg.gcp.zone else ""),
        )
    )
    core = pools["core"]
    core_h = hourly(cfg.cloud, core.machine_type or "", core.spot)
    est.lines.append(
        Line(
            "always-on",
            "core pool",
            core.min_nodes * core_h * HOURS_PER_MONTH,
            f"{core.min_nodes} × {core.machine_type} at ${core_h:.4f}/h{_regional(cfg, core.min_nodes)}",
        )
    )
    est.lines.append(Line("always-on", "load balancer", t["load_balancer"] * HOURS_PER_MONTH, f"${t['load_balancer']}/h"))
    idle_disks = sum(p.min_nodes * p.disk_gb for p in pools.values())
    est.lines.append(Line("always-on", "node disks", idle_disks * t["disk_gb_month"], f"{idle_disks} GB at ${t['disk_gb_month']}/GB-month"))
    for name in ("user", "worker", "gpu"):
        pool = pools.get(name)
        if pool and pool.min_nodes:
            h = hourly(cfg.cloud, pool.machine_type or "", pool.spot)
            est.lines.append(
                Line(
                    "always-on",
                    f"{name} pool minimum",
                    pool.min_nodes * h * HOURS_PER_MONTH,
                    f"min_nodes {pool.min_nodes}{_gpus(cfg.cloud, pool.machine_type or '')}{_regional(cfg, pool.min_nodes)} — set 0 to scale to zero",
                )
            )
    if cfg.cloud == "aws":
        _aws_network(cfg, est)
    est.notes += _pool_notes(cfg)

    user = pools["user"]
    shape = machines.lookup(cfg.cloud, user.machine_type or "")
    node_h = hourly(cfg.cloud, user.machine_type or "", user.spot)
    prof = next((p for p in cfg.hub.profiles if p.default), cfg.hub.profiles[0])
    share = max(prof.cpu / shape.cpu, prof.memory / shape.memory)
    est.per_user_hour = node_h * share
    hours = users * hours_per_week * WEEKS_PER_MONTH
    est.lines.append(
        Line(
            "usage",
            "user servers",
            hours * est.per_user_hour,
            f"{users} users × {hours_per_week} h/week on {prof.name!r} ({share:.0%} of a {user.machine_type}) at ${est.per_user_hour:.4f}/h",
        )
    )
    worker = pools["worker"]
    wshape = machines.lookup(cfg.cloud, worker.machine_type or "")
    est.per_dask_core_hour = hourly(cfg.cloud, worker.machine_type or "", worker.spot) / wshape.cpu
    est.lines.append(
        Line(
            "usage",
            "Dask workers",
            dask_core_hours * est.per_dask_core_hour,
            f"{dask_core_hours:g} core-hours on {'spot ' if worker.spot else ''}{worker.machine_type} at ${est.per_dask_core_hour:.4f}/core-h",
        )
    )
    home_gb = users * cfg.hub.home_storage / GIB
    est.lines.append(Line("usage", "home directories", home_gb * t["disk_gb_month"], f"{users} × {cfg.hub.home_storage / GIB:g} GB"))
    return est


def _regional(cfg: Config, total: int) -> str:
    """How a GKE regional pool's count reads: totals over its zones (gcloud takes counts per zone)."""
    if cfg.cloud != "gcp":
        return ""
    from pangeoctl.clouds.gcp import zones

    n = zones(cfg)
    if n == 1:
        return ""
    per_zone = -(-total // n)
    start = f"; {per_zone * n} at creation ({per_zone} per zone), autoscaled down to {total}" if per_zone * n != total else ""
    return f" in total over {n} zones{start}"


def _gpus(cloud: str, machine_type: str) -> str:
    g = machines.lookup(cloud, machine_type).gpus
    return f" ({g} GPU{'s' if g > 1 else ''} each)" if g else ""


def _aws_network(cfg: Config, est: Estimate) -> None:
    """EKS's VPC: NAT gateways for private nodes (aws.nat), or public IPv4 addresses on every node without one."""
    from pangeoctl.clouds.aws import nat_gateways, nat_mode

    t = prices()["aws"]
    n = nat_gateways(cfg)
    if n:
        est.lines.append(
            Line(
                "always-on",
                "NAT gateway",
                n * t["nat_gateway"] * HOURS_PER_MONTH,
                f"{n} × ${t['nat_gateway']}/h (aws.nat: {nat_mode(cfg)}) plus ${t['nat_gb']}/GB the nodes pull through it",
            )
        )
        est.notes.append(
            f"NAT data: every image pull and every byte read from outside the VPC passes the NAT gateway at ${t['nat_gb']}/GB "
            "(a 5 GB user image on 10 new nodes is ~$2.25); S3 in the same region is free through a gateway endpoint"
        )
    else:
        nodes = sum(p.min_nodes for p in cfg.pools().values())
        est.lines.append(
            Line(
                "always-on", "node public IPs", nodes * t["ip"] * HOURS_PER_MONTH, f"aws.nat: none — {nodes} idle node(s) × ${t['ip']}/h public IPv4"
            )
        )


def _pool_notes(cfg: Config) -> list[str]:
    from pangeoctl.clouds.base import spot_types

    out = []
    for name, pool in cfg.pools().items():
        shape = machines.lookup(cfg.cloud, pool.machine_type or "")
        if shape.gpus:
            out.append(
                f"{name} pool: up to {pool.max_nodes} × {pool.machine_type} with {shape.gpus} GPU{'s' if shape.gpus > 1 else ''} each "
                f"= {pool.max_nodes * shape.gpus} GPUs at ${hourly(cfg.cloud, pool.machine_type or '', pool.spot):.2f}/node-hour"
            )
        types = spot_types(cfg.cloud, pool.machine_type or "", pool.spot)
        if len(types) > 1:
            out.append(
                f"{name} pool (spot) uses {', '.join(types)}: equivalent types keep it scaling when one runs out of spot capacity; "
                "their spot prices differ by type and day, so expect ±20 % around the estimate"
            )
    return out


def warnings(cfg: Config) -> list[Problem]:
    """Budget and data-proximity warnings for ``validate`` and ``up`` (paths point into pangeo.yaml)."""
    out: list[Problem] = []
    if cfg.cloud not in MANAGED_CLOUDS:
        return out
    if cfg.budget is not None:
        est = estimate(cfg)
        if est.idle > cfg.budget.monthly:
            out.append(
                Problem(
                    ("budget", "monthly"),
                    f"the idle platform alone costs ~${est.idle:,.0f}/month, above the budget of {cfg.budget.monthly:,.0f} {cfg.budget.currency}",
                    severity="warning",
                )
            )
        elif est.total > cfg.budget.monthly:
            out.append(
                Problem(
                    ("budget", "monthly"),
                    f"~${est.total:,.0f}/month at 10 users × 10 h/week and 500 Dask core-hours exceeds the budget of "
                    f"{cfg.budget.monthly:,.0f} {cfg.budget.currency} — see `pangeoctl cost`",
                    severity="warning",
                )
            )
    region = {
        "gcp": cfg.gcp.region if cfg.gcp else None,
        "aws": cfg.aws.region if cfg.aws else None,
        "azure": cfg.azure.location if cfg.azure else None,
    }[cfg.cloud]
    for i, name in enumerate(cfg.data):
        where = prices()["data"][name]
        if (where["cloud"], where["region"]) != (cfg.cloud, region):
            per_tb = prices()["egress_per_gb"][where["cloud"]] * 1024
            out.append(
                Problem(
                    ("data", i),
                    f"{name} lives in {where['cloud']} {where['region']}, not {cfg.cloud} {region}: reading it costs "
                    f"~${per_tb:,.0f} per TB in egress (and is slower) — put the platform in {where['region']} on {where['cloud']} to read it for free",
                    severity="warning",
                )
            )
    return out

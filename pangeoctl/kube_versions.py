"""Kubernetes versions: the one place the default version and what each cloud offers are written.

Pure data and pure functions (no pangeoctl imports), so the config model can take its default from here.

The table is dated: clouds add a minor version every ~4 months and retire one as often, so a table is only
right on the day it was read. ``up`` therefore also asks the cloud's own CLI (the command each Cloud's
``versions_probe`` builds) and :func:`check_cli_listing` reads its answer; the table is the offline answer
for ``validate`` and ``render``.

Read on 2026-12-03 from:

- GKE: release notes, "Current versions" table and the Regular channel feed
  (https://cloud.google.com/kubernetes-engine/docs/release-notes, feed entry of 2026-09-17: 1.35.8-gke.1036000 is
  the default for cluster creation in Regular; Regular offers 1.34 to 1.36). GKE publishes no per-minor end date
  on that page; ``up`` asks ``gcloud container get-server-config``.
- EKS: "Understand the Kubernetes version lifecycle on EKS", release calendar
  (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, and endoflife.date/amazon-eks):
  end of *standard* support 1.33 2026-07-29, 1.34 2026-12-02, 1.35 2027-03-27. We pin
  ``upgradePolicy.supportType: STANDARD`` (extended support bills six times the control plane), so only
  versions in standard support count as offered. Newer EKS minors were not in the pages read: ``up`` asks
  ``aws eks describe-cluster-versions``.
- AKS: "Supported Kubernetes versions in AKS", release calendar (ms.date 2026-08-05,
  https://learn.microsoft.com/azure/aks/supported-kubernetes-versions): GA until end of life 1.34 Nov 2026,
  1.35 Mar 2027, 1.36 Jun 2027, 1.37 Oct 2027 (a month means its last day). LTS needs the Premium tier;
  we create Free-tier clusters, so LTS does not count.

``DEFAULT`` is the version all three offer for a new cluster today: GKE's Regular default, in EKS standard
support until 2027-03-27 and AKS GA until 2027-03-31. (EKS and AKS may default to a newer minor; the pages
read do not say which, and 1.35 is the newest all three are known to offer.)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

CHECKED = dt.date(2026, 12, 3)  # the day the table below was read
DEFAULT = "1.35"  # the version a new cluster gets when pangeo.yaml names none


@dataclass(frozen=True)
class Offer:
    """What one cloud offers for new clusters: its default minor and the last day each minor is offered.

    ``default`` is the cloud's own default for a new cluster when the pages read say it (None: not stated
    there). ``until`` maps a minor version to the last day it is offered (None: offered, end not published).
    """

    default: str | None
    until: dict[str, dt.date | None] = field(default_factory=dict)
    source: str = ""


OFFERS: dict[str, Offer] = {
    "gcp": Offer(
        default="1.35",
        until={"1.34": None, "1.35": None, "1.36": None},
        source="GKE release notes, Regular channel (2026-09-17)",
    ),
    "aws": Offer(
        default=None,  # `create-cluster` without a version takes the newest; the calendar read stops at 1.35
        until={"1.33": dt.date(2026, 7, 29), "1.34": dt.date(2026, 12, 2), "1.35": dt.date(2027, 3, 27)},
        source="EKS Kubernetes release calendar (end of standard support)",
    ),
    "azure": Offer(
        default=None,  # the calendar does not say which GA version `az aks create` defaults to
        until={"1.34": dt.date(2026, 11, 30), "1.35": dt.date(2027, 3, 31), "1.36": dt.date(2027, 6, 30), "1.37": dt.date(2027, 10, 31)},
        source="AKS Kubernetes release calendar (GA end of life, 2026-08-05)",
    ),
}

_NAMES = {"gcp": "GKE", "aws": "EKS", "azure": "AKS"}


def _minor(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


def offered(cloud: str, version: str, today: dt.date = CHECKED) -> bool | None:
    """Whether ``cloud`` offers minor ``version`` for new clusters on ``today``, by the table.

    Returns None when the table cannot say: a cloud without a table (kind, minikube, existing), or a
    version newer than the newest the table knows (released after it was read: ask the CLI).
    """
    offer = OFFERS.get(cloud)
    if offer is None:
        return None
    if version in offer.until:
        until = offer.until[version]
        return until is None or today <= until
    newest = max(offer.until, key=_minor)
    return None if _minor(version) > _minor(newest) else False


def warning(cloud: str, version: str, today: dt.date = CHECKED) -> str | None:
    """A one-line warning when ``version`` is no longer offered by ``cloud`` on ``today``; None when fine or unknown.

    For the config checks (``cluster.kubernetes_version``): they pass the Site's ``today``.
    """
    if offered(cloud, version, today) is not False:
        return None
    offer = OFFERS[cloud]
    still = sorted((v for v in offer.until if offered(cloud, v, today)), key=_minor)
    until = offer.until.get(version)
    when = f" (offered until {until.isoformat()})" if until else ""
    choices = f"; it offers {', '.join(still)}" if still else ""
    return (
        f"{_NAMES[cloud]} no longer offers Kubernetes {version} for new clusters{when}{choices} — "
        f'use `kubernetes_version: "{offer.default or DEFAULT}"` (table read {CHECKED.isoformat()}; `up` asks the cloud)'
    )


def minors_from_cli(cloud: str, stdout: str) -> tuple[str | None, set[str]]:
    """(default minor, offered minors) from the JSON the cloud's ``versions_probe`` command printed.

    - gcp: ``gcloud container get-server-config --format=json`` → ``channels[]`` of the REGULAR channel
      (``defaultVersion``, ``validVersions``).
    - aws: ``aws eks describe-cluster-versions --output json`` → ``clusterVersions[]`` in ``STANDARD_SUPPORT``
      (``defaultVersion: true`` marks the default).
    - azure: ``az aks get-versions --output json`` → ``values[]`` without ``isPreview`` that have the
      ``KubernetesOfficial`` support plan (``isDefault`` marks the default).
    """
    data = json.loads(stdout or "{}")

    def mm(v: str) -> str:
        return ".".join(v.split("-")[0].split(".")[:2])

    if cloud == "gcp":
        for ch in data.get("channels", []):
            if ch.get("channel") == "REGULAR":
                default = ch.get("defaultVersion")
                return (mm(default) if default else None), {mm(v) for v in ch.get("validVersions", [])}
        return None, set()
    if cloud == "aws":
        rows = [r for r in data.get("clusterVersions", []) if r.get("status") == "STANDARD_SUPPORT"]
        default = next((r["clusterVersion"] for r in rows if r.get("defaultVersion")), None)
        return default, {r["clusterVersion"] for r in rows}
    if cloud == "azure":
        rows = [
            r
            for r in data.get("values", [])
            if not r.get("isPreview") and "KubernetesOfficial" in ((r.get("capabilities") or {}).get("supportPlan") or ["KubernetesOfficial"])
        ]
        default = next((mm(r["version"]) for r in rows if r.get("isDefault")), None)
        return default, {mm(r["version"]) for r in rows}
    return None, set()


def check_cli_listing(cloud: str, version: str, stdout: str) -> str | None:
    """What ``up`` says after asking the CLI: None when ``version`` is offered, else the line that stops it."""
    default, minors = minors_from_cli(cloud, stdout)
    if not minors or version in minors:
        return None
    suggestion = default or max(minors, key=_minor)
    return (
        f"{_NAMES.get(cloud, cloud)} does not offer Kubernetes {version} for new clusters here (it offers "
        f'{", ".join(sorted(minors, key=_minor))}) — set `cluster.kubernetes_version: "{suggestion}"`'
    )

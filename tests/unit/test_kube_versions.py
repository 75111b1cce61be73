"""The dated table of Kubernetes versions the clouds offer, and what `up` reads from their CLIs."""

from __future__ import annotations

import datetime as dt
import json

from pangeoctl import kube_versions as K


def test_default_is_offered_by_all_three_clouds_on_the_day_the_table_was_read():
    assert all(K.offered(cloud, K.DEFAULT, K.CHECKED) for cloud in ("gcp", "aws", "azure"))
    assert K.OFFERS["gcp"].default == K.DEFAULT  # GKE's Regular default; EKS/AKS defaults are not in the pages read


def test_a_version_past_its_end_warns_with_what_is_offered():
    assert K.offered("aws", "1.34", dt.date(2026, 12, 2)) is True
    assert K.offered("aws", "1.34", dt.date(2026, 12, 3)) is False
    assert K.warning("aws", "1.33", dt.date(2026, 12, 3)) == (
        'EKS no longer offers Kubernetes 1.33 for new clusters (offered until 2026-07-29); it offers 1.35 — use `kubernetes_version: "1.35"` '
        "(table read 2026-12-03; `up` asks the cloud)"
    )
    assert K.warning("azure", "1.34", dt.date(2026, 12, 3)).startswith("AKS no longer offers Kubernetes 1.34")
    assert K.warning("gcp", "1.35") is None


def test_versions_newer_than_the_table_or_clouds_without_one_are_not_judged():
    assert K.offered("aws", "1.37") is None and K.warning("aws", "1.37") is None
    assert K.offered("kind", "1.30") is None


def test_up_reads_the_clouds_own_answer():
    gke = json.dumps({"channels": [{"channel": "RAPID", "validVersions": ["1.37.1-gke.1"]}, {"channel": "REGULAR", "defaultVersion": "1.35.8-gke.1036000", "validVersions": ["1.36.2-gke.1", "1.35.8-gke.1036000", "1.34.9-gke.2"]}]})  # fmt: skip
    assert K.minors_from_cli("gcp", gke) == ("1.35", {"1.34", "1.35", "1.36"})
    assert K.check_cli_listing("gcp", "1.35", gke) is None
    assert K.check_cli_listing("gcp", "1.33", gke) == (
        'GKE does not offer Kubernetes 1.33 for new clusters here (it offers 1.34, 1.35, 1.36) — set `cluster.kubernetes_version: "1.35"`'
    )
    eks = json.dumps({"clusterVersions": [{"clusterVersion": "1.36", "status": "STANDARD_SUPPORT", "defaultVersion": True}, {"clusterVersion": "1.34", "status": "EXTENDED_SUPPORT"}]})  # fmt: skip
    assert K.minors_from_cli("aws", eks) == ("1.36", {"1.36"})
    aks = json.dumps({"values": [{"version": "1.36", "isDefault": True, "capabilities": {"supportPlan": ["KubernetesOfficial"]}}, {"version": "1.33", "capabilities": {"supportPlan": ["AKSLongTermSupport"]}}, {"version": "1.38", "isPreview": True}]})  # fmt: skip
    assert K.minors_from_cli("azure", aks) == ("1.36", {"1.36"})

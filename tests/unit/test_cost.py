"""Cost estimates from the price table, checked by hand; budget and data-proximity warnings."""

from __future__ import annotations

import pytest

from pangeoctl import config as C
from pangeoctl import cost
from tests.conftest import CONFIGS, ROOT


def test_gcp_example_by_hand():
    est = cost.estimate(C.load(ROOT / "deploy" / "gcp.yaml"))
    lines = {line.item: round(line.monthly, 2) for line in est.lines}
    # e2-standard-2 = 2 × 0.021811 + 8 GiB × 0.002923 = 0.067006 $/h; × 730 h
    assert lines["core pool"] == 48.91
    assert lines["control plane"] == 0.0  # zonal cluster: 73.00 less the 74.40 credit
    assert lines["load balancer"] == 18.25 and lines["node disks"] == 10.0
    assert round(est.idle, 2) == 77.16
    # n2-highmem-4 = 4 × 0.031611 + 32 × 0.004237 = 0.262028 $/h; 'Small' is half of it; 10 × 10 h × 4.345 weeks
    assert round(est.per_user_hour, 6) == 0.131014 and lines["user servers"] == 56.93
    # spot n2-standard-8 = 0.388472 × 0.30 / 8 cores = 0.014568 $/core-h × 500
    assert lines["Dask workers"] == 7.28
    assert round(est.total, 2) == 151.37


def test_aws_idle_by_hand():
    est = cost.estimate(C.load(ROOT / "deploy" / "aws.yaml"))
    # EKS 0.10 × 730 + t3.large 2 × 0.0416 × 730 + LB 0.0225 × 730 + 100 GB gp3 × 0.08 + one NAT gateway 0.045 × 730
    assert round(est.idle, 2) == round(73 + 60.736 + 16.425 + 8 + 32.85, 2)
    nat = next(line for line in est.lines if line.item == "NAT gateway")
    assert nat.part == "always-on" and nat.detail == "1 × $0.045/h (aws.nat: single) plus $0.045/GB the nodes pull through it"


def test_aws_nat_choice_changes_the_bill():
    text = (ROOT / "deploy" / "aws.yaml").read_text()
    ha = cost.estimate(C.load("x", text=text.replace('account: "012345678901"', 'account: "012345678901"\n  nat: highly-available')))
    assert round(next(x.monthly for x in ha.lines if x.item == "NAT gateway"), 2) == round(3 * 0.045 * 730, 2)
    none = cost.estimate(C.load("x", text=text.replace('account: "012345678901"', 'account: "012345678901"\n  nat: none')))
    assert not any(x.item == "NAT gateway" for x in none.lines)
    assert round(next(x.monthly for x in none.lines if x.item == "node public IPs"), 2) == round(1 * 0.005 * 730, 2)


def test_gpu_counts_and_spot_types_are_shown():
    from tests.conftest import CONFIGS

    est = cost.estimate(C.load(CONFIGS / "gcp.happy.regional-gpu.yaml"))
    assert any(n.startswith("gpu pool: up to 4 × g2-standard-8 with 1 GPU each = 4 GPUs at $") for n in est.notes)
    assert any(n.startswith("worker pool (spot) uses n2-highcpu-16, n2d-highcpu-16:") for n in est.notes)


def test_gke_regional_counts_are_totals():
    from tests.conftest import CONFIGS

    est = cost.estimate(C.load(CONFIGS / "gcp.happy.regional-gpu.yaml"))
    core = next(x for x in est.lines if x.item == "core pool")
    assert core.detail.endswith("in total over 3 zones; 3 at creation (1 per zone), autoscaled down to 1")


@pytest.mark.parametrize("name", ["gcp.yaml", "aws.yaml", "azure.yaml"])
def test_idle_cost_of_each_example_is_modest(name):
    est = cost.estimate(C.load(ROOT / "deploy" / name))
    assert 0 < est.idle < 200  # scale-to-zero pools: only the core node, LB and control plane stay on
    assert all(line.monthly == 0 or line.item != "worker pool minimum" for line in est.lines)


def test_usage_scales_with_users():
    cfg = C.load(ROOT / "deploy" / "gcp.yaml")
    a, b = cost.estimate(cfg, users=10), cost.estimate(cfg, users=20)
    # ten more users: their server hours and their 10 GB homes; the idle part does not move
    assert b.idle == a.idle
    assert round(b.total - a.total, 4) == round(0.131014 * 10 * 10 * 4.345 + 10 * 10 * 0.10, 4)


def test_budget_below_the_estimate_warns():
    text = (ROOT / "deploy" / "gcp.yaml").read_text().replace("gcp:\n", "gcp:\n  billing_account: 0X0X0X-0X0X0X-0X0X0X\n")
    text += "budget: {monthly: 100, alert_emails: [pi@lab.org]}\n"
    cfg = C.load("x", text=text)
    (w,) = cost.warnings(cfg)
    assert w.path == ("budget", "monthly") and w.message.startswith("~$151/month at 10 users")


def test_data_far_from_the_platform_warns_with_egress():
    text = (ROOT / "deploy" / "gcp.yaml").read_text() + "data: [landsat-c2-l2]\n"
    (w,) = cost.warnings(C.load("x", text=text))
    assert w.message.startswith("landsat-c2-l2 lives in aws us-west-2, not gcp us-west1: reading it costs ~$92 per TB in egress")
    aws = (ROOT / "deploy" / "aws.yaml").read_text() + "data: [landsat-c2-l2, sentinel-2-l2a]\n"
    assert cost.warnings(C.load("x", text=aws)) == []


def test_local_has_no_cloud_bill():
    with pytest.raises(ValueError, match="runs on hardware you already pay for"):
        cost.estimate(C.load(CONFIGS / "local.happy.yaml"))


def test_gcp_budget_needs_a_billing_account():
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=(ROOT / "deploy" / "gcp.yaml").read_text() + "budget: {monthly: 500, alert_emails: [a@b.org]}\n")
    assert [p.format("x") for p in info.value.problems] == [
        "x:6 gcp.billing_account: a budget on GCP belongs to a billing account — add `billing_account:` (gcloud billing accounts list)"
    ]

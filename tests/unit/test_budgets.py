"""Budget alerts: created once, amounts kept current, the right scope, and never a clock read."""

from __future__ import annotations

import datetime as dt
import json

from pangeoctl import config as C
from pangeoctl.budgets import budget_commands
from tests.conftest import ROOT

BUDGET = "budget: {monthly: 500, alert_emails: [pi@lab.org, ops@lab.org], thresholds: [0.5, 1.0]}\n"
TODAY = dt.date(2026, 11, 25)


def _cfg(example: str, extra: str = "") -> C.Config:
    return C.load("x", text=(ROOT / "deploy" / example).read_text() + extra)


def test_aws_budget_created_once_then_its_amount_updated():
    create, update = budget_commands(_cfg("aws.yaml", BUDGET), TODAY)
    assert create.argv[:5] == ("aws", "budgets", "create-budget", "--account-id", "012345678901")
    notes = json.loads(create.argv[create.argv.index("--notifications-with-subscribers") + 1])
    assert [n["Notification"]["Threshold"] for n in notes] == [50, 100]
    assert notes[0]["Subscribers"] == [
        {"SubscriptionType": "EMAIL", "Address": "pi@lab.org"},
        {"SubscriptionType": "EMAIL", "Address": "ops@lab.org"},
    ]
    assert create.unless == ("aws", "budgets", "describe-budget", "--account-id", "012345678901", "--budget-name", "pangeoctl-geo-lab")
    assert update.argv[:5] == ("aws", "budgets", "update-budget", "--account-id", "012345678901")
    assert json.loads(update.argv[-1])["BudgetLimit"] == {"Amount": "500", "Unit": "USD"}


def test_azure_budget_has_a_fixed_start_covers_the_node_group_and_updates_only_the_amount():
    create, update = budget_commands(_cfg("azure.yaml", BUDGET), TODAY)
    url = (
        "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Consumption/budgets/"
        "pangeoctl-geo-lab?api-version=2023-05-01"
    )
    assert create.argv[:6] == ("az", "rest", "--method", "put", "--url", url)
    # created once: a second month's `up` finds it and never sends a new start date (Azure answers 400 to that)
    assert create.unless == ("az", "rest", "--method", "get", "--url", url)
    body = json.loads(create.argv[-1])["properties"]
    assert body["timePeriod"]["startDate"] == "2026-11-01T00:00:00Z"
    assert body["filter"]["dimensions"] == {"name": "ResourceGroupName", "operator": "In", "values": ["geo-lab", "MC_geo-lab_geo-lab_westeurope"]}
    assert body["notifications"]["actual_100"]["contactEmails"] == ["pi@lab.org", "ops@lab.org"]
    assert update.argv == (
        "az",
        "resource",
        "update",
        "--ids",
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Consumption/budgets/pangeoctl-geo-lab",
        "--api-version",
        "2023-05-01",
        "--set",
        "properties.amount=500",
    )
    assert "timePeriod" not in " ".join(update.argv)


def test_azure_budget_needs_today_from_the_caller():
    assert budget_commands(_cfg("azure.yaml", BUDGET)) == []  # no date given: nothing planned, no clock read


def test_gcp_budget_names_its_quota_project_and_is_created_once():
    gcp = (ROOT / "deploy" / "gcp.yaml").read_text().replace("gcp:\n", "gcp:\n  billing_account: 0X0X0X-0X0X0X-0X0X0X\n") + BUDGET
    (g,) = budget_commands(C.load("x", text=gcp), TODAY)
    assert g.argv == (
        "gcloud",
        "billing",
        "budgets",
        "create",
        "--billing-account=0X0X0X-0X0X0X-0X0X0X",
        "--billing-project=geo-lab-123",
        "--display-name=pangeoctl-geo-lab",
        "--budget-amount=500USD",
        "--filter-projects=projects/geo-lab-123",
        "--threshold-rule=percent=0.5",
        "--threshold-rule=percent=1",
    )
    assert g.unless == (
        "gcloud",
        "billing",
        "budgets",
        "list",
        "--billing-account=0X0X0X-0X0X0X-0X0X0X",
        "--billing-project=geo-lab-123",
        "--filter=displayName=pangeoctl-geo-lab",
        "--format=value(name)",
    )
    assert g.unless_found and g.shell().startswith('[ -n "$(gcloud billing budgets list ')


def test_gcp_budget_amount_is_updated_by_the_id_the_listing_prints():
    from pangeoctl.budgets import gcp_budget_listing, gcp_budget_update

    gcp = (ROOT / "deploy" / "gcp.yaml").read_text().replace("gcp:\n", "gcp:\n  billing_account: 0X0X0X-0X0X0X-0X0X0X\n") + BUDGET
    cfg = C.load("x", text=gcp)
    assert gcp_budget_listing(cfg).argv == budget_commands(cfg, TODAY)[0].unless
    assert gcp_budget_update(cfg, "") is None  # not created yet: the create step makes it with the right amount
    update = gcp_budget_update(cfg, "billingAccounts/0X0X0X-0X0X0X-0X0X0X/budgets/4a5b\n")
    assert update.argv == (
        "gcloud",
        "billing",
        "budgets",
        "update",
        "billingAccounts/0X0X0X-0X0X0X-0X0X0X/budgets/4a5b",
        "--billing-account=0X0X0X-0X0X0X-0X0X0X",
        "--billing-project=geo-lab-123",
        "--budget-amount=500USD",
    )

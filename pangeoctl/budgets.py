"""`budget:` → the cloud's own budget alert, as commands for the plan. Budgets alert; they never cap spend.

Every budget is created once (a probe skips the creation on re-runs) and its amount is brought to the
configured one on every ``up`` (on GCP through :func:`gcp_budget_update`, which needs the listing's output). Nothing here reads the clock: the caller passes ``today`` (the Site's).
"""

from __future__ import annotations

import datetime as dt
import json

from pangeoctl.config import Config
from pangeoctl.runner import Command

AZURE_API = "2023-05-01"


def budget_name(cfg: Config) -> str:
    return f"pangeoctl-{cfg.name}"


def azure_budget_id(cfg: Config) -> str:
    """The budget's resource ID: subscription scope, so it can filter on two resource groups."""
    assert cfg.azure is not None
    return f"/subscriptions/{cfg.azure.subscription}/providers/Microsoft.Consumption/budgets/{budget_name(cfg)}"


def budget_commands(cfg: Config, today: dt.date | None = None) -> list[Command]:
    """The budget's commands. ``today`` (the Site's date) fixes an Azure budget's start month when it is created;
    without it an Azure budget is not planned (a plan never reads the clock)."""
    b = cfg.budget
    if b is None:
        return []
    name = budget_name(cfg)
    if cfg.cloud == "aws" and cfg.aws is not None and cfg.aws.account:
        budget = {"BudgetName": name, "BudgetLimit": {"Amount": f"{b.monthly:g}", "Unit": b.currency}, "TimeUnit": "MONTHLY", "BudgetType": "COST"}
        notes = [
            {
                "Notification": {
                    "NotificationType": "ACTUAL",
                    "ComparisonOperator": "GREATER_THAN",
                    "Threshold": round(t * 100, 2),
                    "ThresholdType": "PERCENTAGE",
                },
                "Subscribers": [{"SubscriptionType": "EMAIL", "Address": e} for e in b.alert_emails],
            }
            for t in b.thresholds
        ]
        acct = ["--account-id", cfg.aws.account]
        env = {"AWS_PROFILE": cfg.aws.profile} if cfg.aws.profile else {}
        return [
            Command(
                ("aws", "budgets", "create-budget", *acct, "--budget", json.dumps(budget), "--notifications-with-subscribers", json.dumps(notes)),
                why="monthly budget alert (whole account)",
                env=env,
                unless=("aws", "budgets", "describe-budget", *acct, "--budget-name", name),
            ),
            Command(
                ("aws", "budgets", "update-budget", *acct, "--new-budget", json.dumps(budget)),
                why=f"budget amount {b.monthly:g} {b.currency}",
                env=env,
            ),
        ]
    if cfg.cloud == "azure" and cfg.azure is not None:
        if today is None:
            return []
        from pangeoctl.clouds.azure import node_resource_group

        # Azure refuses a budget whose start date changes, and a new one must start this month: the start is
        # set once, at creation; later runs change only the amount (`az resource update` reads the budget,
        # sets the amount and writes it back with its eTag, so the start date stays).
        start = today.replace(day=1)
        body = {
            "properties": {
                "category": "Cost",
                "amount": b.monthly,
                "timeGrain": "Monthly",
                "timePeriod": {"startDate": f"{start.isoformat()}T00:00:00Z"},
                # the cluster's group and the node resource group (MC_…), where the VMs and disks bill
                "filter": {
                    "dimensions": {"name": "ResourceGroupName", "operator": "In", "values": [cfg.azure.resource_group, node_resource_group(cfg)]}
                },
                "notifications": {
                    f"actual_{int(t * 100)}": {
                        "enabled": True,
                        "operator": "GreaterThan",
                        "threshold": round(t * 100, 2),
                        "contactEmails": b.alert_emails,
                    }
                    for t in b.thresholds
                },
            }
        }
        url = f"https://management.azure.com{azure_budget_id(cfg)}?api-version={AZURE_API}"
        # `az consumption budget create` cannot attach notifications; the REST call can.
        return [
            Command(
                ("az", "rest", "--method", "put", "--url", url, "--body", json.dumps(body)),
                why="monthly budget alert (the cluster's and its node resource group), created once",
                unless=("az", "rest", "--method", "get", "--url", url),
            ),
            Command(
                ("az", "resource", "update", "--ids", azure_budget_id(cfg), "--api-version", AZURE_API, "--set", f"properties.amount={b.monthly:g}"),
                why=f"budget amount {b.monthly:g} {b.currency}",
            ),
        ]
    if cfg.cloud == "gcp" and cfg.gcp is not None and cfg.gcp.billing_account:
        # The Budgets API bills its quota to a project: ours (its billingbudgets API is enabled by the GCP prepare step).
        common = [f"--billing-account={cfg.gcp.billing_account}", f"--billing-project={cfg.gcp.project}"]
        argv = [
            "gcloud",
            "billing",
            "budgets",
            "create",
            *common,
            f"--display-name={name}",
            f"--budget-amount={b.monthly:g}{b.currency}",
            f"--filter-projects=projects/{cfg.gcp.project}",
        ]
        argv += [f"--threshold-rule=percent={t:g}" for t in b.thresholds]
        # GCP mails billing admins and users of the account; other addresses need Monitoring channels.
        # `create` would add a second budget of the same name on a re-run: skip it when one is listed.
        probe = gcp_budget_listing(cfg)
        assert probe is not None
        listing = probe.argv
        why = f"monthly budget alert (project; mails the billing account's admins — add {', '.join(b.alert_emails)} there)"
        # A changed amount: `budgets update` takes the budget's ID, which only the listing prints — see
        # gcp_budget_listing / gcp_budget_update (the caller runs the listing, then the update).
        return [Command(tuple(argv), why=why, unless=listing, unless_found=True)]
    return []


def gcp_budget_listing(cfg: Config) -> Command | None:
    """Read-only: the resource name of this platform's GCP budget (``billingAccounts/…/budgets/…``), if any."""
    if cfg.budget is None or cfg.cloud != "gcp" or cfg.gcp is None or not cfg.gcp.billing_account:
        return None
    return Command(
        (
            "gcloud",
            "billing",
            "budgets",
            "list",
            f"--billing-account={cfg.gcp.billing_account}",
            f"--billing-project={cfg.gcp.project}",
            f"--filter=displayName={budget_name(cfg)}",
            "--format=value(name)",
        ),
        why="this platform's budget",
    )


def gcp_budget_update(cfg: Config, listing: str) -> Command | None:
    """The command that sets the GCP budget's amount, given what :func:`gcp_budget_listing` printed (None: no budget yet)."""
    names = listing.split()
    if cfg.budget is None or cfg.gcp is None or not names:
        return None
    b = cfg.budget
    return Command(
        (
            "gcloud",
            "billing",
            "budgets",
            "update",
            names[0],
            f"--billing-account={cfg.gcp.billing_account}",
            f"--billing-project={cfg.gcp.project}",
            f"--budget-amount={b.monthly:g}{b.currency}",
        ),
        why=f"budget amount {b.monthly:g} {b.currency}",
    )

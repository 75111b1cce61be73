"""`budget:` → the cloud's own budget alert, as commands for the plan. Budgets alert; they never cap spend."""

from __future__ import annotations

import datetime as dt
import json

from pangeoctl.config import Config
from pangeoctl.runner import Command


def budget_commands(cfg: Config, today: dt.date | None = None) -> list[Command]:
    b = cfg.budget
    if b is None:
        return []
    name = f"pangeoctl-{cfg.name}"
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
        return [
            Command(
                ("aws", "budgets", "create-budget", *acct, "--budget", json.dumps(budget), "--notifications-with-subscribers", json.dumps(notes)),
                why="monthly budget alert (whole account)",
                env={"AWS_PROFILE": cfg.aws.profile} if cfg.aws.profile else {},
                unless=("aws", "budgets", "describe-budget", *acct, "--budget-name", name),
            )
        ]
    if cfg.cloud == "azure" and cfg.azure is not None:
        start = (today or dt.date.today()).replace(day=1)
        body = {
            "properties": {
                "category": "Cost",
                "amount": b.monthly,
                "timeGrain": "Monthly",
                "timePeriod": {"startDate": f"{start.isoformat()}T00:00:00Z"},
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
        url = (
            f"https://management.azure.com/subscriptions/{cfg.azure.subscription}/resourceGroups/{cfg.azure.resource_group}"
            f"/providers/Microsoft.Consumption/budgets/{name}?api-version=2023-05-01"
        )
        # `az consumption budget create` cannot attach notifications; the REST call can (PUT: create or update).
        return [Command(("az", "rest", "--method", "put", "--url", url, "--body", json.dumps(body)), why="monthly budget alert (resource group)")]
    if cfg.cloud == "gcp" and cfg.gcp is not None and cfg.gcp.billing_account:
        argv = [
            "gcloud",
            "billing",
            "budgets",
            "create",
            f"--billing-account={cfg.gcp.billing_account}",
            f"--display-name={name}",
            f"--budget-amount={b.monthly:g}{b.currency}",
            f"--filter-projects=projects/{cfg.gcp.project}",
        ]
        argv += [f"--threshold-rule=percent={t:g}" for t in b.thresholds]
        # GCP mails billing admins and users of the account; other addresses need Monitoring channels.
        # `create` would add a second budget of the same name on a re-run: skip it when one is listed.
        listing = (
            "gcloud",
            "billing",
            "budgets",
            "list",
            f"--billing-account={cfg.gcp.billing_account}",
            f"--filter=displayName={name}",
            "--format=value(name)",
        )
        why = f"monthly budget alert (project; mails the billing account's admins — add {', '.join(b.alert_emails)} there)"
        return [Command(tuple(argv), why=why, unless=listing, unless_found=True)]
    return []

"""What this machine has for each cloud: tools present, their versions, logged in or not, and the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pangeoctl import clouds
from pangeoctl.runner import Command, Runner, install_hint

VERSION = {
    "gcloud": ("gcloud", "version", "--format=value(core)"),
    "gke-gcloud-auth-plugin": ("gke-gcloud-auth-plugin", "--version"),
    "aws": ("aws", "--version"),
    "eksctl": ("eksctl", "version"),
    "az": ("az", "version", "--query", '"azure-cli"', "--output", "tsv"),
    "kind": ("kind", "version"),
    "minikube": ("minikube", "version", "--short"),
    "kubectl": ("kubectl", "version", "--client"),
    "helm": ("helm", "version", "--short"),
}
# Oldest versions that work with what pangeoctl runs (tool → (minimum, why)); Helm 4 is fine.
MINIMUM = {"helm": ((3, 13), "Helm ≥ 3.13 or Helm 4 — https://helm.sh/docs/intro/install/")}

LOGIN = {
    "gcloud": (("gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"), "gcloud auth login"),
    "aws": (("aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"), "aws sso login (or aws configure)"),
    "az": (("az", "account", "show", "--query", "user.name", "--output", "tsv"), "az login"),
}


@dataclass
class Check:
    tool: str
    found: bool
    version: str = ""
    login: str = ""  # who is logged in, or "" when not applicable
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.found and not self.fix


def doctor(runner: Runner, cloud: str | None = None) -> list[Check]:
    """Checks for the tools ``cloud`` needs (all clouds' tools when None). Runs only read-only commands."""
    tools: list[str] = []
    for c in [clouds.get(cloud)] if cloud else clouds.CLOUDS.values():
        tools += [t for t in c.tools if t not in tools]
    out = []
    for tool in tools:
        if runner.which(tool) is None:
            out.append(Check(tool, False, fix=install_hint(tool)))
            continue
        res = runner.run(Command(VERSION.get(tool, (tool, "--version")), why=f"{tool} version"), check=False)
        check = Check(tool, True, (res.stdout.strip().splitlines() or [""])[0][:60])
        if tool in MINIMUM:
            check.fix = too_old(tool, check.version) or ""
        if tool in LOGIN:
            argv, how = LOGIN[tool]
            who = runner.run(Command(argv, why=f"{tool} login"), check=False)
            check.login = who.stdout.strip().splitlines()[0] if who.returncode == 0 and who.stdout.strip() else ""
            if not check.login and not check.fix:
                check.fix = f"not logged in: {how}"
        out.append(check)
    return out


def too_old(tool: str, version: str) -> str | None:
    """The fix when ``version`` (as the tool prints it, e.g. ``v3.12.3+g3a31588``) is below what pangeoctl needs."""
    minimum, need = MINIMUM[tool]
    m = re.search(r"v?(\d+)\.(\d+)", version)
    if m is None:
        return f"could not read the {tool} version ({version!r}): pangeoctl needs {need}"
    have = (int(m.group(1)), int(m.group(2)))
    if have < minimum:
        return f"{tool} {m.group(1)}.{m.group(2)} is too old: pangeoctl needs {need}"
    return None

"""The ``helm/pangeo`` release: chart dependencies, the Secrets it reads, install/upgrade, uninstall.

Helm runs through the one runner like every other tool, so dry-run, recording and redaction cover it.
(pyhelm3 spawns helm itself, outside the runner, which would break exactly those three; we build the
same argv here instead.)
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from pangeoctl import resources
from pangeoctl import wiring as W
from pangeoctl.clouds.base import ClusterHandle
from pangeoctl.config import Config, GitHubAuth
from pangeoctl.render.values import HUB_SECRET, HUB_SECRET_KEYS
from pangeoctl.runner import Command, Stdin, read_secret
from pangeoctl.targets.base import Read

REPOS = {"jupyterhub": "https://hub.jupyter.org/helm-chart/", "dask": "https://helm.dask.org/"}
TIMEOUT = "20m"


def chart_dir() -> Path:
    """The ``helm/pangeo`` chart: package data (a checkout's ``helm/pangeo`` is packaged as ``pangeoctl/_chart``)."""
    return resources.chart()


def _secret_manifest(name: str, namespace: str, data: dict[str, str]) -> str:
    lines = [f"  {key}: {base64.b64encode(value.encode()).decode()}" for key, value in data.items()]
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        "  labels:\n    app.kubernetes.io/managed-by: pangeoctl\ntype: Opaque\ndata:\n" + "\n".join(lines) + "\n"
    )


def login_secrets(cfg: Config, secrets: Path) -> dict[str, tuple[str, Callable[[], str]]]:
    """Secret key → (what it is, how to read it at run time). Generated passwords are kept under ``secrets``."""
    from pangeoctl.local.platform import ensure_secret

    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        ref = auth.client_secret
        return {HUB_SECRET_KEYS[W.GITHUB_SECRET_ENV]: (ref.describe(), lambda: read_secret(ref.env, ref.file))}
    pw = auth.password
    out: dict[str, tuple[str, Callable[[], str]]] = {
        HUB_SECRET_KEYS[W.SHARED_PASSWORD_ENV]: (
            pw.describe() if pw else f"file {secrets / 'password'}",
            (lambda: read_secret(pw.env, pw.file)) if pw else (lambda: ensure_secret(secrets, "password")),
        )
    }
    if auth.admins:
        out[HUB_SECRET_KEYS[W.ADMIN_PASSWORD_ENV]] = (f"file {secrets / 'admin_password'}", lambda: ensure_secret(secrets, "admin_password"))
    return out


def prepare(cfg: Config, handle: ClusterHandle, secrets: Path) -> list[Command]:
    """Chart repositories, dependencies, the namespace and the hub's login secrets — before the release."""
    ns = cfg.name
    chart = chart_dir()
    cmds = [Command(("helm", "repo", "add", name, url, "--force-update"), why=f"chart repository {name}") for name, url in REPOS.items()]
    cmds.append(
        Command(("helm", "dependency", "build", str(chart)), why="fetch " + " and ".join(f"{n} {v}" for n, v in resources.chart_versions().items()))
    )
    cmds.append(
        Command(
            ("kubectl", *handle.kubectl(), "create", "namespace", ns), why="namespace", unless=("kubectl", *handle.kubectl(), "get", "namespace", ns)
        )
    )
    found = login_secrets(cfg, secrets)
    label = ", ".join(f"{key} from {where}" for key, (where, _) in found.items())
    cmds.append(
        Command(
            ("kubectl", *handle.kubectl(), "apply", "--namespace", ns, "-f", "-"),
            why="the hub's login secrets",
            stdin=Stdin(
                f"Secret {HUB_SECRET} ({label})", lambda: _secret_manifest(HUB_SECRET, ns, {key: read() for key, (_, read) in found.items()})
            ),
        )
    )
    return cmds


def upgrade(cfg: Config, handle: ClusterHandle, values: Path, *, address: str = "") -> Command:
    """Install or upgrade the release; rerunning it changes only what changed. ``address``: the static IP
    reserved for the hub, given to the proxy's load balancer (so a reinstall keeps the DNS record right)."""
    pinned = ("--set", f"jupyterhub.proxy.service.loadBalancerIP={address}") if address else ()
    return Command(
        (
            "helm",
            "upgrade",
            "--install",
            cfg.name,
            str(chart_dir()),
            "--namespace",
            cfg.name,
            *handle.helm(),
            "--values",
            str(values),
            *pinned,
            "--atomic",
            "--wait",
            "--timeout",
            TIMEOUT,
        ),
        why="install or upgrade JupyterHub + Dask Gateway",
    )


STOP_TIMEOUT = "5m"
DASK_CLUSTERS = "daskclusters.gateway.dask.org"


def stop_workloads(cfg: Config, handle: ClusterHandle) -> list[Read | Command]:
    """Before the release goes: stop Dask clusters and user servers and wait for them (the culler and the
    gateway's controller go with the release, and their finalizers would otherwise hold the namespace)."""
    k, ns = ("kubectl", *handle.kubectl()), cfg.name
    listing = Command((*k, "get", DASK_CLUSTERS, "--namespace", ns, "--output", "name"), why="running Dask clusters", read_only=True)

    def stop_clusters(out: str) -> list[Command]:
        names = [line.strip() for line in out.splitlines() if line.strip()]
        if not names:
            return []
        return [
            Command(
                (*k, "delete", *names, "--namespace", ns, "--wait", f"--timeout={STOP_TIMEOUT}"),
                why=f"stop {len(names)} Dask cluster(s) and wait for their pods (at most {STOP_TIMEOUT})",
            )
        ]

    servers = Command(
        (*k, "delete", "pods", "--selector", "component=singleuser-server", "--namespace", ns, "--ignore-not-found", "--wait", f"--timeout={STOP_TIMEOUT}"),
        why=f"stop user servers and wait for them (at most {STOP_TIMEOUT}; homes stay)",
    )
    return [Read(listing, follow=stop_clusters), servers]


def uninstall(cfg: Config, handle: ClusterHandle, *, purge_data: bool) -> list[Command]:
    """Uninstall first: the proxy's LoadBalancer can otherwise block deleting the cluster."""
    ns = cfg.name
    cmds = [Command(("helm", "uninstall", cfg.name, "--namespace", ns, *handle.helm(), "--wait", "--ignore-not-found"), why="uninstall the release")]
    if purge_data:
        cmds.append(
            Command(
                ("kubectl", *handle.kubectl(), "delete", "persistentvolumeclaims", "--all", "--namespace", ns, "--wait"),
                why="delete user home volumes",
            )
        )
        cmds.append(Command(("kubectl", *handle.kubectl(), "delete", "namespace", ns, "--ignore-not-found", "--wait"), why="delete the namespace"))
    return cmds


def get_values(cfg: Config, handle: ClusterHandle) -> Command:
    """The values the installed release runs with (read-only; fails when there is no release yet)."""
    return Command(("helm", "get", "values", cfg.name, "--namespace", cfg.name, *handle.helm(), "--output", "json"), why="current release values")


def values_diff(current: dict, rendered: dict) -> str:
    """A unified diff of two values trees, as YAML; empty when they are the same."""
    import difflib

    from pangeoctl.targets.base import dump_yaml

    a, b = dump_yaml(current).splitlines(), dump_yaml(rendered).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "installed", "pangeo.yaml", lineterm=""))

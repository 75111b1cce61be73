"""The ``helm/pangeo`` release: chart dependencies, the Secrets it reads, install/upgrade, uninstall.

Helm runs through the one runner like every other tool, so dry-run, recording and redaction cover it.
(pyhelm3 spawns helm itself, outside the runner, which would break exactly those three; we build the
same argv here instead.)
"""

from __future__ import annotations

import base64
from pathlib import Path

from pangeoctl.clouds.base import ClusterHandle
from pangeoctl.config import Config, GitHubAuth
from pangeoctl.render.values import GITHUB_SECRET, GITHUB_SECRET_KEY
from pangeoctl.runner import Command, Stdin, read_secret

REPOS = {"jupyterhub": "https://hub.jupyter.org/helm-chart/", "dask": "https://helm.dask.org/"}
TIMEOUT = "20m"


def chart_dir() -> Path:
    """``helm/pangeo`` in a checkout, or the copy packaged inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "helm" / "pangeo", here / "_chart" / "pangeo"):
        if (candidate / "Chart.yaml").exists():
            return candidate
    raise FileNotFoundError("the helm/pangeo chart is missing from this installation")


def _secret_manifest(name: str, namespace: str, key: str, value: str) -> str:
    data = base64.b64encode(value.encode()).decode()
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"  labels:\n    app.kubernetes.io/managed-by: pangeoctl\ntype: Opaque\ndata:\n  {key}: {data}\n"
    )


def install(cfg: Config, handle: ClusterHandle, values: Path) -> list[Command]:
    """Commands that install or upgrade the release; rerunning them changes only what changed."""
    ns = cfg.name
    chart = chart_dir()
    cmds = [Command(("helm", "repo", "add", name, url, "--force-update"), why=f"chart repository {name}") for name, url in REPOS.items()]
    cmds.append(Command(("helm", "dependency", "build", str(chart)), why="fetch jupyterhub 4.4.0 and dask-gateway 2026.3.0"))
    cmds.append(
        Command(
            ("kubectl", *handle.kubectl(), "create", "namespace", ns), why="namespace", unless=("kubectl", *handle.kubectl(), "get", "namespace", ns)
        )
    )
    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        ref = auth.client_secret
        cmds.append(
            Command(
                ("kubectl", *handle.kubectl(), "apply", "--namespace", ns, "-f", "-"),
                why="GitHub OAuth client secret",
                stdin=Stdin(
                    f"Secret {GITHUB_SECRET} ({GITHUB_SECRET_KEY} from {ref.describe()})",
                    lambda: _secret_manifest(GITHUB_SECRET, ns, GITHUB_SECRET_KEY, read_secret(ref.env, ref.file)),
                ),
            )
        )
    cmds.append(
        Command(
            (
                "helm",
                "upgrade",
                "--install",
                cfg.name,
                str(chart),
                "--namespace",
                ns,
                *handle.helm(),
                "--values",
                str(values),
                "--atomic",
                "--wait",
                "--timeout",
                TIMEOUT,
            ),
            why="install or upgrade JupyterHub + Dask Gateway",
        )
    )
    return cmds


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

    from pangeoctl.render import dump_yaml

    a, b = dump_yaml(current).splitlines(), dump_yaml(rendered).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "installed", "pangeo.yaml", lineterm=""))

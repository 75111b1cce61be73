"""The ``Cloud`` contract: what every ``--cloud`` value must provide to host the platform.

Each module in this package implements it for one cloud. All methods are pure: they return the cluster
spec and the :class:`~pangeoctl.runner.Command` objects to run, and the caller hands those to a runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pangeoctl.config import Config
from pangeoctl.runner import Command


@dataclass(frozen=True)
class ClusterHandle:
    """How later steps reach the cluster: a kubeconfig file of our own (never the user's default) and context."""

    kubeconfig: Path
    context: str | None = None

    def kubectl(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)] + (["--context", self.context] if self.context else [])

    def helm(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig)] + (["--kube-context", self.context] if self.context else [])


class Cloud(Protocol):
    """One place a Kubernetes cluster can come from.

    ``tools`` are the CLIs it needs (checked before anything runs). ``spec`` is the declarative cluster
    description written by ``render`` (file name, document). ``create`` makes the cluster if it does not
    exist (each command carries an ``unless`` probe, so a second ``up`` skips it); ``credentials`` writes
    the handle's kubeconfig; ``delete`` removes the cluster; ``leftovers`` lists billable resources still
    tagged for this deployment. ``owns_cluster`` is False for clouds that must never create or delete one.
    """

    name: str
    tools: tuple[str, ...]
    owns_cluster: bool

    def handle(self, cfg: Config, state: Path) -> ClusterHandle: ...

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]: ...

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]: ...

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]: ...

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]: ...

    def leftovers(self, cfg: Config) -> list[Command]: ...


def labels_csv(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


class OwnKubeconfig:
    """Mixin: clouds whose credentials go into ``<state>/kubeconfig``."""

    def handle(self, cfg: Config, state: Path) -> ClusterHandle:
        return ClusterHandle(state / "kubeconfig")

"""Where a platform runs: :func:`target_for` is the one place the CLI's commands meet the cloud's name."""

from __future__ import annotations

from pangeoctl.config import Config
from pangeoctl.targets.base import Echo, Outcome, Plan, Read, Target, TargetError

__all__ = ["Echo", "Outcome", "Plan", "Read", "Target", "TargetError", "target_for"]


def target_for(cfg: Config) -> Target:
    """The target for ``cfg.cloud``: the local platform, or Kubernetes with that cloud's cluster module."""
    if cfg.cloud == "local":
        from pangeoctl.targets.local import LocalTarget

        return LocalTarget()
    from pangeoctl.targets.kubernetes import target

    return target(cfg.cloud)

"""Transitional: the old entry points of the Kubernetes path, kept while the cloud tests move to
:class:`pangeoctl.targets.kubernetes.KubernetesTarget` (remove once nothing imports it)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from pangeoctl import clouds
from pangeoctl.config import Config
from pangeoctl.runner import Runner
from pangeoctl.site import Site
from pangeoctl.targets.base import Plan, TargetError
from pangeoctl.targets.kubernetes import KubernetesTarget


class _At(KubernetesTarget):
    def __init__(self, cloud: str, state: Path):
        super().__init__(clouds.get(cloud))
        self._state = state

    def state(self, cfg: Config, site: Site) -> Path:
        return self._state


def _site() -> Site:
    return Site(data_root=Path("/nonexistent"), bin_dir=Path(sys.executable).parent, today=dt.date(2026, 12, 3))


def up(cfg: Config, runner: Runner, echo: Callable[[str], None], *, out: Path, write: bool = True) -> Plan:
    t = _At(cfg.cloud, out)
    plan = t.plan(cfg, _site(), out)
    if not write:
        plan.files = {}
    t.apply(plan, runner, echo)
    return plan


def down(cfg: Config, runner: Runner, echo: Callable[[str], None], *, delete_cluster: bool, purge_data: bool, verify: bool, out: Path) -> list[str]:
    t = _At(cfg.cloud, out)
    try:
        t.down(cfg, _site(), runner, echo, purge=purge_data, delete_cluster=delete_cluster)
    except TargetError as e:
        raise ValueError(str(e)) from None
    return t.leftovers(cfg, _site(), runner) if verify else []

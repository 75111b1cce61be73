"""Where each kind of pod runs: the labels and taints of every node pool, and the matching pod rules.

This is the one table both sides are built from — the cluster specs give pools these labels and taints,
the helm values give pods the node selectors and tolerations that match them — so the two cannot drift.
(The tests check the rendered outputs against each other, not against this table.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str = "NoSchedule"

    def toleration(self) -> dict[str, str]:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class Placement:
    labels: dict[str, str]
    taints: tuple[Taint, ...] = field(default_factory=tuple)


POOL_LABEL = "pangeoctl.io/pool"
NODE_PURPOSE = "hub.jupyter.org/node-purpose"  # what z2jh's matchNodePurpose selects on

# Hub pods need the core label; user pods the user label and the user taint (z2jh tolerates it by
# default); Dask workers get a pool of their own so spot preemption never touches notebooks.
PLACEMENT: dict[str, Placement] = {
    "core": Placement({POOL_LABEL: "core", NODE_PURPOSE: "core"}),
    "user": Placement({POOL_LABEL: "user", NODE_PURPOSE: "user"}, (Taint("hub.jupyter.org/dedicated", "user"),)),
    "worker": Placement({POOL_LABEL: "worker", "k8s.dask.org/node-purpose": "worker"}, (Taint("k8s.dask.org/dedicated", "worker"),)),
    "gpu": Placement({POOL_LABEL: "gpu", NODE_PURPOSE: "user"}, (Taint("hub.jupyter.org/dedicated", "user"), Taint("nvidia.com/gpu", "present"))),
}

# AKS taints every spot node pool with this, whatever else we ask for.
AKS_SPOT_TAINT = Taint("kubernetes.azure.com/scalesetpriority", "spot")


def pool_taints(cloud: str, pool: str, spot: bool) -> tuple[Taint, ...]:
    """Taints the nodes of ``pool`` carry on ``cloud``, including the ones the cloud adds itself."""
    extra = (AKS_SPOT_TAINT,) if cloud == "azure" and spot else ()
    return PLACEMENT[pool].taints + extra


def pod_rules(cloud: str, pool: str, spot: bool) -> dict[str, Any]:
    """``nodeSelector`` and ``tolerations`` for a pod that must run on ``pool``."""
    return {
        "nodeSelector": {POOL_LABEL: PLACEMENT[pool].labels[POOL_LABEL]},
        "tolerations": [t.toleration() for t in pool_taints(cloud, pool, spot)],
    }

"""The nodes a rendered platform gets, read from what `pangeoctl render` wrote — not from our own tables.

GKE and AKS pools come from the gcloud/az commands in commands.sh, EKS pools from the eksctl
ClusterConfig, kind's node from kind.yaml, minikube's from its ``start`` flags; an existing cluster's nodes
carry only the labels every node has. Allocatable resources follow GKE's published reservation formula
(https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes), which is at or below EKS's and
AKS's: a simple, documented lower bound on what a pod can use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from pangeoctl.machines import lookup
from tests.charts.release import Release, selector_matches

GIB = 1024**3
BASE_LABELS = {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
# Taints a cloud puts on a pool by itself (FIELD-NOTES "Cloud CLIs").
AKS_SPOT_TAINT = {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}


@dataclass
class Pool:
    name: str
    labels: dict[str, str]
    taints: list[dict[str, str]] = field(default_factory=list)
    cpu: float | None = None  # vCPUs of the machine; None when unknown (kind: the host; existing: anything)
    memory: int | None = None  # bytes
    gpus: int = 0

    def allocatable(self) -> tuple[float, int] | None:
        if self.cpu is None or self.memory is None:
            return None
        return self.cpu - _reserved_cpu(self.cpu), self.memory - _reserved_memory(self.memory) - 100 * 1024**2  # eviction threshold


def _reserved_cpu(cores: float) -> float:
    steps = [(1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025)]
    return _tiered(cores, steps)


def _reserved_memory(memory: int) -> int:
    if memory < 1 * GIB:
        return 255 * 1024**2
    steps = [(4 * GIB, 0.25), (4 * GIB, 0.20), (8 * GIB, 0.10), (112 * GIB, 0.06), (float("inf"), 0.02)]
    return int(_tiered(memory, steps))


def _tiered(amount: float, steps: list[tuple[float, float]]) -> float:
    total, left = 0.0, amount
    for size, rate in steps:
        take = min(left, size)
        total += take * rate
        left -= take
        if left <= 0:
            break
    return total


def _kv(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if part)


def _taint(text: str) -> dict[str, str]:
    kv, _, effect = text.partition(":")
    key, _, value = kv.partition("=")
    return {"key": key, "value": value, "effect": effect}


def _flags(argv: list[str]) -> dict[str, list[str]]:
    """``--flag a b --other c`` → {flag: [a, b], other: [c]} (az takes several values per flag)."""
    flags: dict[str, list[str]] = {}
    current = None
    for arg in argv:
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            current = name
            flags.setdefault(current, [])
            if eq:
                flags[current].append(value)
        elif current is not None:
            flags[current].append(arg)
    return flags


def _machine(cloud: str, name: str) -> dict[str, Any]:
    m = lookup(cloud, name)
    return {"cpu": float(m.cpu), "memory": m.memory, "gpus": m.gpus}


def pools(release: Release) -> list[Pool]:
    cloud = release.cloud
    found: list[Pool] = []
    if cloud == "aws":
        spec = yaml.safe_load((release.out / "cluster.yaml").read_text())
        for ng in spec.get("managedNodeGroups", []) + spec.get("nodeGroups", []):
            taints = [{"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} for t in ng.get("taints") or []]
            found.append(Pool(ng["name"], {**BASE_LABELS, **(ng.get("labels") or {})}, taints, **_machine("aws", ng["instanceTypes"][0])))
    elif cloud in ("gcp", "azure"):
        for argv in release.commands():
            if argv[:3] == ["gcloud", "container", "clusters"] and argv[3] == "create":
                name, f = "default-pool", _flags(argv)
            elif argv[:3] == ["gcloud", "container", "node-pools"] and argv[3] == "create":
                name, f = argv[4], _flags(argv)
            elif argv[:3] == ["az", "aks", "create"]:
                f = _flags(argv)
                name = f["nodepool-name"][0]
                f["labels"], f["node-taints"] = f.get("nodepool-labels", []), f.get("nodepool-taints", [])
            elif argv[:4] == ["az", "aks", "nodepool", "add"]:
                f = _flags(argv)
                name = f["name"][0]
            else:
                continue
            if cloud == "gcp":
                labels = _kv(",".join(f.get("node-labels", [])))
                taints = [_taint(t) for t in ",".join(f.get("node-taints", [])).split(",") if t]
                machine = _machine("gcp", f.get("machine-type", ["e2-medium"])[0])
            else:
                labels = _kv(",".join(f.get("labels", [])))
                taints = [_taint(t) for t in ",".join(f.get("node-taints", [])).split(",") if t]
                if [p.lower() for p in f.get("priority", [])] == ["spot"]:
                    taints.append(AKS_SPOT_TAINT)
                machine = _machine("azure", f["node-vm-size"][0])
            found.append(Pool(name, {**BASE_LABELS, **labels}, taints, **machine))
    elif cloud == "kind":
        spec = yaml.safe_load((release.out / "kind.yaml").read_text())
        for i, node in enumerate(spec.get("nodes") or [{"role": "control-plane"}]):
            found.append(Pool(f"kind-{i}", {**BASE_LABELS, **(node.get("labels") or {})}))
    elif cloud == "minikube":
        start = next(a for a in release.commands() if a[:2] == ["minikube", "start"])
        f = _flags(start)
        memory = f.get("memory", ["2g"])[0].lower()
        size = int(memory.rstrip("gmb")) * (GIB if memory.endswith("g") or memory.endswith("gb") else 1024**2)
        found.append(Pool("minikube", dict(BASE_LABELS), cpu=float(f.get("cpus", ["2"])[0]), memory=size))
    elif cloud == "existing":
        found.append(Pool("existing", dict(BASE_LABELS)))
    assert found, f"{release.example}: no node pool found in the render output"
    return found


# --- Scheduling -----------------------------------------------------------------------------------------


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t["key"] == taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _node_term(term: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector_matches({"matchExpressions": term.get("matchExpressions") or []}, labels)


def why_not(pod_spec: dict[str, Any], pool: Pool) -> str | None:
    """None when a pod with ``pod_spec`` may be scheduled on ``pool``'s nodes; else the reason."""
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if pool.labels.get(key) != value:
            return f"nodeSelector {key}={value} (the {pool.name} nodes have {pool.labels.get(key)!r})"
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if required and not any(_node_term(t, pool.labels) for t in required.get("nodeSelectorTerms") or []):
        return f"required node affinity {required['nodeSelectorTerms']} (the {pool.name} nodes are labelled {pool.labels})"
    for taint in pool.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not _tolerates(pod_spec.get("tolerations") or [], taint):
            return f"taint {taint['key']}={taint.get('value', '')}:{taint['effect']} of the {pool.name} pool is not tolerated"
    return None


def cpu(q: Any) -> float:
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def memory(q: Any) -> int:
    q = str(q)
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": GIB, "Ti": 1024**4, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
    for suffix in sorted(units, key=len, reverse=True):
        if q.endswith(suffix):
            return int(float(q[: -len(suffix)]) * units[suffix])
    return int(float(q))


def requests(pod_spec: dict[str, Any]) -> tuple[float, int]:
    """Effective requests: the sum over containers (requests default to limits, as the API server does)."""
    total_cpu, total_mem = 0.0, 0
    for c in pod_spec.get("containers") or []:
        res = c.get("resources") or {}
        req = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        total_cpu += cpu(req.get("cpu", 0))
        total_mem += memory(req.get("memory", 0))
    return total_cpu, total_mem

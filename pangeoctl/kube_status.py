"""Status of a platform on Kubernetes, read with kubectl through the runner (read-only)."""

from __future__ import annotations

import json
from typing import Any

from pangeoctl.clouds.base import ClusterHandle
from pangeoctl.config import Config
from pangeoctl.render.placement import POOL_LABEL
from pangeoctl.render.values import hub_url
from pangeoctl.runner import Command, Runner
from pangeoctl.wiring import HUB_NODE_PORT


def _json(runner: Runner, argv: tuple[str, ...], why: str) -> Any:
    res = runner.run(Command(argv, why=why), check=False)
    if res.returncode != 0 or not res.stdout.strip():
        return None
    try:
        return json.loads(res.stdout)
    except ValueError:
        return None


def status(cfg: Config, runner: Runner, handle: ClusterHandle) -> dict[str, Any]:
    k = ("kubectl", *handle.kubectl())
    ns = cfg.name
    nodes = _json(runner, (*k, "get", "nodes", "--output", "json"), "nodes") or {"items": []}
    pools: dict[str, dict[str, int]] = {}
    for n in nodes["items"]:
        pool = n["metadata"].get("labels", {}).get(POOL_LABEL, "other")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
        entry = pools.setdefault(pool, {"nodes": 0, "ready": 0})
        entry["nodes"] += 1
        entry["ready"] += ready
    pods = _json(runner, (*k, "get", "pods", "--namespace", ns, "--output", "json"), "pods") or {"items": []}
    by_kind: dict[str, list[str]] = {}
    for p in pods["items"]:
        labels = p["metadata"].get("labels", {})
        kind = labels.get("component") or labels.get("app.kubernetes.io/component") or "other"
        by_kind.setdefault(kind, []).append(p.get("status", {}).get("phase", "Unknown"))
    svc = _json(runner, (*k, "get", "service", "proxy-public", "--namespace", ns, "--output", "json"), "hub address")
    ingress = ((svc or {}).get("status", {}).get("loadBalancer", {}).get("ingress") or [{}])[0]
    address = ingress.get("hostname") or ingress.get("ip")
    url = hub_url(cfg) or (f"http://{address}" if address else None)
    if url is None and (svc or {}).get("spec", {}).get("type") == "NodePort" and cfg.cloud == "minikube":
        # minikube's node answers on its own address; the NodePort is fixed in the values.
        ip = runner.run(Command(("minikube", "ip", "--profile", cfg.name), why="minikube's address"), check=False).stdout.strip()
        url = f"http://{ip}:{HUB_NODE_PORT}" if ip else None
    return {
        "cloud": cfg.cloud,
        "url": url,
        "pools": pools,
        "pods": {kind: {"running": phases.count("Running"), "total": len(phases)} for kind, phases in sorted(by_kind.items())},
        "user_servers": len(by_kind.get("singleuser-server", [])),
        "dask_schedulers": len(by_kind.get("dask-scheduler", [])),
        "dask_workers": len(by_kind.get("dask-worker", [])),
        "up": bool(by_kind.get("hub")) and all(ph == "Running" for ph in by_kind.get("hub", [])),
        "healthy": bool(by_kind.get("hub")) and all(ph == "Running" for kind in ("hub", "proxy") for ph in by_kind.get(kind, [])),
    }

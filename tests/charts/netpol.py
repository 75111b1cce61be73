"""A small evaluator of NetworkPolicy ingress/egress between pods of one namespace.

Two semantics: ``standard`` (the API's documented meaning; a pod's IP is a private address, so an
``ipBlock`` of 10.0.0.0/8 covers it) and ``cilium`` (GKE Dataplane V2, AKS Cilium), where an ``ipBlock``
never matches a pod's IP — cilium/cilium#19601 — so only pod/namespace selectors let pod traffic through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from tests.charts.release import selector_matches

POD_IP = "10.8.1.23"  # inside every private range the charts allow (GKE/EKS/AKS pod CIDRs are private)
SEMANTICS = ("standard", "cilium")


@dataclass(frozen=True)
class Pod:
    """A pod as policy sees it: its labels and its named container ports."""

    name: str
    labels: dict[str, str]
    ports: dict[str, int]

    @classmethod
    def of(cls, name: str, template: dict[str, Any]) -> Pod:
        ports = {}
        for c in template["spec"]["containers"]:
            for p in c.get("ports") or []:
                if p.get("name"):
                    ports[p["name"]] = int(p["containerPort"])
        return cls(name, dict(template["metadata"].get("labels") or {}), ports)


def _selects(policy: dict[str, Any], pod: Pod, direction: str) -> bool:
    spec = policy["spec"]
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
    return direction in types and selector_matches(spec.get("podSelector"), pod.labels)


def _peer_matches(peer: dict[str, Any], other: Pod, semantics: str) -> bool:
    if "ipBlock" in peer:
        if semantics == "cilium":
            return False
        ip = ipaddress.ip_address(POD_IP)
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(ip in ipaddress.ip_network(x) for x in block.get("except") or [])
    if "namespaceSelector" in peer:
        # Every pod here is in the release's namespace, which carries only its name label.
        return False if peer["namespaceSelector"] else selector_matches(peer.get("podSelector"), other.labels)
    return selector_matches(peer.get("podSelector"), other.labels)


def _port_matches(rule_ports: list[dict[str, Any]] | None, dest: Pod, port: int) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in p:
            return True
        want = p["port"]
        number = dest.ports.get(want) if isinstance(want, str) else int(want)
        if number is not None and (number == port or (p.get("endPort") and number <= port <= int(p["endPort"]))):
            return True
    return False


def _allowed(policies: list[dict[str, Any]], subject: Pod, peer: Pod, dest: Pod, port: int, direction: str, semantics: str) -> bool:
    selecting = [p for p in policies if _selects(p, subject, direction)]
    if not selecting:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(x, peer, semantics) for x in peers)) and _port_matches(rule.get("ports"), dest, port):
                return True
    return False


def reason(policies: list[dict[str, Any]], src: Pod, dst: Pod, port: int, semantics: str) -> str | None:
    """None when ``src`` may open a TCP connection to ``dst:port``; else which side's policy refuses it."""
    if not _allowed(policies, src, dst, dst, port, "Egress", semantics):
        return f"{src.name}'s egress policy does not allow {dst.name}:{port} ({semantics} semantics)"
    if not _allowed(policies, dst, src, dst, port, "Ingress", semantics):
        return f"{dst.name}'s ingress policy does not admit {src.name} on port {port} ({semantics} semantics)"
    return None

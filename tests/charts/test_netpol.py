"""The NetworkPolicy evaluator itself, on literal policies (runs without the chart sources)."""

from __future__ import annotations

from tests.charts.netpol import Pod, reason

PROXY = Pod("proxy", {"component": "proxy"}, {"http": 8000})
TRAEFIK = Pod("traefik", {"app.kubernetes.io/component": "traefik"}, {"web": 8000})
USER = Pod("user", {"component": "singleuser-server"}, {"notebook-port": 8888})


def egress(selector: dict, *rules: dict) -> dict:
    return {"kind": "NetworkPolicy", "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Egress"], "egress": list(rules)}}


PRIVATE = {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}
TO_TRAEFIK = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "traefik"}}}], "ports": [{"port": 8000}]}


def test_unselected_pods_are_open() -> None:
    assert reason([], PROXY, TRAEFIK, 8000, "standard") is None


def test_ipblock_reaches_pods_only_under_standard_semantics() -> None:
    policies = [egress({"component": "proxy"}, PRIVATE)]
    assert reason(policies, PROXY, TRAEFIK, 8000, "standard") is None
    assert "egress" in (reason(policies, PROXY, TRAEFIK, 8000, "cilium") or "")


def test_ipblock_except_excludes_pod_addresses() -> None:
    rule = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}
    assert reason([egress({"component": "proxy"}, rule)], PROXY, TRAEFIK, 8000, "standard") is not None


def test_pod_selector_and_ports() -> None:
    policies = [egress({"component": "proxy"}, TO_TRAEFIK)]
    for semantics in ("standard", "cilium"):
        assert reason(policies, PROXY, TRAEFIK, 8000, semantics) is None
        assert reason(policies, PROXY, TRAEFIK, 9000, semantics) is not None
        assert reason(policies, PROXY, USER, 8000, semantics) is not None


def test_ingress_named_port_and_match_expressions() -> None:
    ingress = {
        "kind": "NetworkPolicy",
        "spec": {
            "podSelector": {"matchExpressions": [{"key": "component", "operator": "In", "values": ["singleuser-server"]}]},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"component": "proxy"}}}], "ports": [{"port": "notebook-port"}]}],
        },
    }
    assert reason([ingress], PROXY, USER, 8888, "standard") is None
    assert "ingress" in (reason([ingress], PROXY, USER, 8889, "standard") or "")
    assert reason([ingress], TRAEFIK, USER, 8888, "standard") is not None

"""Rendered values against the charts' real schemas, cluster specs against eksctl's, pods against pools."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from pangeoctl import config as C
from pangeoctl.render.values import coalesce, render_values
from pangeoctl.targets.base import write_files
from tests.conftest import CONFIGS, ROOT, plan_for

K8S = sorted(p for p in [*CONFIGS.glob("*.happy*.yaml"), *(ROOT / "deploy").glob("*.yaml")] if C.load(p).cloud != "local")
MANAGED = [p for p in K8S if C.load(p).cloud in C.MANAGED_CLOUDS]
SECRET = "gh-secret-value-that-must-never-leak"


def _yaml(path: Path):
    return YAML(typ="safe").load(path.read_text())


def chart_values() -> dict:
    return _yaml(ROOT / "helm" / "pangeo" / "values.yaml")


def coalesced(cfg: C.Config, schemas: Path) -> dict[str, dict]:
    """What helm validates each subchart against: its defaults ← helm/pangeo/values.yaml ← rendered values."""
    rendered, ours = render_values(cfg), chart_values()
    return {
        "jupyterhub": coalesce(coalesce(_yaml(schemas / "z2jh-4.4.0.values.yaml"), ours.get("jupyterhub", {})), rendered["jupyterhub"]),
        "dask-gateway": coalesce(
            coalesce(_yaml(schemas / "dask-gateway-2026.3.0.values.yaml"), ours.get("dask-gateway", {})), rendered["dask-gateway"]
        ),
    }


def test_coalesce_is_helms():
    assert coalesce({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 3, "c": None}, "e": [1]}) == {"a": {"b": 3}, "d": 1, "e": [1]}


@pytest.mark.parametrize("path", K8S, ids=lambda p: p.name)
def test_values_pass_the_charts_schemas(path, schemas):
    values = coalesced(C.load(path), schemas)
    for chart, schema_file in (("jupyterhub", "z2jh-4.4.0.values.schema.json"), ("dask-gateway", "dask-gateway-2026.3.0.values.schema.json")):
        schema = json.loads((schemas / schema_file).read_text())
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values[chart]), key=str)
        assert [f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_a_wrong_value_fails_the_schema(schemas):
    """The schema check can fail: a misspelled key is caught the way helm install would catch it."""
    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    values = coalesced(cfg, schemas)["jupyterhub"]
    values["singleuser"]["image"]["tags"] = "x"
    schema = json.loads((schemas / "z2jh-4.4.0.values.schema.json").read_text())
    assert any("tags" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values))


@pytest.mark.parametrize("path", [p for p in K8S if C.load(p).cloud == "aws"], ids=lambda p: p.name)
def test_eksctl_cluster_config_is_valid(path, tmp_path, schemas):
    cfg = C.load(path)
    write_files(plan_for(cfg, tmp_path).rendered(), tmp_path)
    spec = _yaml(tmp_path / "cluster.yaml")
    schema = json.loads((schemas / "eksctl-0.230.0.schema.json").read_text())
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(spec)] == []
    groups = {g["name"]: g for g in spec["managedNodeGroups"]}
    assert spec["upgradePolicy"] == {"supportType": "STANDARD"}
    assert groups["worker"]["spot"] is True and groups["worker"]["minSize"] == 0
    assert groups["worker"]["tags"]["k8s.io/cluster-autoscaler/node-template/taint/k8s.dask.org/dedicated"] == "worker:NoSchedule"


def test_the_gateway_is_wired_to_the_hub(schemas):
    values = coalesced(C.load(CONFIGS / "gcp.happy.yaml"), schemas)
    hub, gw = values["jupyterhub"], values["dask-gateway"]
    auth = gw["gateway"]["auth"]
    assert auth["type"] == "jupyterhub"
    assert auth["jupyterhub"]["jupyterhubServiceName"] == "dask-gateway"
    assert auth["jupyterhub"]["apiTokenFromSecretKey"] == "hub.services.dask-gateway.apiToken"
    assert "dask-gateway" in hub["hub"]["services"]
    assert gw["gateway"]["prefix"] == "/services/dask-gateway"
    env = hub["singleuser"]["extraEnv"]
    # HTTPS is on (a domain is set): proxy-public:80 only redirects to https, proxy-http serves the hub's routes.
    assert env["DASK_GATEWAY__ADDRESS"] == "http://proxy-http:8000/services/dask-gateway"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == f"gateway://traefik-{gw['fullnameOverride']}:80"
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    for role in ("user", "server"):
        assert "access:services!service=dask-gateway" in hub["hub"]["loadRoles"][role]["scopes"]
    assert gw["traefik"]["service"]["type"] == "ClusterIP"
    assert hub["proxy"]["https"]["hosts"] == ["hub.geo-lab.org"]
    assert hub["hub"]["config"]["GitHubOAuthenticator"]["allowed_organizations"] == ["geo-lab", "geo-lab:students"]


def test_gateway_extra_config_runs_and_sets_the_limits():
    """The chart's extraConfig is fixed code plus data: executed as the gateway does, it sets our limits."""
    from traitlets.config import Config as TraitletsConfig

    cfg = C.load(CONFIGS / "gcp.happy.regional-gpu.yaml")
    code = render_values(cfg)["dask-gateway"]["gateway"]["extraConfig"]["pangeoctl"]
    c = TraitletsConfig()
    exec(compile(code, "extraConfig", "exec"), {"c": c})
    assert c.ClusterConfig.cluster_max_workers == 200
    assert c.ClusterConfig.idle_timeout == 3600
    assert c.DaskGateway.backend_class.__name__ == "CappedKubeBackend"
    options = c.Backend.cluster_options
    assert [f.field for f in options.fields] == ["worker_cores", "worker_memory"]  # no image choice offered
    defaults = options.get_configuration(options.parse_options({}), None)  # as the gateway does for a bare new_cluster()
    assert defaults["image"] == "ghcr.io/big-lab/worker:2026.11"
    assert defaults["worker_cores"] == cfg.dask.options.worker_cores[0]  # the first choice is the default
    assert defaults["worker_memory"] == cfg.dask.options.worker_memory[0]


@pytest.mark.parametrize("path", K8S, ids=lambda p: p.name)
def test_no_secret_value_in_rendered_files(path, tmp_path):
    write_files(plan_for(C.load(path), tmp_path).rendered(), tmp_path)
    for f in tmp_path.iterdir():
        assert SECRET not in f.read_text(), f.name


# ------------------------------------------------------------------ pods land where pools are


def _pools_from_cluster_spec(cloud: str, spec: dict) -> dict[str, tuple[dict, set]]:
    """{pool: (labels, {(key, value, effect)})} read back from the rendered spec, in each cloud's own syntax."""
    out = {}
    if cloud == "gcp":
        effect = {"NO_SCHEDULE": "NoSchedule"}
        for p in spec["nodePools"]:
            out[p["name"]] = (p["config"]["labels"], {(t["key"], t["value"], effect[t["effect"]]) for t in p["config"]["taints"]})
    elif cloud == "aws":
        for g in spec["managedNodeGroups"]:
            out[g["name"]] = (g["labels"], {(t["key"], t["value"], t["effect"]) for t in g["taints"]})
    elif cloud == "azure":
        for p in spec["agentPoolProfiles"]:
            taints = set()
            for t in p["nodeTaints"]:
                kv, eff = t.rsplit(":", 1)
                k, v = kv.split("=", 1)
                taints.add((k, v, eff))
            out[p["name"]] = (p["nodeLabels"], taints)
    return out


def _pools_from_commands(cloud: str, argvs: list[list[str]]) -> dict[str, tuple[dict, set]]:
    """The same, read from the CLI commands `up` runs (gcloud/az take labels and taints as flags)."""

    def kv(items):
        return dict(i.split("=", 1) for i in items)

    def taints(text):
        out = set()
        for t in filter(None, text.split(",")):
            k, rest = t.split("=", 1)
            v, eff = rest.split(":")
            out.add((k, v, eff))
        return out

    out = {}
    for a in argvs:
        if cloud == "gcp" and a[:3] in (["gcloud", "container", "clusters"], ["gcloud", "container", "node-pools"]) and a[3] == "create":
            name = "default-pool" if a[2] == "clusters" else a[4]
            t = a[a.index("--node-taints") + 1] if "--node-taints" in a else ""
            out[name] = (kv(a[a.index("--node-labels") + 1].split(",")), taints(t))
        if cloud == "azure" and a[:3] == ["az", "aks", "create"]:
            i = a.index("--nodepool-labels") + 1
            end = next((j for j in range(i, len(a)) if a[j].startswith("--")), len(a))
            out["core"] = (kv(a[i:end]), set())
        if cloud == "azure" and a[:4] == ["az", "aks", "nodepool", "add"]:
            i = a.index("--labels") + 1
            end = next((j for j in range(i, len(a)) if a[j].startswith("--")), len(a))
            t = taints(a[a.index("--node-taints") + 1]) if "--node-taints" in a else set()
            if "--priority" in a and a[a.index("--priority") + 1] == "Spot":
                t.add(("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule"))  # AKS adds it itself
            out[a[a.index("--name") + 1]] = (kv(a[i:end]), t)
    return out


def _lands_on(pods: dict, pools: dict[str, tuple[dict, set]]) -> list[str]:
    """Kinds of pool (their pangeoctl.io/pool label: one kind may have several node pools, e.g. one per zone
    or per instance type) a pod can be scheduled on: labels match its nodeSelector, it tolerates every taint."""
    selector = pods.get("nodeSelector", {})
    tolerated = {(t["key"], t.get("value"), t["effect"]) for t in pods.get("tolerations", [])}
    return sorted({labels["pangeoctl.io/pool"] for labels, taints in pools.values() if selector.items() <= labels.items() and taints <= tolerated})


@pytest.mark.parametrize("path", MANAGED, ids=lambda p: p.name)
def test_pods_are_scheduled_onto_their_pools(path, tmp_path, schemas):
    cfg = C.load(path)
    plan = plan_for(cfg, tmp_path)
    write_files(plan.rendered(), tmp_path)
    spec_pools = _pools_from_cluster_spec(cfg.cloud, _yaml(tmp_path / "cluster.yaml"))
    pools_by_source = [spec_pools]
    if cfg.cloud in ("gcp", "azure"):
        cmd_pools = _pools_from_commands(cfg.cloud, [list(c.argv) for c in plan.commands])
        assert cmd_pools == spec_pools  # the commands create exactly the pools the spec describes
        pools_by_source.append(cmd_pools)
    core = "core"
    v = coalesced(cfg, schemas)
    hub, gw = v["jupyterhub"], v["dask-gateway"]["gateway"]
    z2jh_user = {
        "nodeSelector": {"hub.jupyter.org/node-purpose": "user"},  # matchNodePurpose: require
        "tolerations": hub["scheduling"]["userPods"]["tolerations"],
    }
    z2jh_core = {"nodeSelector": {"hub.jupyter.org/node-purpose": "core"}, "tolerations": hub["scheduling"]["corePods"]["tolerations"]}
    assert hub["scheduling"]["userPods"]["nodeAffinity"]["matchNodePurpose"] == "require"
    for pools in pools_by_source:
        assert _lands_on(z2jh_core, pools) == [core]
        assert _lands_on({"nodeSelector": gw["nodeSelector"]}, pools) == [core]
        assert _lands_on(gw["backend"]["scheduler"]["extraPodConfig"], pools) == ["user"]
        assert _lands_on(gw["backend"]["worker"]["extraPodConfig"], pools) == ["worker"]
        for profile in hub["singleuser"]["profileList"]:
            o = profile["kubespawner_override"]
            pod = {
                "nodeSelector": {**z2jh_user["nodeSelector"], **o.get("node_selector", {})},
                "tolerations": z2jh_user["tolerations"] + o.get("tolerations", []),
            }
            assert _lands_on(pod, pools) == (["gpu"] if "extra_resource_limits" in o else ["user"]), profile["display_name"]


def test_azure_spot_workers_tolerate_the_taint_aks_adds():
    cfg = C.load(CONFIGS / "azure.happy.yaml")
    tol = render_values(cfg)["dask-gateway"]["gateway"]["backend"]["worker"]["extraPodConfig"]["tolerations"]
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"} in tol

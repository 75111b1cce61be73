"""The rendered release works: objects valid, the hub's and the gateway's own config code runs on them,
and every address, secret key, network path and node the platform needs is there.

Each test runs for every shipped example and every variant in configs/ (see conftest.py).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from pangeoctl import wiring as W
from tests.charts import netpol
from tests.charts.pools import Pool, _tolerates, pools, requests, why_not
from tests.charts.release import Release, container_port, selector_matches, strip_nulls


def github(release: Release) -> bool:
    return (release.cfg.get("hub") or {}).get("auth", {}).get("type") == "github"


def shared_password(release: Release) -> bool:
    return (release.cfg.get("hub") or {}).get("auth", {}).get("type") == "shared-password"


def user_pods(hub: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each profile's pod; when KubeSpawner could not format its env, the pod built with env taken literally."""
    out = {}
    for name, p in hub["profiles"].items():
        pod = p["pod"] or p.get("pod_env_unformatted")
        assert pod is not None, f"profile {name}: no pod could be built at all:\n{p['error']}"
        out[name] = pod
    return out


def gateway_pods(gw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scheduler and worker pods the gateway's controller builds for a default cluster."""
    assert gw["error"] is None, "the gateway config does not load (see test_gateway_configuration_loads)"
    return gw["scheduler_pod"], gw["worker_pod"]


def env_of(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env") or []}


# --- 1. strict validation ----------------------------------------------------------------------------------


def _crd_schemas(chart: Path) -> dict[tuple[str, str], dict[str, Any]]:
    schemas = {}
    for path in chart.rglob("crds/*.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for v in crd["spec"]["versions"]:
                schemas[(f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
    return schemas


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's structural schema with unknown fields refused (what `kubectl apply --validate=strict` does)."""
    schema = copy.deepcopy(schema)

    def walk(s: dict[str, Any]) -> None:
        if "properties" in s and not s.get("x-kubernetes-preserve-unknown-fields"):
            s.setdefault("additionalProperties", False)
        for sub in (s.get("properties") or {}).values():
            walk(sub)
        if isinstance(s.get("items"), dict):
            walk(s["items"])

    walk(schema)
    schema.setdefault("properties", {}).update({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
    return schema


def test_every_object_validates_strictly(release: Release, chart: Path) -> None:
    import kubernetes_validate

    crds = _crd_schemas(chart)
    errors = []
    for obj in release.objects:
        obj = strip_nulls(obj)
        what = f"{obj['kind']}/{obj['metadata']['name']}"
        key = (obj["apiVersion"], obj["kind"])
        try:
            if key in crds:
                jsonschema.validate(obj, _strict(crds[key]))
            else:
                kubernetes_validate.validate(obj, release.kube_version, strict=True)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as e:
            errors.append(f"{what}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{what}: no schema for {key} in Kubernetes {release.kube_version}")
    assert not errors, f"{release.example} (Kubernetes {release.kube_version}):\n" + "\n".join(errors)


# --- 2. the hub's configuration and every profile's pod -------------------------------------------------------


def test_hub_configuration_executes(release: Release, hub_of) -> None:
    hub = hub_of(release)
    assert hub["error"] is None, (
        f"{release.example}: JupyterHub.initialize with z2jh's jupyterhub_config.py failed:\n{hub['error']}\n{hub['stdout'][-3000:]}"
    )


def test_every_profile_builds_its_user_pod(release: Release, hub_of) -> None:
    import kubernetes_validate

    hub = hub_of(release)
    assert hub["profiles"], f"{release.example}: the hub built no profile"
    failures = []
    for name, p in hub["profiles"].items():
        if p["error"]:
            failures.append(f"profile {name}: KubeSpawner.get_pod_manifest raised {p['error'].strip().splitlines()[-1]}")
            continue
        try:
            kubernetes_validate.validate(strip_nulls(p["pod"]), release.kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            failures.append(f"profile {name}: pod invalid at {'.'.join(map(str, e.path))}: {e.message}")
    assert not failures, f"{release.example}:\n" + "\n".join(failures)


# --- 3. the gateway's configuration -------------------------------------------------------------------------------


def test_gateway_configuration_loads(release: Release, gateway_of) -> None:
    gw = gateway_of(release)
    assert gw["error"] is None, f"{release.example}: DaskGateway.initialize on the rendered config failed:\n{gw['error']}"
    auth = gw["authenticator"]
    assert auth["class"] == "dask_gateway_server.auth.JupyterHubAuthenticator"
    assert auth["api_token_set"], "the gateway has no JupyterHub API token"
    assert auth["service_name"] == "dask-gateway", "the gateway does not check the access:services scope"
    assert any("Capped" in c for c in gw["backend"]), f"the per-user cluster cap is not in effect: {gw['backend']}"
    import kubernetes_validate

    for pod in gateway_pods(gw):  # what the controller would create for a default cluster
        kubernetes_validate.validate(strip_nulls({**pod, "metadata": {**pod["metadata"], "name": "dask-pod"}}), release.kube_version, strict=True)


# --- 4. addresses, ports, secret keys, network paths ------------------------------------------------------------


def _service_backend(release: Release, host: str, port: int) -> tuple[dict[str, Any], str, dict[str, Any], int]:
    """(Service, workload name, pod template, container port) behind ``host:port`` inside the namespace."""
    name = host.split(".")[0]
    svc = release.find("Service", name)
    assert svc is not None, f"{release.example}: {host}:{port} — there is no Service {name!r} in the release"
    sport = next((p for p in svc["spec"].get("ports") or [] if p["port"] == port), None)
    assert sport is not None, f"{release.example}: Service {name} has no port {port} (it has {[p['port'] for p in svc['spec']['ports']]})"
    for obj, template in release.workloads():
        if selector_matches({"matchLabels": svc["spec"]["selector"]}, template["metadata"].get("labels") or {}):
            target = container_port(template, sport.get("targetPort", port))
            assert target is not None, (
                f"{release.example}: Service {name} targets port {sport.get('targetPort')!r}, which {obj['metadata']['name']} does not declare"
            )
            return svc, obj["metadata"]["name"], template, target
    raise AssertionError(f"{release.example}: Service {name} selects no pod of the release")


def _redirects(release: Release, workload: str, port: int) -> bool:
    """Whether ``port`` of z2jh's autohttps traefik only redirects to https (its static and dynamic config)."""
    if workload != "autohttps":
        return False
    data = release.get("ConfigMap", "autohttps")["data"]
    static, dynamic = yaml.safe_load(data["traefik.yaml"]), yaml.safe_load(data.get("dynamic.yaml") or "{}")
    http = dynamic.get("http") or {}
    redirecting = {name for name, m in (http.get("middlewares") or {}).items() if "redirectScheme" in m}
    for name, entry in (static.get("entryPoints") or {}).items():
        if entry.get("address", "").rsplit(":", 1)[-1] != str(port):
            continue
        if (entry.get("http") or {}).get("redirections"):
            return True
        routers = [r for r in (http.get("routers") or {}).values() if name in (r.get("entrypoints") or r.get("entryPoints") or [])]
        if routers and all(redirecting & set(r.get("middlewares") or []) for r in routers):
            return True
    return False


def test_gateway_address_is_a_plain_http_service(release: Release, hub_of) -> None:
    for name, pod in user_pods(hub_of(release)).items():
        address = env_of(pod).get("DASK_GATEWAY__ADDRESS")
        assert address, f"profile {name}: no DASK_GATEWAY__ADDRESS"
        url = urlsplit(address)
        assert url.scheme == "http", f"profile {name}: {address}: inside the cluster the gateway is reached over plain http"
        _, workload, _, target = _service_backend(release, url.hostname or "", url.port or 80)
        assert not _redirects(release, workload, target), (
            f"{release.example} profile {name}: {address} reaches {workload}:{target}, which redirects to https "
            f"(use the proxy-http Service, port 8000, when autohttps is on)"
        )
        assert url.path.rstrip("/") == "/services/dask-gateway", f"profile {name}: {address} is not the proxy's route to the gateway"


def test_proxy_address_reaches_the_gateway_traefik(release: Release, hub_of) -> None:
    for name, pod in user_pods(hub_of(release)).items():
        url = urlsplit(env_of(pod).get("DASK_GATEWAY__PROXY_ADDRESS") or "")
        assert url.scheme == "gateway", f"profile {name}: DASK_GATEWAY__PROXY_ADDRESS {url.geturl()!r}"
        _, workload, _, _ = _service_backend(release, url.hostname or "", url.port or 0)
        assert workload == "traefik-dask-gateway", f"profile {name}: {url.geturl()} reaches {workload}, not the gateway's traefik"


def test_gateway_hub_token_secret_key_exists(release: Release, hub_of) -> None:
    container = release.pod("Deployment", "api-dask-gateway")["spec"]["containers"][0]
    refs = [e["valueFrom"]["secretKeyRef"] for e in container.get("env") or [] if e["name"] == "JUPYTERHUB_API_TOKEN" and "valueFrom" in e]
    assert refs, "the gateway reads no JUPYTERHUB_API_TOKEN from a Secret"
    data = release.secret_data(refs[0]["name"])
    assert data is not None and refs[0]["key"] in data, f"Secret {refs[0]['name']} lacks key {refs[0]['key']!r}"
    hub = hub_of(release)
    assert hub["error"] is None, "the hub configuration does not execute (see test_hub_configuration_executes)"
    assert hub["services"].get("dask-gateway", {}).get("has_token"), "the hub registers no dask-gateway service token"


def _paths(release: Release, hub: dict[str, Any], gw: dict[str, Any]) -> list[tuple[netpol.Pod, netpol.Pod, int, str]]:
    """Every connection the platform makes: (source pod, destination pod, port, why)."""
    pods = {obj["metadata"]["name"]: netpol.Pod.of(obj["metadata"]["name"], t) for obj, t in release.workloads()}
    users = user_pods(hub)
    user = netpol.Pod.of("user pod", next(iter(users.values())))
    scheduler_pod, worker_pod = gateway_pods(gw)
    scheduler = netpol.Pod.of("dask scheduler", scheduler_pod)
    worker = netpol.Pod.of("dask worker", worker_pod)
    env = env_of(next(iter(users.values())))
    out = []
    url = urlsplit(env["DASK_GATEWAY__ADDRESS"])
    _, workload, _, port = _service_backend(release, url.hostname or "", url.port or 80)
    out.append((user, pods[workload], port, f"notebook → {env['DASK_GATEWAY__ADDRESS']}"))
    gateway_url = urlsplit(hub["services"]["dask-gateway"]["url"])  # where the proxy sends /services/dask-gateway
    _, workload, _, port = _service_backend(release, gateway_url.hostname or "", gateway_url.port or 80)
    out.append((pods["proxy"], pods[workload], port, f"proxy → {gateway_url.geturl()} (the hub's dask-gateway service route)"))
    proxy_url = urlsplit(env["DASK_GATEWAY__PROXY_ADDRESS"])
    _, workload, _, port = _service_backend(release, proxy_url.hostname or "", proxy_url.port or 0)
    out.append((user, pods[workload], port, f"notebook → {proxy_url.geturl()} (scheduler connections)"))
    out.append((pods["traefik-dask-gateway"], scheduler, 8786, "gateway traefik → scheduler"))
    out.append((pods["traefik-dask-gateway"], scheduler, 8787, "gateway traefik → scheduler dashboard"))
    out.append((pods["api-dask-gateway"], scheduler, 8788, "gateway API → scheduler API"))
    out.append((pods["api-dask-gateway"], pods["hub"], 8081, "gateway → hub API (token check)"))
    out.append((worker, scheduler, 8786, "worker → scheduler"))
    api = urlsplit(next(e["value"] for e in scheduler_pod["spec"]["containers"][0]["env"] if e["name"] == "DASK_GATEWAY_API_URL"))
    _, workload, _, port = _service_backend(release, api.hostname or "", api.port or 80)
    out.append((scheduler, pods[workload], port, f"scheduler → {api.geturl()} (heartbeats)"))
    # Workers listen on a random port: the scheduler and other workers connect to it.
    out.append((scheduler, worker, 40123, "scheduler → worker"))
    out.append((worker, worker, 40123, "worker → worker (data transfer)"))
    out.append((user, pods["hub"], 8081, "notebook → hub API"))
    out.append((pods[W.GUARD_NAME], pods["traefik-dask-gateway"], W.TRAEFIK_WEB_PORT, "dashboard guard → gateway traefik"))
    out.append((pods[W.GUARD_NAME], pods["hub"], 8081, "dashboard guard → hub API (logins, tokens)"))
    out.append((pods["hub"], pods[W.GUARD_NAME], W.GUARD_PORT, "hub → its dask-gateway service (at start)"))
    return out


@pytest.mark.parametrize("semantics", netpol.SEMANTICS)
def test_network_policies_allow_every_path(release: Release, hub_of, gateway_of, semantics: str) -> None:
    gw = gateway_of(release)
    policies = release.all("NetworkPolicy")
    refused = []
    for src, dst, port, why in _paths(release, hub_of(release), gw):
        problem = netpol.reason(policies, src, dst, port, semantics)
        if problem:
            refused.append(f"{why}: {problem}")
    assert not refused, f"{release.example}:\n" + "\n".join(refused)


# --- 5. what the platform promises ----------------------------------------------------------------------------------


def test_hub_database_survives_uninstall(release: Release) -> None:
    pvc = release.get("PersistentVolumeClaim", "hub-db-dir")
    assert (pvc["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") == "keep", (
        f"{release.example}: PVC hub-db-dir has no helm.sh/resource-policy: keep — `helm uninstall` deletes the hub database"
    )


def test_shared_password_reaches_the_hub(release: Release, hub_of) -> None:
    if not shared_password(release):
        pytest.skip("not a shared-password config")
    hub = hub_of(release)
    assert hub["error"] is None, "the hub configuration does not execute"
    auth = hub["authenticator"]
    assert auth["class"].endswith("SharedPasswordAuthenticator")
    assert auth["user_password_set"] or auth["admin_password_set"], f"{release.example}: no password reaches the hub"
    nobody = [line for line in hub["log"] if "will be able to login" in line]  # nobody / no admin / no non-admin
    assert not nobody, f"{release.example}: the hub logs {nobody[0]}"


def test_github_callback_is_the_real_address(render, hub_of, request: pytest.FixtureRequest) -> None:
    from tests.charts.conftest import EXAMPLES, MAY_BE_REFUSED, Refused

    checked = []
    for name in sorted(EXAMPLES):
        cfg = yaml.safe_load(EXAMPLES[name].read_text())
        if (cfg.get("hub") or {}).get("auth", {}).get("type") != "github":
            continue
        try:
            release = render(name)
        except Refused as e:
            if name in MAY_BE_REFUSED:
                assert "domain" in str(e), f"{name} is refused, but not for its missing domain: {e}"
            continue  # any other refusal fails in the tests that take `release`
        hub = hub_of(release)
        assert hub["error"] is None, f"{name}: the hub configuration does not execute"
        callback = hub["authenticator"]["oauth_callback_url"] or ""
        domain = (cfg.get("hub") or {}).get("domain")
        if domain and release.https:  # (the HTTP-only stage before DNS resolves has its plain address)
            assert callback == f"https://{domain}/hub/oauth_callback", f"{name}: oauth_callback_url {callback!r}"
        assert "localhost" not in callback and "127.0.0.1" not in callback, f"{name}: GitHub would send users to {callback}"
        auth = hub["authenticator"]
        assert auth["client_secret_set"], f"{name}: GitHubOAuthenticator has no client secret"
        assert auth["allowed_organizations"] or auth["allowed_users"], f"{name}: GitHub login without an allow rule"
        checked.append(name)
    assert checked


def _pod_specs(release: Release, hub: dict[str, Any], gw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    specs = [(f"{obj['kind']} {obj['metadata']['name']}", t["spec"]) for obj, t in release.workloads() if obj["kind"] != "DaemonSet"]
    specs += [(f"profile {name}", pod["spec"]) for name, pod in user_pods(hub).items()]
    scheduler_pod, worker_pod = gateway_pods(gw)
    specs += [("dask scheduler", scheduler_pod["spec"]), ("dask worker", worker_pod["spec"])]
    return specs


def test_every_pod_can_schedule(release: Release, hub_of, gateway_of) -> None:
    nodes = pools(release)
    stuck = []
    for what, spec in _pod_specs(release, hub_of(release), gateway_of(release)):
        reasons = [why_not(spec, pool) for pool in nodes]
        if all(reasons):
            stuck.append(f"{what}: no node fits — " + "; ".join(f"{p.name}: {r}" for p, r in zip(nodes, reasons, strict=True)))
    assert not stuck, f"{release.example}:\n" + "\n".join(stuck)


# Device plugins that give a node's GPUs to pods: (tolerations, nodeSelector). GKE installs its own
# (the nvidia-gpu-device-plugin addon DaemonSet, `tolerations: [{operator: Exists}]`) on GPU nodes; eksctl installs NVIDIA's, which tolerates nvidia.com/gpu only (FIELD-NOTES "Real charts");
# AKS installs none. NVIDIA's chart tolerates nvidia.com/gpu (and CriticalAddonsOnly) unless told otherwise.
CLOUD_DEVICE_PLUGIN = {
    "gcp": [{"operator": "Exists", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute"}],
    "aws": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
}
NVIDIA_CHART_TOLERATIONS = [
    {"key": "CriticalAddonsOnly", "operator": "Exists"},
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
]


def _device_plugins(release: Release) -> list[tuple[list[dict[str, Any]], dict[str, str]]]:
    plugins = [(CLOUD_DEVICE_PLUGIN[release.cloud], {})] if release.cloud in CLOUD_DEVICE_PLUGIN else []
    for obj in release.all("DaemonSet"):
        if "nvidia" in obj["metadata"]["name"] or "device-plugin" in obj["metadata"]["name"]:
            spec = obj["spec"]["template"]["spec"]
            plugins.append((spec.get("tolerations") or [], spec.get("nodeSelector") or {}))
    for argv in release.commands():
        if argv[:2] == ["helm", "upgrade"] and any("k8s-device-plugin" in a or a == "nvidia-device-plugin" for a in argv):
            sets = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv[:-1]) if a == "--set-json")
            plugins.append((json.loads(sets.get("tolerations", "null")) or NVIDIA_CHART_TOLERATIONS, json.loads(sets.get("nodeSelector", "{}"))))
    return plugins


def test_gpu_profiles_get_a_gpu(release: Release, hub_of) -> None:
    profiles = [p for p in (release.cfg.get("hub") or {}).get("profiles") or [] if p.get("gpu")]
    if not profiles:
        pytest.skip("no GPU profile")
    pods = user_pods(hub_of(release))
    nodes = pools(release)
    for p in profiles:
        spec = pods[p["name"]]["spec"]
        limits = spec["containers"][0].get("resources", {}).get("limits") or {}
        assert str(limits.get("nvidia.com/gpu")) == str(p["gpu"]), f"profile {p['name']}: limits {limits}"
        gpu_pools = [pool for pool in nodes if pool.gpus and why_not(spec, pool) is None]
        assert gpu_pools, f"profile {p['name']}: lands on no GPU pool — " + "; ".join(f"{x.name}: {why_not(spec, x)}" for x in nodes)
        for pool in gpu_pools:
            plugins = _device_plugins(release)
            served = [
                tol
                for tol, selector in plugins
                if all(pool.labels.get(k) == v for k, v in selector.items())
                and all(_tolerates(tol, taint) for taint in pool.taints if taint["effect"] in ("NoSchedule", "NoExecute"))
            ]
            assert served, (
                f"{release.example}: no NVIDIA device plugin runs on the {pool.name} pool (taints {pool.taints}; "
                f"plugins tolerate {plugins or 'nothing — none is installed'}): the pod would wait for nvidia.com/gpu forever"
            )


def _fits(pool: Pool, pods: list[tuple[str, dict[str, Any]]], daemonsets: list[dict[str, Any]]) -> str | None:
    alloc = pool.allocatable()
    if alloc is None:
        return None
    cpu, mem = alloc
    ds = [requests(d) for d in daemonsets if why_not(d, pool) is None]
    need_cpu = sum(c for c, _ in ds) + sum(requests(s)[0] for _, s in pods)
    need_mem = sum(m for _, m in ds) + sum(requests(s)[1] for _, s in pods)
    if need_cpu > cpu or need_mem > mem:
        names = ", ".join(n for n, _ in pods)
        return f"{names} need {need_cpu:.2f} CPU / {need_mem / 2**30:.1f} GiB with the DaemonSets; the {pool.name} node allocates {cpu:.2f} CPU / {mem / 2**30:.1f} GiB"
    return None


def test_every_pod_fits_its_pool(release: Release, hub_of, gateway_of) -> None:
    nodes = pools(release)
    hub, gw = hub_of(release), gateway_of(release)
    daemonsets = [t["spec"] for obj, t in release.workloads() if obj["kind"] == "DaemonSet"]
    single = len(nodes) == 1
    # On a single node the release's own pods share it with each user pod.
    core = (
        [(f"{obj['kind']} {obj['metadata']['name']}", t["spec"]) for obj, t in release.workloads() if obj["kind"] in ("Deployment",)]
        if single
        else []
    )
    problems = []
    for what, spec in _pod_specs(release, hub, gw):
        if not (what.startswith("profile") or what.startswith("dask")):
            continue
        for pool in nodes:
            if why_not(spec, pool) is None:
                problem = _fits(pool, [*core, (what, spec)], daemonsets)
                if problem:
                    problems.append(problem)
    # The release's own pods (hub, proxy, gateway, ...) share the pool only they can use, replicas included.
    if not single:
        for pool in nodes:
            mine = []
            for obj, t in release.workloads():
                if obj["kind"] in ("Deployment", "StatefulSet") and [p.name for p in nodes if why_not(t["spec"], p) is None] == [pool.name]:
                    mine += [(f"{obj['kind']} {obj['metadata']['name']}", t["spec"])] * int(obj["spec"].get("replicas", 1))
            problem = _fits(pool, mine, daemonsets) if mine else None
            if problem:
                problems.append(problem)
    assert not problems, f"{release.example}:\n" + "\n".join(problems)


def test_kind_hub_is_reachable_from_the_host(release: Release) -> None:
    if release.cloud != "kind":
        pytest.skip("kind only")
    svc = release.get("Service", "proxy-public")
    ports = [p for p in svc["spec"]["ports"] if p.get("nodePort")]
    assert svc["spec"].get("type") == "NodePort" and ports, "proxy-public has no fixed nodePort: kind cannot map a random one to the host"
    spec = yaml.safe_load((release.out / "kind.yaml").read_text())
    mapped = {m["containerPort"] for node in spec.get("nodes") or [] for m in node.get("extraPortMappings") or []}
    assert any(p["nodePort"] in mapped for p in ports), (
        f"kind.yaml maps {sorted(mapped) or 'no port'}; proxy-public listens on nodePort {[p['nodePort'] for p in ports]}"
    )


def test_secrets_from_outside_the_chart_are_created_by_up(release: Release) -> None:
    """Pods may read Secrets the chart does not render (passwords, the OAuth secret): `up` must create each key."""
    created: dict[str, set[str]] = {}
    for line in (release.out / "commands.sh").read_text().splitlines():
        m = re.search(r"# stdin: Secret (\S+) \((.*)\)$", line)
        if m:
            created.setdefault(m[1], set()).update(re.findall(r"(?:^|, )(\S+) from ", m[2]))
    missing = []
    for obj, template in release.workloads():
        for c in template["spec"]["containers"] + (template["spec"].get("initContainers") or []):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if (
                    ref
                    and not ref.get("optional")
                    and release.find("Secret", ref["name"]) is None
                    and ref["key"] not in created.get(ref["name"], set())
                ):
                    missing.append(f"{obj['kind']} {obj['metadata']['name']}: env {e['name']} reads Secret {ref['name']} key {ref['key']}")
    assert not missing, f"{release.example}: nothing in commands.sh creates (found {created}):\n" + "\n".join(missing)


IMAGE_LOCK = Path(__file__).resolve().parents[2] / "images" / "pangeo-geo" / "requirements.lock"


def _image_scripts() -> tuple[set[str], list[str]]:
    """Console scripts of the pangeo-geo image's pinned distributions (those installed here at the same version)."""
    import importlib.metadata as md

    scripts, unchecked = {"python", "python3", "tini", "sh", "bash"}, []
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s\\]+)", IMAGE_LOCK.read_text(), re.M):
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            unchecked.append(name)
            continue
        if dist.version != version:
            unchecked.append(name)
            continue
        scripts.update(ep.name for ep in dist.entry_points if ep.group == "console_scripts")
    return scripts, unchecked


def test_dask_pods_run_commands_the_image_has(release: Release, gateway_of) -> None:
    """The controller starts schedulers and workers with the cluster config's command inside the worker image."""
    scheduler, worker = gateway_pods(gateway_of(release))
    scripts, unchecked = _image_scripts()
    wrong = []
    for pod in (scheduler, worker):
        c = pod["spec"]["containers"][0]
        if not c["image"].startswith("ghcr.io/pangeoctl/pangeo-geo:"):
            continue  # another image: its contents are not known here
        exe = (c.get("command") or c.get("args") or [""])[0]
        if exe not in scripts:
            wrong.append(f"{c['name']} runs {exe!r}, which no distribution pinned in images/pangeo-geo/requirements.lock installs")
    unknown = ", ".join(unchecked) or "none"
    assert not wrong, f"{release.example}: " + "; ".join(wrong) + f" (dask-gateway-server's default; not checked: {unknown})"


# How each target enforces NetworkPolicy, as the commands `up` runs show it (FIELD-NOTES "Cloud CLIs"):
# GKE Dataplane V2, AKS Cilium, Calico on EKS (the VPC CNI enforces none by default and skips user pods) and
# on minikube. kind's and an existing cluster's CNI are not ours to choose.
ENFORCED_BY = {
    "gcp": ("--enable-dataplane-v2",),
    "azure": ("--network-policy",),
    "aws": ("tigera-operator", "calico", "enableNetworkPolicy"),
    "minikube": ("--cni",),
}


def test_network_policies_are_enforced_on_the_target(release: Release) -> None:
    if release.cloud not in ENFORCED_BY:
        pytest.skip(f"{release.cloud}: the cluster's CNI is not chosen by pangeoctl")
    text = (release.out / "commands.sh").read_text() + "".join(p.read_text() for p in release.out.glob("*.yaml") if not p.name.startswith("values"))
    assert any(marker in text for marker in ENFORCED_BY[release.cloud]), (
        f"{release.example}: nothing in commands.sh or the cluster spec turns on NetworkPolicy enforcement ({' / '.join(ENFORCED_BY[release.cloud])})"
    )


def test_users_and_their_servers_may_use_the_gateway(release: Release, hub_of) -> None:
    """The gateway checks access:services!service=dask-gateway (jupyterhubServiceName): users and servers need it."""
    hub = hub_of(release)
    assert hub["error"] is None, "the hub configuration does not execute"
    env = {k: v for pod in user_pods(hub).values() for k, v in env_of(pod).items()}
    assert env.get("DASK_GATEWAY__AUTH__TYPE") == "jupyterhub", f"user pods authenticate to the gateway with {env.get('DASK_GATEWAY__AUTH__TYPE')!r}"
    for role in ("user", "server"):
        assert "access:services!service=dask-gateway" in hub["roles"].get(role, []), f"role {role}: scopes {hub['roles'].get(role)}"


def test_hub_serves_our_page_templates(release: Release, hub_of) -> None:
    """Every template_paths directory under the hub's config dir is mounted, and its pages are the ones served."""
    hub = hub_of(release)
    assert hub["error"] is None, "the hub configuration does not execute"
    for base, found in (hub.get("templates") or {}).items():
        assert found["exists"], f"{release.example}: hub template_paths {base} is not mounted in the hub pod"
        for name in found["files"]:
            served = found[name]
            assert not served.startswith("error:"), f"{release.example}: the hub cannot load {base}/{name}: {served}"
            assert served.endswith(f"{base}/{name}"), f"{release.example}: the hub serves {name} from {served}, not from {base}"


# --- users' scratch bucket ----------------------------------------------------------------------------------


def test_scratch_identity_reaches_user_and_dask_pods(release: Release, hub_of: Any, gateway_of: Any) -> None:
    """With ``hub.user_identity.scratch_bucket``: every user pod KubeSpawner builds runs as the mapped
    ServiceAccount with its own prefix in $SCRATCH_BUCKET, the gateway's Dask pods run as it too, and only
    GKE (whose metadata server serves the pod's own identity) opens the metadata address."""
    from pangeoctl.clouds.base import SCRATCH_ENV, SCRATCH_SA

    if not ((release.cfg.get("hub") or {}).get("user_identity") or {}).get("scratch_bucket"):
        pytest.skip("no scratch bucket")
    hub = hub_of(release)
    for i, (name, pod) in enumerate(hub["profiles"].items()):
        assert pod["pod"] is not None, f"{release.example} profile {name}: KubeSpawner cannot build the pod:\n{pod['error']}"
        spec = pod["pod"]["spec"]
        assert spec["serviceAccountName"] == SCRATCH_SA
        url = env_of(pod["pod"])[SCRATCH_ENV]
        assert url.endswith(f"/user{i}") and url.split("://")[0] in ("gs", "s3", "az"), f"{name}: {SCRATCH_ENV}={url}"
        inits = [c["name"] for c in spec.get("initContainers") or []]
        if release.cloud == "gcp":
            assert "block-cloud-metadata" not in inits, "GKE Workload Identity needs the metadata server"
        if release.cloud == "azure":
            assert pod["pod"]["metadata"]["labels"].get("azure.workload.identity/use") == "true"
    scheduler, worker = gateway_pods(gateway_of(release))
    for pod in (scheduler, worker):
        assert pod["spec"]["serviceAccountName"] == SCRATCH_SA
        if release.cloud == "azure":
            assert pod["metadata"]["labels"].get("azure.workload.identity/use") == "true"
    dask_policy = next(p for p in release.all("NetworkPolicy") if p["metadata"]["name"].endswith("-dask-clusters"))
    blocked = [cidr for rule in dask_policy["spec"]["egress"] for to in rule.get("to", []) for cidr in (to.get("ipBlock") or {}).get("except", [])]
    assert ("169.254.169.254/32" in blocked) == (release.cloud != "gcp")

"""The Kubernetes view of the wiring: helm values for ``helm/pangeo`` — the ``jupyterhub:`` (z2jh 4.4.0)
and ``dask-gateway:`` (dask-gateway 2026.3.0) sections.

Pure. Every fact shared with the local platform comes from :mod:`pangeoctl.wiring`; this module only says
it in the charts' words. Helm coalesces subchart defaults ← ``helm/pangeo/values.yaml`` ← these values,
and :func:`coalesce` does the same for the schema tests and for ``validate``.
"""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from pangeoctl import clouds, gateway_extra
from pangeoctl import wiring as W
from pangeoctl.clouds.base import SCRATCH_ENV, SCRATCH_SA, STORAGE_CLASS
from pangeoctl.config import MANAGED_CLOUDS, Config, GitHubAuth
from pangeoctl.render.placement import pod_rules
from pangeoctl.units import format_memory, k8s_quantity

HUB_SECRET = "pangeo-hub-auth"  # Kubernetes Secret the runner creates from the login secrets' references
# env var the hub reads → key in that Secret
HUB_SECRET_KEYS = {W.GITHUB_SECRET_ENV: "github-client-secret", W.SHARED_PASSWORD_ENV: "shared-password", W.ADMIN_PASSWORD_ENV: "admin-password"}
HUB_TEMPLATES_MOUNT = "/usr/local/etc/jupyterhub/pangeoctl-templates"
LAB_SETTINGS_MOUNT = "/etc/pangeoctl/lab"
SINGLE_NODE = ("kind", "minikube")  # one node, no pool labels, no load balancer

# Fixed code, not generated: sets the login secrets from the hub's environment (filled from HUB_SECRET).
HUB_SECRETS_FROM_ENV = f"""import os
for _cls, _trait, _var in (
    ("SharedPasswordAuthenticator", "user_password", {W.SHARED_PASSWORD_ENV!r}),
    ("SharedPasswordAuthenticator", "admin_password", {W.ADMIN_PASSWORD_ENV!r}),
):
    if os.environ.get(_var):
        setattr(c[_cls], _trait, os.environ[_var])
"""


def split_image(ref: str) -> dict[str, str]:
    """``registry/name:tag`` → z2jh's ``{name, tag}``; digests keep working as ``name@sha256`` + hex."""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon <= slash:
        raise ValueError(f"image {ref!r} has no tag")
    return {"name": ref[:colon], "tag": ref[colon + 1 :]}


def coalesce(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge like Helm's ``CoalesceValues``: overlay wins, maps merge, ``None`` deletes the key."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = coalesce(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def hub_url(cfg: Config) -> str | None:
    """The address people open, when the plan can know it (a domain, or kind's port on localhost)."""
    if cfg.hub.domain:
        return f"{'https' if cfg.https_enabled else 'http'}://{cfg.hub.domain}"
    if cfg.cloud == "kind":
        return f"http://127.0.0.1:{W.KIND_HOST_PORT}"
    return None


def kube_wiring(cfg: Config) -> W.Wiring:
    return W.wiring(cfg, W.kubernetes_endpoints(cfg, hub_url(cfg)), containers=True)


def render_values(cfg: Config) -> dict[str, Any]:
    """Helm values for ``helm/pangeo`` from a validated config."""
    w = kube_wiring(cfg)
    out = {"jupyterhub": _jupyterhub(cfg, w), "dask-gateway": _dask_gateway(cfg, w), "dashboardGuard": _dashboard_guard(cfg)}
    scratch = clouds.get(cfg.cloud).scratch(cfg)
    if scratch is not None and scratch.metadata_server:
        out["networkPolicy"] = {"workloadIdentityMetadata": True}
    return out


def _load_balancer(cfg: Config) -> dict[str, Any]:
    """The proxy's load balancer tagged for this platform, so `down --verify` finds it. (The address `up`
    reserves for the hub is given at install time: `helm.upgrade(address=…)`.)"""
    tag = f"pangeoctl={cfg.name}"
    if cfg.cloud == "aws":
        return {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": tag}}
    if cfg.cloud == "azure":
        return {"annotations": {"service.beta.kubernetes.io/azure-pip-tags": tag}}
    return {}


def kubespawner_env(env: dict[str, str]) -> dict[str, str]:
    """KubeSpawner formats every env value with ``str.format`` (user name, …): literal braces are doubled."""
    return {k: v.replace("{", "{{").replace("}", "}}") for k, v in env.items()}


def _jupyterhub(cfg: Config, w: W.Wiring) -> dict[str, Any]:
    single = cfg.cloud in SINGLE_NODE
    hub: dict[str, Any] = {
        "config": {
            **w.hub_config,
            "JupyterHub": {**w.hub_config["JupyterHub"], "template_paths": [HUB_TEMPLATES_MOUNT]},
            "KubeSpawner": {"args": [*W.SERVER_ARGS, W.LAB_SETTINGS_ARG.format(LAB_SETTINGS_MOUNT)]},
        },
        # The same page templates as the local hub's, mounted from the package.
        "extraFiles": {
            f"pangeoctl-{t.stem}": {"mountPath": f"{HUB_TEMPLATES_MOUNT}/{t.name}", "stringData": t.read_text()}
            for t in sorted(W.HUB_TEMPLATES.glob("*.html"))
        },
        "loadRoles": {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in w.roles},
        "services": {
            # The hub registers the gateway's prefix as a service, generates its API token into the `hub`
            # Secret, and the proxy routes the prefix to the dashboard guard, which passes it to the gateway's
            # traefik (dashboards only for their owner). The guard is that service's OAuth client: no consent page.
            W.GATEWAY_SERVICE: {"display": False, "url": f"http://{W.GUARD_NAME}:{W.GUARD_PORT}", "oauth_no_confirm": True},
            W.ADMIN_SERVICE: {"display": False},
        },
        "extraEnv": {var: {"valueFrom": {"secretKeyRef": {"name": HUB_SECRET, "key": HUB_SECRET_KEYS[var]}}} for var in w.secrets_env},
        # `helm uninstall` would delete the hub database with its PVC; `down` promises to keep it.
        "db": {"pvc": {"annotations": {"helm.sh/resource-policy": "keep"}}},
    }
    if cfg.cloud in MANAGED_CLOUDS:  # disks from the StorageClass `up` creates: tagged, so `down --verify` finds them
        hub["db"]["pvc"]["storageClassName"] = STORAGE_CLASS
    if not isinstance(cfg.hub.auth, GitHubAuth):
        hub["extraConfig"] = {"pangeoctl-secrets": HUB_SECRETS_FROM_ENV}
    # Cilium (GKE Dataplane V2, AKS) never matches pod IPs with ipBlock (cilium/cilium#19601), and the
    # proxy reaches private IPs only through such a rule: allow the gateway's traefik by pod labels.
    traefik_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": W.GATEWAY_RELEASE_NAME, "app.kubernetes.io/component": "traefik"}}}
    to_guard = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": W.GUARD_NAME}}}], "ports": [{"port": W.GUARD_PORT}]}
    proxy: dict[str, Any] = {
        "service": {"type": "NodePort", "nodePorts": {"http": W.HUB_NODE_PORT}} if single else {"type": "LoadBalancer", **_load_balancer(cfg)},
        "chp": {"networkPolicy": {"egress": [{"to": [traefik_pods], "ports": [{"port": W.TRAEFIK_WEB_PORT}]}, to_guard]}},
    }
    hub["networkPolicy"] = {"egress": [to_guard]}  # the hub waits for its services' URLs at start
    if cfg.https_enabled:
        proxy["https"] = {
            "enabled": True,
            "type": "letsencrypt",
            "hosts": [cfg.hub.domain],
            "letsencrypt": {"contactEmail": cfg.hub.https.contact_email},
        }
    default = next((p for p in cfg.hub.profiles if p.default), cfg.hub.profiles[0] if cfg.hub.profiles else None)
    singleuser: dict[str, Any] = {
        "image": split_image(cfg.image),
        "storage": {
            "capacity": k8s_quantity(cfg.hub.home_storage),
            **({"dynamic": {"storageClass": STORAGE_CLASS}} if cfg.cloud in MANAGED_CLOUDS else {}),
        },
        "extraEnv": kubespawner_env(w.user_env),
        "extraFiles": {"pangeoctl-lab-settings": {"mountPath": f"{LAB_SETTINGS_MOUNT}/overrides.json", "data": W.LAB_OVERRIDES}},
        "networkPolicy": {"egress": [{"to": [traefik_pods], "ports": [{"port": W.TRAEFIK_WEB_PORT}, {"port": W.TRAEFIK_TCP_PORT}]}]},
        "profileList": [_profile(cfg, p) for p in cfg.hub.profiles],
    }
    scratch = clouds.get(cfg.cloud).scratch(cfg)
    if scratch is not None:
        # KubeSpawner fills in {username}: each user's own prefix of the bucket.
        singleuser["extraEnv"].update({SCRATCH_ENV: f"{scratch.url}/{{username}}", **kubespawner_env(scratch.env)})
        singleuser["serviceAccountName"] = SCRATCH_SA
        if scratch.pod_labels:
            singleuser["extraLabels"] = scratch.pod_labels
        if scratch.metadata_server:  # the identity comes from GKE's metadata server, which shows pods nothing else
            singleuser["cloudMetadata"] = {"blockWithIptables": False}
            singleuser["networkPolicy"]["egressAllowRules"] = {"cloudMetadataServer": True}
    if default is not None:
        singleuser["cpu"] = {"limit": default.cpu, "guarantee": default.cpu}
        singleuser["memory"] = {"limit": format_memory(default.memory), "guarantee": format_memory(default.memory)}
    # Pools are labelled on clouds we create; kind, minikube and an existing cluster's nodes are not.
    purpose = "require" if cfg.cloud in MANAGED_CLOUDS else "prefer"
    values: dict[str, Any] = {
        "hub": hub,
        "proxy": proxy,
        "singleuser": singleuser,
        "scheduling": {
            "userScheduler": {"enabled": not single},
            "podPriority": {"enabled": True},
            "userPlaceholder": {"enabled": True, "replicas": 0},
            "corePods": {"nodeAffinity": {"matchNodePurpose": purpose}},
            "userPods": {"nodeAffinity": {"matchNodePurpose": purpose}},
        },
        "cull": {"enabled": True, "timeout": w.cull.timeout, "every": w.cull.every, "maxAge": w.cull.max_age},
        "prePuller": {"hook": {"enabled": not single}, "continuous": {"enabled": not single}},
    }
    return values


def _dashboard_guard(cfg: Config) -> dict[str, Any]:
    """``helm/pangeo``'s dashboard guard: the module's source and where it sits between proxy, hub and gateway."""
    guard: dict[str, Any] = {
        "enabled": True,
        "name": W.GUARD_NAME,
        "port": W.GUARD_PORT,
        "hubService": W.GATEWAY_SERVICE,
        "hubSecret": W.Z2JH_HUB_SECRET,
        "hubApi": W.HUB_API_K8S,
        "upstream": f"http://{W.TRAEFIK_SERVICE}:{W.TRAEFIK_PORT}",
        "source": W.DASHBOARD_GUARD.read_text(),
    }
    if cfg.cloud in MANAGED_CLOUDS:
        guard.update(pod_rules(cfg.cloud, "core", cfg.cluster.pools.core.spot))
    return guard


def _profile(cfg: Config, p: Any) -> dict[str, Any]:
    override: dict[str, Any] = {
        "cpu_guarantee": p.cpu,
        "cpu_limit": p.cpu,
        "mem_guarantee": format_memory(p.memory),
        "mem_limit": format_memory(p.memory),
    }
    if p.image:
        override["image"] = p.image
    if p.gpu:
        gpu_pool = cfg.cluster.pools.gpu
        rules = pod_rules(cfg.cloud, "gpu", gpu_pool.spot if gpu_pool else False)
        override["extra_resource_limits"] = {"nvidia.com/gpu": str(p.gpu)}
        override["node_selector"] = rules["nodeSelector"]
        override["tolerations"] = rules["tolerations"]
    elif cfg.cloud in MANAGED_CLOUDS:
        override["node_selector"] = pod_rules(cfg.cloud, "user", cfg.cluster.pools.user.spot)["nodeSelector"]
    return {"display_name": p.name, "description": p.description, "default": p.default, "kubespawner_override": override}


def dask_memory(nbytes: int) -> str | int:
    """Memory as dask-gateway's ``MemoryLimit`` reads it: K/M/G/T suffixes are powers of 1024 (it refuses "Gi")."""
    for suffix, size in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if nbytes % size == 0:
            return f"{nbytes // size}{suffix}"
    return nbytes


def gateway_extra_config(data: dict[str, Any]) -> str:
    """The chart's ``gateway.extraConfig``: :mod:`pangeoctl.gateway_extra`'s fixed source, then one call with
    the data as a JSON literal (the gateway image has no pangeoctl to import)."""
    source = inspect.getsource(gateway_extra)
    call = f"\nimport json as _json\nconfigure(c, _json.loads({json.dumps(json.dumps(data, sort_keys=True))}), {W.KUBE_BACKEND!r})\n"
    return source + call


def _dask_gateway(cfg: Config, w: W.Wiring) -> dict[str, Any]:
    managed = cfg.cloud in MANAGED_CLOUDS
    scheduler_extra: dict[str, Any] = {}
    worker_extra: dict[str, Any] = {}
    core_selector: dict[str, Any] = {}
    if managed:
        scheduler_extra = pod_rules(cfg.cloud, "user", cfg.cluster.pools.user.spot)
        worker_extra = pod_rules(cfg.cloud, "worker", cfg.cluster.pools.worker.spot)
        core_selector = pod_rules(cfg.cloud, "core", cfg.cluster.pools.core.spot)["nodeSelector"]
    memory = dask_memory(w.dask["scheduler_memory"])
    data = dict(w.dask)
    scratch_env: dict[str, Any] = {}
    scratch = clouds.get(cfg.cloud).scratch(cfg)
    if scratch is not None:  # Dask pods run user code too: the same identity, so workers can write to the bucket
        scheduler_extra = {**scheduler_extra, "serviceAccountName": SCRATCH_SA}
        worker_extra = {**worker_extra, "serviceAccountName": SCRATCH_SA}
        data["pod_labels"] = scratch.pod_labels
        # What the storage library reads from the environment (Azure: the account) must be on the workers too:
        # a pickled filesystem carries only its constructor's arguments.
        scratch_env = {"env": [{"name": k, "value": v} for k, v in scratch.env.items()]} if scratch.env else {}
    gateway: dict[str, Any] = {
        "prefix": W.GATEWAY_PREFIX,
        "auth": {
            "type": "jupyterhub",
            "jupyterhub": {
                "apiUrl": w.endpoints.hub_api,
                # The token the jupyterhub subchart generated for the service, and the service name, so the
                # gateway checks that a token carries access:services!service=dask-gateway.
                "apiTokenFromSecretName": W.Z2JH_HUB_SECRET,
                "apiTokenFromSecretKey": f"hub.services.{W.GATEWAY_SERVICE}.apiToken",
                "jupyterhubServiceName": W.GATEWAY_SERVICE,
            },
        },
        "backend": {
            "image": split_image(cfg.worker_image),
            "scheduler": {
                "cores": {"request": w.dask["scheduler_cores"], "limit": w.dask["scheduler_cores"]},
                "memory": {"request": memory, "limit": memory},
                "extraPodConfig": scheduler_extra,
                **({"extraContainerConfig": scratch_env} if scratch_env else {}),
            },
            "worker": {"extraPodConfig": worker_extra, **({"extraContainerConfig": scratch_env} if scratch_env else {})},
        },
        "extraConfig": {"pangeoctl": gateway_extra_config(data)},
    }
    out: dict[str, Any] = {
        "fullnameOverride": W.GATEWAY_RELEASE_NAME,
        "gateway": gateway,
        # Reached through the hub's proxy; no second public load balancer.
        "traefik": {"service": {"type": "ClusterIP"}},
    }
    if core_selector:
        gateway["nodeSelector"] = core_selector
        out["controller"] = {"nodeSelector": core_selector}
        out["traefik"]["nodeSelector"] = core_selector
    return out

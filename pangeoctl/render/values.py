"""Config → helm values for ``helm/pangeo``: the ``jupyterhub:`` (z2jh 4.4.0) and ``dask-gateway:``
(dask-gateway 2026.3.0) sections.

Pure. The stable wiring that never depends on pangeo.yaml (service names, the gateway's prefix, its auth
type) sits in ``helm/pangeo/values.yaml``; this module renders only what the file decides. Helm coalesces
subchart defaults ← ``helm/pangeo/values.yaml`` ← these values, and :func:`coalesce` does the same for the
schema tests and for ``validate``.
"""

from __future__ import annotations

import copy
from typing import Any

from pangeoctl.config import Config, GitHubAuth
from pangeoctl.render.gateway import gateway_config
from pangeoctl.render.placement import pod_rules
from pangeoctl.units import format_memory, k8s_quantity

GITHUB_SECRET = "pangeo-github-oauth"  # Kubernetes Secret the runner creates from the reference
GITHUB_SECRET_KEY = "client-secret"
GATEWAY_SERVICE = "dask-gateway"  # JupyterHub service name == dask-gateway's jupyterhubServiceName
GATEWAY_PREFIX = f"/services/{GATEWAY_SERVICE}"
TRAEFIK_SERVICE = "traefik-dask-gateway"  # from `dask-gateway.fullnameOverride: dask-gateway`


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


def render_values(cfg: Config) -> dict[str, Any]:
    """Helm values for ``helm/pangeo`` from a validated config."""
    return {"jupyterhub": _jupyterhub(cfg), "dask-gateway": _dask_gateway(cfg)}


def _jupyterhub(cfg: Config) -> dict[str, Any]:
    cloud = cfg.cloud
    hub: dict[str, Any] = {
        "config": _auth_config(cfg),
        # Users and their servers may reach the gateway; nothing else about services.
        "loadRoles": {
            "user": {"scopes": ["self", f"access:services!service={GATEWAY_SERVICE}"]},
            "server": {"scopes": ["users:activity!user", "access:servers!server", f"access:services!service={GATEWAY_SERVICE}"]},
            # `pangeoctl check` creates a temporary user, starts its server and removes it again.
            "pangeoctl-check": {"services": ["pangeoctl"], "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]},
        },
    }
    if isinstance(cfg.hub.auth, GitHubAuth):
        hub["extraEnv"] = {"GITHUB_CLIENT_SECRET": {"valueFrom": {"secretKeyRef": {"name": GITHUB_SECRET, "key": GITHUB_SECRET_KEY}}}}
    proxy: dict[str, Any] = {"service": {"type": "LoadBalancer"}}
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
        "storage": {"capacity": k8s_quantity(cfg.hub.home_storage)},
        "extraEnv": {
            "DASK_GATEWAY__ADDRESS": f"http://proxy-public{GATEWAY_PREFIX}",
            "DASK_GATEWAY__PROXY_ADDRESS": f"gateway://{TRAEFIK_SERVICE}:80",
            "DASK_GATEWAY__PUBLIC_ADDRESS": f"{GATEWAY_PREFIX}/",
            "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
            # Workers run the notebook's own image unless the user asks otherwise.
            "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE": "{JUPYTER_IMAGE_SPEC}",
        },
        "networkPolicy": {
            "egress": [{"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "traefik"}}}]}],
        },
        "profileList": [_profile(cfg, p) for p in cfg.hub.profiles],
    }
    if default is not None:
        singleuser["cpu"] = {"limit": default.cpu, "guarantee": default.cpu}
        singleuser["memory"] = {"limit": format_memory(default.memory), "guarantee": format_memory(default.memory)}
    values: dict[str, Any] = {
        "hub": hub,
        "proxy": proxy,
        "singleuser": singleuser,
        "scheduling": {
            "userScheduler": {"enabled": True},
            "podPriority": {"enabled": True},
            "userPlaceholder": {"enabled": True, "replicas": 0},
            "corePods": {"nodeAffinity": {"matchNodePurpose": "require"}},
            "userPods": {"nodeAffinity": {"matchNodePurpose": "require"}},
        },
        "cull": {
            "enabled": True,
            "timeout": cfg.hub.cull_idle,
            "every": min(600, max(60, cfg.hub.cull_idle // 6)),
            "maxAge": cfg.hub.max_age,
        },
        "prePuller": {"hook": {"enabled": True}, "continuous": {"enabled": True}},
    }
    if cloud in ("kind", "minikube"):
        # One node with no pool labels: let pods land anywhere, and no LoadBalancer to wait for.
        values["scheduling"]["corePods"] = {"nodeAffinity": {"matchNodePurpose": "prefer"}}
        values["scheduling"]["userPods"] = {"nodeAffinity": {"matchNodePurpose": "prefer"}}
        values["scheduling"]["userScheduler"] = {"enabled": False}
        values["proxy"]["service"] = {"type": "NodePort"}
        values["prePuller"] = {"hook": {"enabled": False}, "continuous": {"enabled": False}}
    return values


def _auth_config(cfg: Config) -> dict[str, Any]:
    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        scheme = "https" if cfg.https_enabled else "http"
        host = cfg.hub.domain or "localhost"
        github: dict[str, Any] = {
            "client_id": auth.client_id,
            "oauth_callback_url": f"{scheme}://{host}/hub/oauth_callback",
            "allowed_organizations": auth.allowed_organizations,
            "allowed_users": auth.allowed_users,
            "admin_users": auth.admins,
            # read:org lets membership of private organisations and teams be checked.
            "scope": ["read:org"],
        }
        return {"JupyterHub": {"authenticator_class": "github"}, "GitHubOAuthenticator": github}
    return {
        "JupyterHub": {"authenticator_class": "shared-password"},
        "Authenticator": {"admin_users": auth.admins, "allowed_users": auth.users, "allow_all": auth.allow_all},
    }


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
        rules = pod_rules(cfg.cloud, "gpu", cfg.cluster.pools.gpu.spot if cfg.cluster.pools.gpu else False)
        override["extra_resource_limits"] = {"nvidia.com/gpu": str(p.gpu)}
        override["node_selector"] = rules["nodeSelector"]
        override["tolerations"] = rules["tolerations"]
    elif cfg.cloud in ("gcp", "aws", "azure"):
        override["node_selector"] = pod_rules(cfg.cloud, "user", cfg.cluster.pools.user.spot)["nodeSelector"]
    return {"display_name": p.name, "description": p.description, "default": p.default, "kubespawner_override": override}


def _dask_gateway(cfg: Config) -> dict[str, Any]:
    cloud = cfg.cloud
    managed = cloud in ("gcp", "aws", "azure")
    scheduler_extra: dict[str, Any] = {}
    worker_extra: dict[str, Any] = {}
    core_selector: dict[str, Any] = {}
    if managed:
        scheduler_extra = pod_rules(cloud, "user", cfg.cluster.pools.user.spot)
        worker_extra = pod_rules(cloud, "worker", cfg.cluster.pools.worker.spot)
        core_selector = pod_rules(cloud, "core", cfg.cluster.pools.core.spot)["nodeSelector"]
    gateway: dict[str, Any] = {
        "backend": {
            "image": split_image(cfg.worker_image),
            "scheduler": {
                "cores": {"request": 1, "limit": 1},
                "memory": {"request": "2G", "limit": "2G"},
                "extraPodConfig": scheduler_extra,
            },
            "worker": {"extraPodConfig": worker_extra},
        },
        "extraConfig": {"pangeoctl": gateway_config(cfg, backend="dask_gateway_server.backends.kubernetes.KubeBackend", image_option=True)},
    }
    out: dict[str, Any] = {"gateway": gateway}
    if core_selector:
        gateway["nodeSelector"] = core_selector
        out["controller"] = {"nodeSelector": core_selector}
        out["traefik"] = {"nodeSelector": core_selector}
    return out

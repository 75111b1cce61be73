"""A rendered ``helm/pangeo`` release as objects, and what a pod of it would see at run time.

Kubernetes does a few things between ``helm template`` and a running process: it mounts ConfigMaps and
Secrets as files, resolves ``env`` entries (``secretKeyRef``, ``fieldRef``) and injects
``<SERVICE>_SERVICE_HOST/PORT`` for every Service of the namespace. :func:`materialize` does the same into a
temporary root, so the charts' own hub and gateway configuration code can run on the rendered objects.
"""

from __future__ import annotations

import base64
import ipaddress
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def strip_nulls(data: Any) -> Any:
    """Drop null fields, as the API server does (the chart emits e.g. ``imagePullPolicy: null``)."""
    if isinstance(data, dict):
        return {k: strip_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [strip_nulls(v) for v in data]
    return data


@dataclass
class Release:
    """One rendered release: its pangeo.yaml, the ``pangeoctl render`` output and helm's objects."""

    example: str
    config: Path
    cfg: dict[str, Any]
    out: Path
    manifest: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    values_file: str = "values.yaml"  # values-http.yaml: the release before its domain resolves

    @property
    def name(self) -> str:
        return self.cfg["name"]

    @property
    def namespace(self) -> str:
        return self.cfg["name"]

    @property
    def cloud(self) -> str:
        return self.cfg["cloud"]

    @property
    def https(self) -> bool:
        staged = self.values_file != "values.yaml"
        return not staged and bool((self.cfg.get("hub") or {}).get("domain") and (self.cfg.get("hub") or {}).get("https"))

    @property
    def kube_version(self) -> str:
        from pangeoctl.kube_versions import DEFAULT

        return str((self.cfg.get("cluster") or {}).get("kubernetes_version") or DEFAULT)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name), None)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = self.find(kind, name)
        assert found is not None, f"{self.example}: no {kind}/{name} among the rendered objects"
        return found

    def secret_data(self, name: str) -> dict[str, str] | None:
        secret = self.find("Secret", name)
        if secret is None:
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        data.update(secret.get("stringData") or {})
        return data

    def workloads(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(object, pod template) for every workload in the release."""
        for obj in self.objects:
            if obj["kind"] in WORKLOADS:
                yield obj, obj["spec"]["template"]

    def pod(self, kind: str, name: str) -> dict[str, Any]:
        return self.get(kind, name)["spec"]["template"]

    def values(self) -> dict[str, Any]:
        return yaml.safe_load((self.out / self.values_file).read_text())

    def commands(self) -> list[list[str]]:
        """The commands `up` runs (commands.sh), each as argv after any ``probe ||``."""
        cmds = []
        for line in (self.out / "commands.sh").read_text().splitlines():
            if not line.strip() or line.startswith("#") or line.startswith("set "):
                continue
            argv = shlex.split(line.split("#  stdin:")[0], comments=True)
            if "||" in argv:
                argv = argv[len(argv) - argv[::-1].index("||") :]
            while argv and "=" in argv[0] and not argv[0].startswith("-"):
                argv = argv[1:]  # KUBECONFIG=... prefix
            cmds.append(argv)
        return cmds


def load_objects(manifest: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(manifest) if d]


# --- Services --------------------------------------------------------------------------------------


def service_ip(name: str) -> str:
    """A stable made-up ClusterIP per Service (what Kubernetes would allocate)."""
    return str(ipaddress.ip_address("10.96.0.0") + (sum(name.encode()) % 60000) + 10)


def service_env(release: Release) -> dict[str, str]:
    """The ``<NAME>_SERVICE_HOST/PORT`` variables Kubernetes injects for every Service (enableServiceLinks)."""
    env = {}
    for svc in release.all("Service"):
        prefix = svc["metadata"]["name"].upper().replace("-", "_")
        ports = svc["spec"].get("ports") or []
        env[f"{prefix}_SERVICE_HOST"] = service_ip(svc["metadata"]["name"])
        if ports:
            env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
    return env


# --- A pod's filesystem and environment -------------------------------------------------------------


@dataclass
class Materialized:
    root: Path
    env: dict[str, str]
    external: list[str]  # Secrets referenced but not in the release (created by `up` from references)
    container: dict[str, Any]


def _volume_files(release: Release, volume: dict[str, Any]) -> dict[str, str] | None:
    if "configMap" in volume:
        cm = release.get("ConfigMap", volume["configMap"]["name"])
        files = dict(cm.get("data") or {})
        files.update({k: base64.b64decode(v).decode() for k, v in (cm.get("binaryData") or {}).items()})
        items = volume["configMap"].get("items")
    elif "secret" in volume:
        data = release.secret_data(volume["secret"]["secretName"])
        assert data is not None, f"{release.example}: volume {volume['name']} mounts Secret {volume['secret']['secretName']}, which is not rendered"
        files, items = data, volume["secret"].get("items")
    else:
        return None
    if items:
        files = {i["path"]: files[i["key"]] for i in items}
    return files


def materialize(release: Release, pod: dict[str, Any], container: str, root: Path) -> Materialized:
    """Mount ``pod``'s ConfigMap/Secret volumes for ``container`` under ``root`` and resolve its env."""
    spec = pod["spec"]
    c = next(x for x in spec["containers"] if x["name"] == container)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for mount in c.get("volumeMounts") or []:
        target = root / mount["mountPath"].lstrip("/")
        files = _volume_files(release, volumes[mount["name"]])
        if files is None:  # PVC, emptyDir: an empty writable directory
            target.mkdir(parents=True, exist_ok=True)
        elif mount.get("subPath"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[mount["subPath"]])
        else:
            target.mkdir(parents=True, exist_ok=True)
            for key, text in files.items():
                (target / key).write_text(text)
    env = service_env(release)
    external = []
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = e.get("valueFrom") or {}
        if "secretKeyRef" in ref:
            r = ref["secretKeyRef"]
            data = release.secret_data(r["name"])
            if data is None:
                # Created outside the chart (e.g. by `pangeoctl up` from a secret reference): a stand-in value.
                external.append(f"{r['name']}/{r['key']}")
                env[e["name"]] = f"stand-in-for-{r['name']}-{r['key']}"
            else:
                assert r["key"] in data or r.get("optional"), (
                    f"{release.example}: env {e['name']} reads Secret {r['name']} key {r['key']!r}, which it lacks"
                )
                if r["key"] in data:
                    env[e["name"]] = data[r["key"]]
        elif "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            env[e["name"]] = release.get("ConfigMap", r["name"])["data"][r["key"]]
        elif "fieldRef" in ref:
            env[e["name"]] = {"metadata.namespace": release.namespace, "metadata.name": "pod-0"}.get(ref["fieldRef"]["fieldPath"], "")
    return Materialized(root, env, external, c)


# --- Selecting pods -----------------------------------------------------------------------------------


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels + matchExpressions); an empty selector matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and key in labels and labels[key] in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def container_port(pod: dict[str, Any], port: int | str) -> int | None:
    """A Service's targetPort resolved against a pod's containers (numbers stand for themselves)."""
    if isinstance(port, int):
        return port
    for c in pod["spec"]["containers"]:
        for p in c.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    return None

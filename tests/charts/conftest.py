"""Chart-backed tests: the whole helm/pangeo release rendered by the real helm with the real chart sources.

Set ``PANGEOCTL_CHART_SOURCES=DIR`` with ``DIR/z2jh`` (``git archive 4.4.0 jupyterhub`` of
jupyterhub/zero-to-jupyterhub-k8s) and ``DIR/dask-gateway`` (``git archive 2026.3.0
resources/helm/dask-gateway`` of dask/dask-gateway); without it every test here skips with one line.
The hub's own configuration runs in ``.venv-hub/`` (created on first use with the hub image's pins).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.release import Release, load_objects, materialize

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENV = "PANGEOCTL_CHART_SOURCES"
SELF_CONTAINED = {"test_netpol.py"}  # tests of the harness itself, on literal data
SKIP = f"chart-backed tests: set {ENV}=DIR holding z2jh/ and dask-gateway/, the charts' sources (tests/charts/README.md)"

# Every shipped example (but the local platform, which has no chart) and the variants beside this file.
EXAMPLES = {p.stem: p for p in sorted((ROOT / "deploy").glob("*.yaml")) if p.stem != "local"}
EXAMPLES.update({p.stem: p for p in sorted((HERE / "configs").glob("*.yaml"))})
SHIPPED = [name for name, p in EXAMPLES.items() if p.parent.name == "deploy"]
# The release `up` installs first while the hub's domain does not resolve yet (HTTPS off): `values-http.yaml`,
# checked like every other release, for the shipped examples with a domain and an existing cluster's.
STAGE = "@http"
_STAGED = [name for name in [*SHIPPED, "existing.github-https"] if "domain:" in EXAMPLES[name].read_text()]
EXAMPLES.update({name + STAGE: EXAMPLES[name] for name in _STAGED})
# Variants pangeoctl may rightly refuse (GitHub login without a domain has no real callback address).
MAY_BE_REFUSED = [name for name in EXAMPLES if name.endswith(".no-domain")]

# What the z2jh 4.4.0 hub image pins (its images/hub/requirements.txt).
HUB_PINS = ["jupyterhub==5.5.0", "jupyterhub-kubespawner==7.0.0", "oauthenticator==17.4.0", "pycurl==7.46.0", "pyyaml==6.0.3"]
HUB_VENV = ROOT / ".venv-hub"


def _chart_versions() -> dict[str, str]:
    chart = yaml.safe_load((ROOT / "helm" / "pangeo" / "Chart.yaml").read_text())
    return {d["name"]: str(d["version"]) for d in chart["dependencies"]}


def _find_chart(base: Path, name: str) -> Path | None:
    for found in sorted(base.rglob("Chart.yaml"), key=lambda p: len(p.parts)):
        if "charts" not in found.parent.parts[len(base.parts) :] and yaml.safe_load(found.read_text()).get("name") == name:
            return found.parent
    return None


@pytest.fixture(scope="session")
def sources() -> dict[str, Path]:
    base = os.environ.get(ENV)
    if not base:
        pytest.skip(SKIP)
    found = {"jupyterhub": _find_chart(Path(base, "z2jh"), "jupyterhub"), "dask-gateway": _find_chart(Path(base, "dask-gateway"), "dask-gateway")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        pytest.fail(f"{ENV}={base}: no {' or '.join(missing)} chart found under it (expected z2jh/ and dask-gateway/)")
    return {k: v for k, v in found.items() if v is not None}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test here needs the sources; skipping from this hook gives one summary line for all of them."""
    if not os.environ.get(ENV) and Path(str(item.fspath)).name not in SELF_CONTAINED:
        pytest.skip(SKIP)


@pytest.fixture(scope="session")
def helm() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "helm", shutil.which("helm")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("no helm: run `bash .ci/get-helm` (puts one into .venv/bin)")


@pytest.fixture(scope="session")
def chart(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of helm/pangeo with the subcharts from the sources, as chartpress would publish them."""
    pangeo = tmp_path_factory.mktemp("chart") / "pangeo"
    shutil.copytree(ROOT / "helm" / "pangeo", pangeo)
    for name, version in _chart_versions().items():
        sub = pangeo / "charts" / name
        shutil.copytree(sources[name], sub)
        meta = yaml.safe_load((sub / "Chart.yaml").read_text())
        meta["version"] = version
        (sub / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        values = sub / "values.yaml"
        values.write_text(values.read_text().replace('"set-by-chartpress"', f'"{version}"'))
        if (sub / "values.schema.yaml").exists():  # chartpress generates the JSON schema helm enforces
            (sub / "values.schema.json").write_text(json.dumps(yaml.safe_load((sub / "values.schema.yaml").read_text())))
    return pangeo


class Refused(Exception):
    """`pangeoctl render` refused the config (exit 2): its one-line message."""


def _render(name: str, config: Path, chart: Path, helm: str, out: Path) -> Release:
    values = "values-http.yaml" if name.endswith(STAGE) else "values.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GITHUB_CLIENT_SECRET": "stand-in"}
    proc = subprocess.run([sys.executable, "-m", "pangeoctl", "render", "-c", str(config), "-o", str(out)], capture_output=True, text=True, env=env)
    if proc.returncode == 2:
        raise Refused(proc.stderr.strip() or proc.stdout.strip())
    assert proc.returncode == 0, f"pangeoctl render -c {config} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
    cfg = yaml.safe_load(config.read_text())
    assert (out / values).exists(), f"pangeoctl render -c {config} wrote no {values} (an example with a domain installs with HTTPS off first)"
    release = Release(name, config, cfg, out, "", values_file=values)
    cmd = [helm, "template", release.name, str(chart), "--namespace", release.namespace, "--values", str(out / values)]
    cmd += ["--kube-version", release.kube_version]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    release.manifest = proc.stdout
    release.objects = load_objects(proc.stdout)
    return release


@pytest.fixture(scope="session")
def render(chart: Path, helm: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Release]:
    """``render(example)``: the release for one example, rendered once per session."""
    cache: dict[str, Release | Refused] = {}

    def get(name: str) -> Release:
        if name not in cache:
            try:
                cache[name] = _render(name, EXAMPLES[name], chart, helm, tmp_path_factory.mktemp(f"render-{name}"))
            except Refused as e:
                cache[name] = e
        got = cache[name]
        if isinstance(got, Refused):
            raise got
        return got

    return get


@pytest.fixture(params=sorted(EXAMPLES))
def release(request: pytest.FixtureRequest, render: Callable[[str], Release]) -> Release:
    try:
        return render(request.param)
    except Refused as e:
        if request.param in MAY_BE_REFUSED:
            pytest.skip(f"{request.param}: pangeoctl render refuses it ({e})")
        pytest.fail(f"{EXAMPLES[request.param].relative_to(ROOT)} is refused by pangeoctl render: {e}")


@pytest.fixture(scope="session")
def hub_python() -> Path:
    """``.venv-hub``'s python with the hub image's pins (built once, rebuilt when the pins change)."""
    marker = HUB_VENV / "pangeoctl-pins.txt"
    python = HUB_VENV / "bin" / "python"
    if not (marker.exists() and marker.read_text().split() == HUB_PINS and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(HUB_VENV)], check=True)
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *HUB_PINS], capture_output=True, text=True)
        assert proc.returncode == 0, f"installing {' '.join(HUB_PINS)} into {HUB_VENV} failed:\n{proc.stderr[-3000:]}"
        marker.write_text("\n".join(HUB_PINS) + "\n")
    return python


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TMPDIR", "SYSTEMROOT")}


@pytest.fixture(scope="session")
def hub_of(hub_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Release], dict[str, Any]]:
    """``hub_of(release)``: z2jh's jupyterhub_config.py executed on the release, every profile's pod built."""
    cache: dict[str, dict[str, Any]] = {}

    def get(release: Release) -> dict[str, Any]:
        if release.example not in cache:
            root = tmp_path_factory.mktemp(f"hub-{release.example}")
            pod = materialize(release, release.pod("Deployment", "hub"), "hub", root / "fs")
            (root / "env.json").write_text(json.dumps({"env": pod.env, "args": pod.container["args"]}))
            cmd = [str(hub_python), str(HERE / "hub_driver.py"), str(root / "fs"), str(root / "env.json"), str(root / "out.json")]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**_base_env(), **pod.env}, timeout=300)
            assert (root / "out.json").exists(), f"hub driver died ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}"
            out = json.loads((root / "out.json").read_text())
            out["stdout"] = proc.stdout + proc.stderr
            cache[release.example] = out
        return cache[release.example]

    return get


@pytest.fixture(scope="session")
def gateway_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Release], dict[str, Any]]:
    """``gateway_of(release)``: the gateway's rendered config loaded by dask-gateway-server, a cluster's pods built."""
    cache: dict[str, dict[str, Any]] = {}

    def get(release: Release) -> dict[str, Any]:
        if release.example not in cache:
            root = tmp_path_factory.mktemp(f"gateway-{release.example}")
            gw = materialize(release, release.pod("Deployment", "api-dask-gateway"), "gateway", root / "gateway")
            ctl = materialize(release, release.pod("Deployment", "controller-dask-gateway"), "controller", root / "controller")
            given = {"gateway": {"env": gw.env, "args": gw.container["args"]}, "controller": {"env": ctl.env, "args": ctl.container["args"]}}
            (root / "env.json").write_text(json.dumps(given))
            cmd = [
                sys.executable,
                str(HERE / "gateway_driver.py"),
                str(root / "gateway"),
                str(root / "controller"),
                str(root / "env.json"),
                str(root / "out.json"),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**_base_env(), "PYTHONPATH": ""}, timeout=300)
            assert (root / "out.json").exists(), f"gateway driver died ({proc.returncode}):\n{proc.stderr[-4000:]}"
            cache[release.example] = json.loads((root / "out.json").read_text())
        return cache[release.example]

    return get

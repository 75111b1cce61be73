"""Our own templates in helm/pangeo, rendered by a real helm when one is on PATH."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from pangeoctl.helm import chart_dir


def test_chart_pins_the_subcharts():
    chart = YAML(typ="safe").load((chart_dir() / "Chart.yaml").read_text())
    deps = {d["name"]: (d["version"], d["repository"]) for d in chart["dependencies"]}
    assert deps == {"jupyterhub": ("4.4.0", "https://hub.jupyter.org/helm-chart/"), "dask-gateway": ("2026.3.0", "https://helm.dask.org/")}


@pytest.mark.skipif(shutil.which("helm") is None, reason="no helm binary on PATH (see FIELD-NOTES for a PyPI wheel that carries one)")
def test_helm_template_of_our_own_templates(tmp_path):
    # The subcharts cannot be downloaded offline: template a copy without them, as `helm template` would ours.
    copy = tmp_path / "pangeo"
    shutil.copytree(chart_dir(), copy)
    chart = YAML(typ="safe").load((copy / "Chart.yaml").read_text())
    chart.pop("dependencies")
    YAML().dump(chart, copy / "Chart.yaml")
    lint = subprocess.run(["helm", "lint", str(copy)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    out = subprocess.run(["helm", "template", "demo", str(copy)], capture_output=True, text=True, check=True).stdout
    docs = [d for d in YAML(typ="safe").load_all(out) if d]
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy")
    assert policy["metadata"]["name"] == "demo-dask-clusters"
    assert policy["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["dask-scheduler", "dask-worker"]
    allowed = policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert set(allowed) == {"dask-scheduler", "dask-worker", "traefik", "gateway", "controller"}

"""The Target contract: plans are pure, both views of the wiring agree, generated data survives hostile paths."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from dask_gateway_server.traitlets import MemoryLimit
from traitlets.config import PyFileConfigLoader

from pangeoctl import config as C
from pangeoctl import wiring as W
from pangeoctl.render.values import render_values
from pangeoctl.site import Site
from pangeoctl.targets import target_for
from pangeoctl.targets.local import GATEWAY_CONFIG, GATEWAY_SERVER_SERVICE, GUARD_MODULE, HUB_CONFIG, LocalTarget
from tests.conftest import CONFIGS, PORTS, ROOT, SITE, plan_for

EXAMPLES = sorted([*(ROOT / "deploy").glob("*.yaml"), *CONFIGS.glob("*.happy*.yaml")])
PURE = [
    "wiring.py",
    "gateway_extra.py",
    "render/values.py",
    "render/placement.py",
    "targets/base.py",
    "targets/kubernetes.py",
    "helm.py",
    "budgets.py",
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_same_config_and_site_give_byte_identical_plans(path, tmp_path, monkeypatch):
    """Whatever else differs — HOME, the working directory, the environment — the plan does not."""
    cfg = C.load(path)
    site = SITE.with_ports(PORTS)
    first = plan_for(cfg, tmp_path, site)
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GITHUB_CLIENT_SECRET", "another")
    monkeypatch.chdir(tmp_path)
    second = plan_for(C.load(path), tmp_path, site)
    assert first.rendered() == second.rendered()
    assert [c.shell() for c in first.commands] == [c.shell() for c in second.commands]


def test_the_plan_reads_only_the_site():
    """Nothing the plan is made of imports os, socket, platformdirs or time, or asks the clock for today."""
    for rel in PURE:
        tree = ast.parse((ROOT / "pangeoctl" / rel).read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"os", "socket", "platformdirs", "time", "subprocess"}, rel
        called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not called & {"today", "now", "utcnow", "getenv", "getcwd"}, rel


def test_a_different_site_changes_only_what_it_should(tmp_path):
    cfg = C.load(ROOT / "deploy" / "local.yaml")
    a = plan_for(cfg, tmp_path, SITE.with_ports(PORTS)).files["platform.json"]
    b = plan_for(cfg, tmp_path, SITE.with_ports({**PORTS, "gateway_api_port": 9999})).files["platform.json"]
    assert a != b and a.replace("8003", "9999") == b


@pytest.mark.parametrize("path", [ROOT / "deploy" / "local.yaml", CONFIGS / "local.happy.yaml"], ids=lambda p: p.name)
def test_local_and_chart_views_agree_on_every_shared_fact(path):
    """One config seen by both worlds: roles, login settings, cull cadence, Dask options and limits, the
    scheduler's size, the gateway's prefix and service name, the variables a notebook reads."""
    local_cfg = C.load(path)
    kube_cfg = local_cfg.model_copy(update={"cloud": "kind"})
    local = json.loads(plan_for(local_cfg, site=SITE.with_ports(PORTS)).files["platform.json"])
    chart = render_values(kube_cfg)
    hub, gw = chart["jupyterhub"], chart["dask-gateway"]["gateway"]

    local_roles = {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in local["roles"] if r["name"] != "idle-culler"}
    assert local_roles == hub["hub"]["loadRoles"]
    chart_config = {k: v for k, v in hub["hub"]["config"].items() if k != "KubeSpawner"}
    chart_config["JupyterHub"] = {k: v for k, v in chart_config["JupyterHub"].items() if k != "template_paths"}
    assert local["config"] == chart_config
    assert local["spawner"]["args"][: len(W.SERVER_ARGS)] == hub["hub"]["config"]["KubeSpawner"]["args"][: len(W.SERVER_ARGS)] == W.SERVER_ARGS
    lab = hub["singleuser"]["extraFiles"]["pangeoctl-lab-settings"]
    assert f"--LabApp.app_settings_dir={lab['mountPath'].rsplit('/', 1)[0]}" in hub["hub"]["config"]["KubeSpawner"]["args"]
    assert json.loads(plan_for(local_cfg, site=SITE.with_ports(PORTS)).files["lab/overrides.json"]) == lab["data"] == W.LAB_OVERRIDES
    templates = {f["mountPath"].rsplit("/", 1)[1]: f["stringData"] for f in hub["hub"]["extraFiles"].values()}
    assert templates == {p.name: p.read_text() for p in Path(local["hub"]["template_paths"][0]).glob("*.html")}
    culler = next(s for s in local["services"] if s["name"] == "idle-culler")["command"]
    assert f"--timeout={hub['cull']['timeout']}" in culler and f"--cull-every={hub['cull']['every']}" in culler
    assert any(a == f"--max-age={hub['cull']['maxAge']}" for a in culler) == bool(hub["cull"]["maxAge"])

    code = gw["extraConfig"]["pangeoctl"]
    chart_dask = json.loads(json.loads(code.split("_json.loads(", 1)[1].rsplit("), ", 1)[0]))
    local_dask = local["gateway"]["dask"]
    assert {k: v for k, v in chart_dask.items() if k != "image"} == {k: v for k, v in local_dask.items() if k != "image"}
    assert gw["backend"]["scheduler"]["cores"]["request"] == local_dask["scheduler_cores"]
    assert MemoryLimit().validate(None, gw["backend"]["scheduler"]["memory"]["request"]) == local_dask["scheduler_memory"]

    assert gw["prefix"] == local["gateway"]["prefix"] == W.GATEWAY_PREFIX
    assert gw["auth"]["jupyterhub"]["jupyterhubServiceName"] == local["gateway"]["service_name"]
    assert W.GATEWAY_SERVICE in hub["hub"]["services"] and any(s["name"] == W.GATEWAY_SERVICE for s in local["services"])
    local_env, chart_env = local["spawner"]["environment"], hub["singleuser"]["extraEnv"]
    assert set(local_env) <= set(chart_env)
    assert local_env["DASK_GATEWAY__PUBLIC_ADDRESS"] == chart_env["DASK_GATEWAY__PUBLIC_ADDRESS"]
    assert local_env["DASK_GATEWAY__AUTH__TYPE"] == chart_env["DASK_GATEWAY__AUTH__TYPE"]


HOSTILE = 'state "quoted" it\'s {braces} ünïcødé'


def _hostile_plan(tmp_path: Path):
    state = tmp_path / HOSTILE
    cfg = C.load(ROOT / "deploy" / "local.yaml").model_copy(deep=True)
    cfg.local.state_dir = state
    plan = plan_for(cfg, site=Site(data_root=tmp_path, bin_dir=tmp_path / "bin ’x", today=dt.date(2026, 12, 3), ports=PORTS))
    data = state / "platform.json"
    state.mkdir(parents=True)
    data.write_text(plan.files["platform.json"])
    secrets = state / "secrets"
    secrets.mkdir()
    for name in ("cookie_secret", "proxy_token", "admin_token", "gateway_encrypt_key", "password", "admin_password"):
        (secrets / name).write_text(f"{name}-value-{'x' * 32}\n")
    return state, data


def _load(config_file: Path, data: Path, monkeypatch) -> object:
    monkeypatch.setenv("PANGEOCTL_PLATFORM", str(data))
    loader = PyFileConfigLoader(config_file.name, path=str(config_file.parent))
    return loader.load_config()


def test_hub_config_loads_with_a_hostile_state_dir(tmp_path, monkeypatch):
    state, data = _hostile_plan(tmp_path)
    c = _load(HUB_CONFIG, data, monkeypatch)
    assert c.JupyterHub.db_url == "sqlite:///" + str(state / "jupyterhub.sqlite")
    assert c.SimpleLocalProcessSpawner.home_dir_template == str(state / "homes" / "{username}")
    assert c.SharedPasswordAuthenticator.user_password == "password-value-" + "x" * 32
    assert c.SharedPasswordAuthenticator.admin_password == "admin_password-value-" + "x" * 32
    assert c.Authenticator.admin_users == ["admin"]
    gateway = next(s for s in c.JupyterHub.services if s["name"] == GATEWAY_SERVER_SERVICE)
    assert gateway["command"][-1] == str(GATEWAY_CONFIG) and gateway["environment"] == {"PANGEOCTL_PLATFORM": str(data)}
    guard = next(s for s in c.JupyterHub.services if s["name"] == W.GATEWAY_SERVICE)
    assert guard["command"][1:3] == ["-m", GUARD_MODULE] and guard["oauth_no_confirm"] is True and "url" in guard
    assert next(s for s in c.JupyterHub.services if s["name"] == "pangeoctl")["api_token"] == "admin_token-value-" + "x" * 32


def test_gateway_config_loads_with_a_hostile_state_dir(tmp_path, monkeypatch):
    state, data = _hostile_plan(tmp_path)
    monkeypatch.delenv("DASK_GATEWAY_ENCRYPT_KEYS", raising=False)
    c = _load(GATEWAY_CONFIG, data, monkeypatch)
    assert os.environ["DASK_GATEWAY_ENCRYPT_KEYS"] == "gateway_encrypt_key-value-" + "x" * 32
    assert c.UnsafeLocalBackend.db_url == "sqlite:///" + str(state / "dask_gateway.sqlite")
    assert c.LocalClusterConfig.worker_cmd[0] == str(tmp_path / "bin ’x" / "dask")
    assert c.DaskGateway.backend_class.__name__ == "CappedUnsafeLocalBackend"
    # a busy laptop stalls schedulers for tens of seconds: the capped backend (an UnsafeLocalBackend) waits 2 min
    from dask_gateway_server.backends.local import UnsafeLocalBackend

    assert issubclass(c.DaskGateway.backend_class, UnsafeLocalBackend) and c.UnsafeLocalBackend.cluster_heartbeat_timeout == 120
    assert c.Proxy.address == f"127.0.0.1:{PORTS['gateway_http_port']}"


def test_state_is_per_name_and_target(tmp_path):
    """A local and a cloud deployment of the same name never share (or purge) a folder."""
    local = C.load(ROOT / "deploy" / "local.yaml")
    kind = local.model_copy(update={"cloud": "kind"})
    site = Site(data_root=tmp_path, bin_dir=tmp_path)
    assert plan_for(local, site=site).where == tmp_path / local.name / "local"
    assert target_for(kind).plan(kind, site).where == tmp_path / local.name / "kind"
    assert isinstance(target_for(local), LocalTarget)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "deploy").glob("*.yaml")))
def test_shipped_examples_validate_without_warnings(example):
    """A newcomer's first `validate` is clean: no pinned Kubernetes version the cloud stopped offering (on the
    date the tests pin), no budget or data-proximity warning."""
    path = ROOT / "deploy" / example
    from pangeoctl.machines import Machine

    host = Machine("this computer", SITE.cpus, SITE.memory)
    _, found = C.load_with_warnings(path, more_checks=lambda cfg: target_for(cfg).warnings(cfg, SITE), host=host)
    assert [p.message for p in found] == []


def test_local_servers_get_a_port_the_kernel_never_hands_out_by_itself(tmp_path, monkeypatch):
    """JupyterHub's own choice (bind port 0, close, let the server bind it seconds later) lost the port to another
    process under load: the server died with "port is not available". The hub picks below the automatic range."""
    import socket
    from types import SimpleNamespace

    _, data = _hostile_plan(tmp_path)
    hook = _load(HUB_CONFIG, data, monkeypatch).Spawner.pre_spawn_hook
    spawner = SimpleNamespace(ip="127.0.0.1", port=0)
    hook(spawner)
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]) if Path("/proc/sys/net/ipv4/ip_local_port_range").exists() else 49152
    assert 20000 <= spawner.port < min(low, 32768)
    with socket.socket() as s:
        s.bind(("127.0.0.1", spawner.port))  # and free

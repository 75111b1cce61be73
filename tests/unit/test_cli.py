"""The CLI as a user meets it: exact messages, exit codes, nothing changed on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pangeoctl import config as C
from pangeoctl.cli import create_app
from pangeoctl.doctor import doctor
from pangeoctl.runner import RecordingRunner
from tests.conftest import CONFIGS

runner = CliRunner()


def run(*args: str, cwd: Path | None = None):
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(create_app(), list(args))
    finally:
        os.chdir(old)


def test_init_then_validate_then_render(tmp_path):
    r = run(
        "init", "--cloud", "gcp", "--project", "lab-1", "--region", "us-central1", "--github-org", "my-lab",
        "--domain", "hub.my-lab.org", "--email", "ops@my-lab.org", "-o", str(tmp_path / "p.yaml"),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    text = (tmp_path / "p.yaml").read_text()
    assert "client_secret: {env: GITHUB_CLIENT_SECRET}" in text and "#" in text
    r = run("validate", "-c", str(tmp_path / "p.yaml"))
    assert r.exit_code == 0
    assert r.output.startswith(f"{tmp_path / 'p.yaml'}: ok — pangeo on gcp, github login")
    r = run("render", "-c", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out"))
    assert r.exit_code == 0
    # values-http.yaml: the release with HTTPS off, installed while the domain does not resolve yet
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cluster.yaml", "commands.sh", "values-http.yaml", "values.yaml"]


def test_init_refuses_to_overwrite(tmp_path):
    (tmp_path / "pangeo.yaml").write_text("keep me\n")
    r = run("init", "-o", str(tmp_path / "pangeo.yaml"))
    assert r.exit_code == 2
    assert r.output.strip() == f"{tmp_path / 'pangeo.yaml'} exists — pass --force to overwrite it, or -o another path"
    assert (tmp_path / "pangeo.yaml").read_text() == "keep me\n"


def test_init_names_missing_location_flags(tmp_path):
    r = run("init", "--cloud", "azure", "-o", str(tmp_path / "a.yaml"))
    assert r.exit_code == 2
    assert r.output.strip() == "--cloud azure needs --subscription … --resource-group … --location …"
    assert not (tmp_path / "a.yaml").exists()


def test_validate_reports_every_problem_with_its_line(tmp_path):
    r = run("validate", "-c", str(CONFIGS / "gcp.error.typo.yaml"))
    assert r.exit_code == 2
    assert r.output.strip() == f"{CONFIGS / 'gcp.error.typo.yaml'}:6 hub.cull_idel: unknown field — did you mean `cull_idle`?"
    assert "Traceback" not in r.output


def test_wrong_cloud_flag(tmp_path):
    r = run("validate", "-c", str(CONFIGS / "local.happy.yaml"), "--cloud", "mars")
    assert r.exit_code == 2
    assert r.output.strip() == "--cloud 'mars' is not one of gcp, aws, azure, kind, minikube, local, existing"


def test_cloud_override_is_validated_as_that_cloud():
    r = run("validate", "-c", str(CONFIGS / "local.happy.yaml"), "--cloud", "gcp")
    assert r.exit_code == 2
    assert "`gcp:` section is missing" in r.output


def test_schema_is_json():
    r = run("validate", "--schema")
    assert r.exit_code == 0
    assert json.loads(r.output)["title"] == "pangeo.yaml"


def test_up_dry_run_prints_the_plan_and_creates_nothing(tmp_path):
    r = run("up", "-c", str(CONFIGS / "aws.happy.yaml"), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "eksctl create cluster -f" in r.output
    from pangeoctl.cost import estimate

    assert f"# cost: ~${estimate(C.load(CONFIGS / 'aws.happy.yaml')).idle:,.0f}/month idle" in r.output
    assert "helm upgrade --install ocean-lab" in r.output
    assert "gh-secret-value" not in r.output
    assert not (Path(os.environ["HOME"]) / ".local" / "share" / "pangeoctl").exists()


def test_up_without_a_tool_says_which_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no cloud CLI anywhere
    r = run("up", "-c", str(CONFIGS / "minikube.happy.yaml"))
    assert r.exit_code == 2
    assert r.output.strip().endswith("`minikube` is not installed — install minikube (https://minikube.sigs.k8s.io/docs/start/)")


def test_up_local_without_the_local_extra_names_the_install(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jupyterhub_idle_culler" else real(name, *a))
    cfg = tmp_path / "pangeo.yaml"
    cfg.write_text(f"name: t\ncloud: local\nlocal: {{state_dir: {tmp_path / 's'}}}\n")
    r = run("up", "-c", str(cfg))
    assert r.exit_code == 1
    assert r.output.strip() == "the local platform needs jupyterhub-idle-culler — install them with: pip install 'pangeoctl[local]'"
    assert not (tmp_path / "s").exists()


def test_doctor_reports_missing_tools_and_logins():
    r = RecordingRunner(present=["gcloud", "kubectl"])
    checks = {c.tool: c for c in doctor(r, "gcp")}
    assert not checks["helm"].found and checks["helm"].fix.startswith("install Helm")
    assert checks["gcloud"].found
    assert ["gcloud", "auth", "list", "--filter=status:ACTIVE", "--format=value(account)"] in r.argvs
    assert checks["gcloud"].fix == "not logged in: gcloud auth login"  # the recording runner prints no account


def test_help_is_quick_and_names_the_commands():
    out = subprocess.run([sys.executable, "-m", "pangeoctl", "--help"], capture_output=True, text=True, check=True).stdout
    for cmd in ("init", "validate", "render", "up", "down", "status", "doctor"):
        assert f"  {cmd} " in out
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pangeoctl.cli import create_app; create_app(); "
            "print(sorted(m for m in ('kubernetes', 'dask', 'jupyterhub', 'rasterio', 'psutil', 'jsonschema') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert heavy == "[]"


@pytest.mark.parametrize("cmd", ["init", "validate", "render", "up", "down", "status", "logs", "doctor"])
def test_every_command_has_a_help_text(cmd):
    r = run(cmd, "--help")
    assert r.exit_code == 0
    assert len(r.output.split("Options")[0].strip().splitlines()) >= 2


def test_cloud_override_is_applied_before_any_check(tmp_path):
    """A file written for one cloud, validated as another: only the chosen cloud's rules apply."""
    f = tmp_path / "p.yaml"
    f.write_text(
        "name: lab\ncloud: local\ngcp: {project: p, region: us-central1}\n"
        "hub:\n  domain: hub.lab.org\n  https: {contact_email: ops@lab.org}\n"
        "  auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}\n"
    )
    assert run("validate", "-c", str(f)).exit_code == 2  # a domain on the local platform
    r = run("validate", "-c", str(f), "--cloud", "gcp")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"{f}: ok — lab on gcp")


def test_cost_warnings_carry_their_line(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text((CONFIGS.parent.parent / "deploy" / "aws.yaml").read_text() + "data: [planetary-computer]\n")
    r = run("validate", "-c", str(f))
    assert r.exit_code == 0
    line = len(f.read_text().splitlines())
    assert f"{f}:{line} warning: data.0: planetary-computer lives in azure westeurope, not aws us-west-2" in r.output


def test_a_config_file_given_as_an_argument_gets_the_right_spelling(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "from pangeoctl.cli import main; main()", "validate", "lab.yaml"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "pangeoctl: lab.yaml is the config file — it goes after -c/--config: pangeoctl validate -c lab.yaml"
    from pangeoctl.cli import _config_as_argument

    assert _config_as_argument(["render", "-c", "lab.yaml", "-o", "out"]) is None
    assert _config_as_argument(["render", "--config=lab.yaml"]) is None


def test_status_of_a_cloud_platform_reads_the_cluster(monkeypatch):
    """`status` on a cloud: kubectl reads through the runner; exit 0 with the hub running, 1 without."""
    import pangeoctl.runner

    pods = {"items": [{"metadata": {"labels": {"component": "hub"}}, "status": {"phase": "Running"}}]}
    recorded: list[RecordingRunner] = []

    def runner(hub_pods: dict) -> RecordingRunner:
        r = RecordingRunner(outputs={("get", "nodes"): '{"items": []}', ("get", "pods"): json.dumps(hub_pods), ("proxy-public",): "{}"})
        recorded.append(r)
        return r

    monkeypatch.setattr(pangeoctl.runner, "RealRunner", lambda: runner(pods))
    up = run("status", "-c", str(CONFIGS / "aws.happy.yaml"), "--json")
    assert up.exit_code == 0, up.output
    assert json.loads(up.output)["up"] and json.loads(up.output)["url"] == "https://hub.ocean-lab.org"
    assert [a for a in recorded[0].argvs[1] if not a.startswith(("--kubeconfig", "/"))] == [
        "kubectl",
        "get",
        "pods",
        "--namespace",
        "ocean-lab",
        "--output",
        "json",
    ]
    monkeypatch.setattr(pangeoctl.runner, "RealRunner", lambda: runner({"items": []}))
    down = run("status", "-c", str(CONFIGS / "aws.happy.yaml"))
    assert down.exit_code == 1 and down.output.startswith("ocean-lab (aws) — not up")


def test_render_into_a_place_it_cannot_write_says_so(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a directory")
    r = run("render", "-c", str(CONFIGS / "aws.happy.yaml"), "-o", str(blocker))
    assert r.exit_code == 2
    assert r.output.strip() == f"cannot write into {blocker}: File exists — choose another directory with -o"
    assert blocker.read_text() == "a file, not a directory"


def test_up_without_a_config_writes_local_defaults_with_the_shared_password(tmp_path):
    """README's first command: no pangeo.yaml yet — the one `up` writes must start without any secret to set."""
    from pangeoctl.templates import starter

    text = starter(None)
    assert text is not None and starter("gcp") is None
    cfg = C.load("pangeo.yaml", text=text)
    assert cfg.cloud == "local" and cfg.hub.auth.type == "shared-password"
    r = run("init", "--cloud", "local", "-o", str(tmp_path / "p.yaml"))
    assert r.exit_code == 0 and C.load(tmp_path / "p.yaml").hub.auth.type == "shared-password"


def test_local_up_with_an_unset_secret_stops_before_starting(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_CLIENT_SECRET")
    f = tmp_path / "p.yaml"
    f.write_text(
        f"name: lab\nlocal: {{state_dir: {tmp_path / 'state'}, port: 0}}\n"
        "hub:\n  auth: {type: github, client_id: a, client_secret: {env: GITHUB_CLIENT_SECRET}, allowed_users: [a]}\n"
    )
    r = run("up", "-c", str(f))
    assert r.exit_code == 2
    assert r.output.strip() == "stopped before changing anything: environment variable GITHUB_CLIENT_SECRET is not set — export it before running pangeoctl"
    assert not (tmp_path / "state").exists()

"""pangeoctl installed from its wheel, used from a folder far from the checkout: every file it ships is found."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; its dependencies are borrowed from this venv's site-packages by a
    path entry (no registry needed, and no .pth of the editable install is processed through it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0 and "hatchling" in build.stderr:
        pytest.skip("hatchling is not installed here: pip install hatchling to build the wheel")
    assert build.returncode == 0, build.stderr
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next((tmp / "dist").glob("pangeoctl-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True)
    return venv / "bin" / "python"


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(python), "-m", "pangeoctl", *args], capture_output=True, text=True, cwd=cwd, env={**env, "HOME": str(cwd)})


def test_the_wheel_finds_its_chart_image_and_examples(installed: Path, tmp_path: Path):
    where = _run(installed, "version", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    located = subprocess.run(
        [str(installed), "-c", "import pangeoctl, pangeoctl.resources as r; print(pangeoctl.__file__, r.chart(), r.image_dir(), r.examples_dir())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    paths = located.stdout.split()
    assert len(paths) == 4 and not any(p.startswith(str(ROOT)) for p in paths), located.stdout + located.stderr  # not the checkout's
    shutil.copy(ROOT / "deploy" / "gcp.yaml", tmp_path / "pangeo.yaml")
    for args in (["validate"], ["render", "-o", "out"], ["image", "check"], ["up", "--dry-run"]):
        r = _run(installed, *args, cwd=tmp_path)
        assert r.returncode == 0, f"{args}: {r.stdout}{r.stderr}"
        assert "Traceback" not in r.stderr
    assert (tmp_path / "out" / "values.yaml").exists()
    assert "helm upgrade --install geo-lab" in _run(installed, "up", "--dry-run", cwd=tmp_path).stdout

"""The user image: lock coverage, version alignment, Dockerfile rules, engine argv."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import pytest

from pangeoctl import images, resources

LOCK = (resources.image_dir() / "requirements.lock").read_text()
DOCKERFILE = (resources.image_dir() / "Dockerfile").read_text()


def test_lock_covers_every_import_of_the_examples_and_geo():
    locked = set(images.lock_versions(LOCK))
    dists = md.packages_distributions()
    missing = []
    for mod in images.required_modules():
        if mod == "pangeoctl":
            continue  # installed from this checkout by the Dockerfile
        names = {d.lower().replace("_", "-") for d in dists.get(mod, [mod])}
        if not names & locked:
            missing.append(mod)
    assert missing == []
    assert {"dask", "dask_gateway", "xarray", "numpy"} <= set(images.required_modules())
    # $SCRATCH_BUCKET on each cloud: the lock has what fsspec needs for gs://, s3:// and az://
    assert {"gcsfs", "s3fs", "adlfs"} <= set(images.required_modules())


def test_lock_pins_every_package_with_a_hash():
    entries = re.findall(r"^([a-z0-9_.\-]+)==(\S+)", LOCK, re.M)
    assert len(entries) > 50
    assert LOCK.count("--hash=sha256:") == len(entries)


def test_shipped_versions_agree_with_the_platform():
    assert [(r.package, r.ok) for r in images.check_alignment(LOCK)] == [("dask-gateway", True), ("jupyterhub", True), ("dask / distributed", True)]


def test_a_doctored_lock_is_caught():
    doctored = LOCK.replace("dask-gateway==2026.3.0", "dask-gateway==2025.4.0").replace("jupyterhub==5.5.0", "jupyterhub==6.1.1")
    rows = {r.package: r for r in images.check_alignment(doctored)}
    assert not rows["dask-gateway"].ok and rows["dask-gateway"].image == "2025.4.0" and rows["dask-gateway"].platform == "2026.3.0"
    assert not rows["jupyterhub"].ok
    assert rows["dask / distributed"].ok


def test_dockerfile_rules():
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.M)
    assert froms and all(":" in f.split("/")[-1] and not f.endswith(":latest") for f in froms)
    user = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "--require-hashes" in DOCKERFILE


@pytest.mark.parametrize(
    ("eng", "expected"),
    [
        ("docker", ["docker", "build", "--tag", "ghcr.io/lab/geo:1", "--file"]),
        ("podman", ["podman", "build", "--tag", "ghcr.io/lab/geo:1", "--file"]),
        ("buildah", ["buildah", "bud", "--layers", "--tag", "ghcr.io/lab/geo:1", "--file"]),
    ],
)
def test_build_argv(eng, expected):
    cmd = images.build(eng, "ghcr.io/lab/geo:1")
    assert list(cmd.argv[: len(expected)]) == expected
    assert cmd.argv[-2:] == (str(resources.image_dir() / "Dockerfile"), str(resources.checkout()))


def test_test_and_push_argv():
    assert images.test("docker", "t:1").argv[:6] == ("docker", "run", "--rm", "--entrypoint", "python", "t:1")
    assert images.test("buildah", "t:1").argv[:5] == ("buildah", "run", "--", "t:1", "python")
    script = images.test("podman", "t:1").argv[-1]
    compile(script, "test", "exec")
    assert "'dask_gateway'" in script
    assert images.push("docker", "t:1", Path("/d")).argv == ("docker", "push", "t:1")
    assert images.push("podman", "t:1", Path("/d")).argv == ("podman", "push", "--digestfile", "/d", "t:1")


def test_engine_is_the_first_found_or_a_clear_error():
    from pangeoctl.runner import MissingTool, RecordingRunner

    assert images.engine(RecordingRunner(present=["podman", "buildah"]), None) == "podman"
    with pytest.raises(MissingTool, match="`docker` is not installed — install Docker Engine or Docker Desktop \\(or podman / buildah\\)"):
        images.engine(RecordingRunner(present=[]), None)

"""`pangeoctl image`: build, test and push the user image; check its versions against the platform."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from pangeoctl.cli._common import EXIT_FAILED, DryRunOpt, fail, runner_for
from pangeoctl.resources import image_dir

app = typer.Typer(help="The user image (images/pangeo-geo): lock, check, build, test, push.", no_args_is_help=True)
TagOpt = Annotated[str, typer.Option("--tag", "-t", help="Image reference, e.g. ghcr.io/my-lab/pangeo-geo:2026.11.0.")]
EngineOpt = Annotated[str | None, typer.Option("--engine", help="docker, podman or buildah (default: the first found).")]


def _run(cmds, dry_run: bool):  # noqa: ANN001, ANN202
    return [runner_for(dry_run).run(c) for c in cmds]


def _engine(name: str | None, dry_run: bool) -> str:
    from pangeoctl import images
    from pangeoctl.runner import MissingTool, RealRunner

    try:
        return images.engine(RealRunner(), name)
    except MissingTool:
        if dry_run:
            return name or "docker"
        raise


@app.command()
def check() -> None:
    """Compare dask, distributed, dask-gateway and jupyterhub in the image's lock with the platform's charts."""
    from pangeoctl import images

    rows = images.check_alignment((image_dir() / "requirements.lock").read_text())
    for r in rows:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.package:20} image {r.image:22} platform {r.platform:14} {r.why}")
    if not all(r.ok for r in rows):
        fail("the image and the platform disagree — fix images/pangeo-geo/requirements.in, then `pangeoctl image lock`", EXIT_FAILED)


@app.command()
def lock(dry_run: DryRunOpt = False) -> None:
    """Resolve requirements.in into requirements.lock (exact versions with hashes), with pip."""
    from pangeoctl import images

    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "report.json"
        _run([images.pip_report(image_dir() / "requirements.in", report)], dry_run)
        if not dry_run:
            images.write_lock(report, image_dir() / "requirements.lock")
            print(f"wrote {image_dir() / 'requirements.lock'}")


@app.command()
def build(tag: TagOpt, engine: EngineOpt = None, dry_run: DryRunOpt = False) -> None:
    """Build the image from the repository (checks version alignment first)."""
    from pangeoctl import images

    if not all(r.ok for r in images.check_alignment((image_dir() / "requirements.lock").read_text())):
        fail("versions disagree with the platform — see `pangeoctl image check`", EXIT_FAILED)
    _run([images.build(_engine(engine, dry_run), tag)], dry_run)


@app.command()
def test(tag: TagOpt, engine: EngineOpt = None, dry_run: DryRunOpt = False) -> None:
    """Inside the image: import everything examples/ and pangeoctl.geo need, and run a tiny dask compute."""
    from pangeoctl import images

    _run([images.test(_engine(engine, dry_run), tag)], dry_run)


@app.command()
def push(tag: TagOpt, engine: EngineOpt = None, dry_run: DryRunOpt = False) -> None:
    """Push the image and print its digest, to pin in pangeo.yaml as `image: name@sha256:…`."""
    from pangeoctl import images

    eng = _engine(engine, dry_run)
    with tempfile.TemporaryDirectory() as d:
        digest_file = Path(d) / "digest"
        cmds = [images.push(eng, tag, digest_file)] + ([images.docker_digest(tag)] if eng == "docker" else [])
        results = _run(cmds, dry_run)
        if not dry_run and results:
            ref = results[-1].stdout.strip() if eng == "docker" else f"{tag.rsplit(':', 1)[0]}@{digest_file.read_text().strip()}"
            print(f"pushed: {ref}")

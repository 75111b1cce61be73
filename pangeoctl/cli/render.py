"""`pangeoctl render`: write the files and commands `up` would use — change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_USAGE, CloudOpt, ConfigOpt, edge, fail, load_config


def render(
    config: ConfigOpt = DEFAULT_CONFIG,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write into (created).")] = Path("rendered"),
    cloud: CloudOpt = None,
) -> None:
    """Render pangeo.yaml into files you can read, diff and review.

    For a Kubernetes cloud: values.yaml (for helm/pangeo: `jupyterhub:` and
    `dask-gateway:` sections), the cluster spec (an eksctl ClusterConfig on aws)
    and commands.sh, the exact commands `up` runs. For local: platform.json, the
    data the local hub and gateway read. No secret value is written.
    """
    from pangeoctl.targets.base import write_files

    cfg = load_config(config, cloud)
    target, site = edge(cfg)
    out = output.resolve()
    plan = target.plan(cfg, site, out)
    try:
        written = write_files(plan.rendered(), out)
    except OSError as e:
        fail(f"cannot write into {output}: {e.strerror or e} — choose another directory with -o", EXIT_USAGE)
    for path in written:
        print(f"wrote {path}")

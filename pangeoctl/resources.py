"""Files pangeoctl ships beside its code: the helm chart, the user image's files, the example notebooks.

In a wheel they are package data (``pangeoctl/_chart``, ``_images``, ``_examples``, mapped in
pyproject.toml); in a checkout (an editable install) they are the top-level folders. Every reader asks here,
so nothing depends on where pangeoctl was installed from. The chart versions are read from the one place
they are written: ``helm/pangeo/Chart.yaml``.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _find(packaged: str, checkout: str) -> Path:
    here = Path(str(resources.files("pangeoctl"))) / packaged
    if here.exists():
        return here
    there = _CHECKOUT / checkout
    if there.exists():
        return there
    raise FileNotFoundError(f"{checkout} is missing from this installation of pangeoctl — reinstall it (pip install --force-reinstall pangeoctl)")


def chart() -> Path:
    """The ``helm/pangeo`` umbrella chart."""
    return _find("_chart/pangeo", "helm/pangeo")


def image_dir() -> Path:
    """``images/pangeo-geo``: Dockerfile, requirements.in and the hashed lock."""
    return _find("_images/pangeo-geo", "images/pangeo-geo")


def examples_dir() -> Path:
    """``examples/``: the jupytext notebooks."""
    return _find("_examples", "examples")


@functools.cache
def chart_versions() -> dict[str, str]:
    """Subchart name → the version ``helm/pangeo/Chart.yaml`` pins (jupyterhub, dask-gateway)."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load((chart() / "Chart.yaml").read_text())
    return {d["name"]: str(d["version"]) for d in doc["dependencies"]}


def checkout() -> Path:
    """The source checkout (building the image copies pangeoctl's sources into it)."""
    if (_CHECKOUT / "pyproject.toml").exists() and (_CHECKOUT / "images").is_dir():
        return _CHECKOUT
    raise FileNotFoundError("building the image needs a pangeoctl source checkout — run it from a clone of the repository")

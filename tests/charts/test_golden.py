"""Golden files of the full rendered release per shipped example: a change in what we deploy is a reviewed diff.

tests/golden/release/<example>.yaml holds every object helm renders for deploy/<example>.yaml with the
chart sources, Secrets decoded into ``stringData``, the chart's random tokens and checksums masked, and the
charts' own code (z2jh's jupyterhub_config.py and z2jh.py, the gateway's config template) replaced by a named
sha256 — upstream code is never committed here; our values and extraConfig stay in full.
Regenerate after a deliberate change with ``PANGEOCTL_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import base64
import copy
import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.conftest import ROOT, SHIPPED
from tests.charts.release import Release

GOLDEN = ROOT / "tests" / "golden" / "release"
UPDATE = "PANGEOCTL_UPDATE_GOLDEN"
# Keys of z2jh's `hub` Secret that the chart fills with fresh random values on every render.
RANDOM_KEY_SUFFIXES = (".apiToken", ".auth_token", ".cookie_secret", ".keys")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chart_files(chart: Path) -> dict[str, str]:
    """sha256 → path of every file in the subcharts, so verbatim upstream files become references."""
    return {_digest(p.read_text(errors="replace")): str(p.relative_to(chart / "charts")) for p in (chart / "charts").rglob("*") if p.is_file()}


def _gateway_config(text: str) -> dict[str, Any]:
    """The gateway chart's rendered config: its template code as a digest, our values and extraConfig in full."""
    out: dict[str, Any] = {}
    m = re.search(r'^_PROPERTIES = json\.loads\((".*")\)$', text, re.M)
    if m:
        out["_PROPERTIES"] = json.loads(json.loads(m[1]))
        text = text.replace(m[0], "")
    # The template appends each extraConfig entry after a "# From gateway.extraConfig.<key>" line.
    parts = re.split(r"^# From gateway\.extraConfig\.(\S+)\n", text, flags=re.M)
    for key, code in zip(parts[1::2], parts[2::2], strict=True):
        out.setdefault("extraConfig", {})[key] = code
    return {"template": f"<the dask-gateway chart's template code (sha256:{_digest(parts[0])})>", **out}


def normalise(obj: dict[str, Any], chart_files: dict[str, str] | None = None) -> dict[str, Any]:
    """Masks random values and checksums; upstream code (the charts' own files) becomes a named digest."""
    obj = copy.deepcopy(obj)
    for meta in (obj.get("metadata") or {}, ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}):
        for key in meta.get("annotations") or {}:
            if key.startswith("checksum/"):
                meta["annotations"][key] = "<checksum>"
    if obj["kind"] == "ConfigMap":
        for key, value in (obj.get("data") or {}).items():
            if key.startswith("checksum_"):
                obj["data"][key] = "<checksum>"
            elif chart_files and value and _digest(value) in chart_files:
                obj["data"][key] = f"<chart file {chart_files[_digest(value)]} (sha256:{_digest(value)})>"
            elif key == "dask_gateway_config.py" and "_PROPERTIES" in value:
                obj["data"][key] = _gateway_config(value)
    if obj["kind"] == "Secret" and obj.get("data"):
        text = {k: base64.b64decode(v).decode() for k, v in obj.pop("data").items()}
        obj["stringData"] = {k: "<random>" if k.endswith(RANDOM_KEY_SUFFIXES) else v for k, v in text.items()}
    return obj


class _Literal(yaml.SafeDumper):
    pass


_Literal.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def golden_text(release: Release, chart: Path) -> str:
    files = _chart_files(chart)
    docs = [normalise(o, files) for o in release.objects]
    head = f"# helm template of helm/pangeo for deploy/{release.example}.yaml (chart sources; random values masked). Regenerate: {UPDATE}=1\n"
    return head + yaml.dump_all(docs, Dumper=_Literal, sort_keys=False, explicit_start=True, width=120, allow_unicode=True)


@pytest.mark.parametrize("example", SHIPPED)
def test_release_matches_its_golden_file(example: str, render, chart: Path) -> None:
    text = golden_text(render(example), chart)
    path: Path = GOLDEN / f"{example}.yaml"
    if os.environ.get(UPDATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"no golden file {path.relative_to(ROOT)}: write it with {UPDATE}=1 and review it"
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "rendered", n=2))
        pytest.fail(f"the rendered release for deploy/{example}.yaml differs from {path.relative_to(ROOT)} ({UPDATE}=1 to accept):\n{diff[:6000]}")

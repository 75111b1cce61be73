"""Golden files of the full rendered release per shipped example: a change in what we deploy is a reviewed diff.

tests/golden/release/<example>.yaml holds every object helm renders for deploy/<example>.yaml with the
chart sources, Secrets decoded into ``stringData`` and the chart's random tokens and checksums masked.
Regenerate after a deliberate change with ``PANGEOCTL_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import base64
import copy
import difflib
import os
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


def normalise(obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    for meta in (obj.get("metadata") or {}, ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}):
        for key in meta.get("annotations") or {}:
            if key.startswith("checksum/"):
                meta["annotations"][key] = "<checksum>"
    if obj["kind"] == "ConfigMap":
        for key in obj.get("data") or {}:
            if key.startswith("checksum_"):
                obj["data"][key] = "<checksum>"
    if obj["kind"] == "Secret" and obj.get("data"):
        text = {k: base64.b64decode(v).decode() for k, v in obj.pop("data").items()}
        obj["stringData"] = {k: "<random>" if k.endswith(RANDOM_KEY_SUFFIXES) else v for k, v in text.items()}
    return obj


class _Literal(yaml.SafeDumper):
    pass


_Literal.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def golden_text(release: Release) -> str:
    docs = [normalise(o) for o in release.objects]
    head = f"# helm template of helm/pangeo for deploy/{release.example}.yaml (chart sources; random values masked). Regenerate: {UPDATE}=1\n"
    return head + yaml.dump_all(docs, Dumper=_Literal, sort_keys=False, explicit_start=True, width=120, allow_unicode=True)


@pytest.mark.parametrize("example", SHIPPED)
def test_release_matches_its_golden_file(example: str, render) -> None:
    text = golden_text(render(example))
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

"""What we deploy, per shipped example, as reviewed files: a change shows up as a diff of tests/golden/.

Regenerate after an intended change with ``PANGEOCTL_UPDATE_GOLDEN=1 pytest tests/unit/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import pangeoctl
from pangeoctl import config as C
from pangeoctl.resources import chart
from tests.conftest import PORTS, ROOT, SITE, plan_for

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("PANGEOCTL_UPDATE_GOLDEN") == "1"


def _normalised(text: str) -> str:
    """Machine-specific paths (where this checkout lies) replaced by a placeholder."""
    return text.replace(str(chart()), "<chart>").replace(str(Path(pangeoctl.__file__).parent), "<pangeoctl>")


@pytest.mark.parametrize("example", sorted((ROOT / "deploy").glob("*.yaml")), ids=lambda p: p.stem)
def test_rendered_release_matches_the_golden_files(example, tmp_path):
    cfg = C.load(example)
    files = plan_for(cfg, tmp_path / "out", SITE.with_ports(PORTS)).rendered()
    folder = GOLDEN / example.stem
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(_normalised(text).replace(str(tmp_path), "<out>"))
    expected = {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}
    got = {name: _normalised(text).replace(str(tmp_path), "<out>") for name, text in files.items()}
    assert sorted(got) == sorted(expected), f"files differ — regenerate with PANGEOCTL_UPDATE_GOLDEN=1 and review {folder}"
    for name in got:
        assert got[name] == expected[name], f"{folder / name} differs — if intended, regenerate with PANGEOCTL_UPDATE_GOLDEN=1 and review the diff"

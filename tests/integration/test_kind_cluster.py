"""`up`/`down` on a real kind cluster. Needs kind, kubectl, helm, a container engine and network access to
the chart repositories; runs only when PANGEOCTL_TEST_CLUSTER=1 asks for it."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import CONFIGS
from tests.integration.conftest import cli

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(os.environ.get("PANGEOCTL_TEST_CLUSTER") != "1", reason="set PANGEOCTL_TEST_CLUSTER=1 to create a real kind cluster"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("kind", "kubectl", "helm", "docker")), reason="kind, kubectl, helm and docker are needed"),
]


def test_up_then_down_on_kind():
    cfg = str(CONFIGS / "kind.happy.yaml")
    r = cli("up", "-c", cfg, timeout=1800)
    assert r.returncode == 0, r.stderr
    status = cli("status", "-c", cfg, "--json")
    assert status.returncode == 0, status.stdout
    r = cli("down", "-c", cfg, "--delete-cluster", "--purge-data", timeout=900)
    assert r.returncode == 0, r.stderr

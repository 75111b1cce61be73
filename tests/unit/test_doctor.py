"""`doctor` names what each tool must be, not only whether it is there."""

from __future__ import annotations

from pangeoctl.doctor import doctor
from pangeoctl.runner import RecordingRunner


def test_an_old_helm_is_named_with_the_version_needed():
    old = doctor(RecordingRunner(present=["kind", "kubectl", "helm"], outputs={("helm", "version"): "v3.12.3+g3a31588\n"}), "kind")
    helm = next(c for c in old if c.tool == "helm")
    assert not helm.ok and helm.fix == "helm 3.12 is too old: pangeoctl needs Helm ≥ 3.13 or Helm 4 — https://helm.sh/docs/intro/install/"
    for good in ("v3.13.0+g825e86f\n", "v4.1.4+g1234567\n"):
        checks = doctor(RecordingRunner(present=["kind", "kubectl", "helm"], outputs={("helm", "version"): good}), "kind")
        assert next(c for c in checks if c.tool == "helm").ok

"""One module per ``--cloud`` value behind the :class:`~pangeoctl.clouds.base.Cloud` contract."""

from __future__ import annotations

from pangeoctl.clouds.aws import AWSCloud
from pangeoctl.clouds.azure import AzureCloud
from pangeoctl.clouds.base import Cloud
from pangeoctl.clouds.existing import ExistingCloud
from pangeoctl.clouds.gcp import GCPCloud
from pangeoctl.clouds.kind import KindCloud
from pangeoctl.clouds.minikube import MinikubeCloud

CLOUDS: dict[str, Cloud] = {
    "gcp": GCPCloud(),
    "aws": AWSCloud(),
    "azure": AzureCloud(),
    "kind": KindCloud(),
    "minikube": MinikubeCloud(),
    "existing": ExistingCloud(),
}


def get(name: str) -> Cloud:
    """The Cloud for a Kubernetes ``--cloud`` value (``local`` is not one: see :mod:`pangeoctl.local`)."""
    return CLOUDS[name]

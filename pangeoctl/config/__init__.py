"""``pangeo.yaml``: the model (:mod:`.model`), loading with line numbers (:mod:`.load`), cross-field and
pod-fits-pool checks (:mod:`.checks`), and what a bad file is told (:mod:`.errors`).

Everything other modules import is re-exported here: ``from pangeoctl.config import Config, load``.
"""

from __future__ import annotations

from pangeoctl.config.checks import check, check_fit
from pangeoctl.config.errors import ConfigError, Problem
from pangeoctl.config.load import load, load_with_warnings
from pangeoctl.config.model import (
    AWS,
    CLOUDS,
    DEFAULT_IMAGE,
    DEFAULT_MACHINES,
    GCP,
    KUBERNETES_CLOUDS,
    KUBERNETES_FLOOR,
    MANAGED_CLOUDS,
    Azure,
    Budget,
    ClusterSpec,
    Config,
    Dask,
    DaskLimits,
    DaskOptions,
    Existing,
    GitHubAuth,
    Hub,
    Local,
    Pool,
    Pools,
    Profile,
    SecretRef,
    SharedPasswordAuth,
    UserIdentity,
)


def json_schema() -> dict[str, object]:
    """JSON schema of pangeo.yaml for editors (yaml-language-server, VS Code)."""
    schema: dict[str, object] = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pangeo.yaml"
    return schema


__all__ = [
    "AWS",
    "CLOUDS",
    "DEFAULT_IMAGE",
    "DEFAULT_MACHINES",
    "GCP",
    "KUBERNETES_CLOUDS",
    "KUBERNETES_FLOOR",
    "MANAGED_CLOUDS",
    "Azure",
    "Budget",
    "ClusterSpec",
    "Config",
    "ConfigError",
    "Dask",
    "DaskLimits",
    "DaskOptions",
    "Existing",
    "GitHubAuth",
    "Hub",
    "Local",
    "Pool",
    "Pools",
    "Profile",
    "Problem",
    "SecretRef",
    "SharedPasswordAuth",
    "UserIdentity",
    "check",
    "check_fit",
    "json_schema",
    "load",
    "load_with_warnings",
]

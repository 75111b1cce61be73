"""The ``pangeo.yaml`` model: one pydantic tree, each field's ``description`` its documentation.

Types, units and unknown keys are checked here, field by field. What only shows across fields (a profile
bigger than its pool's machine, GitHub login with nobody allowed) is in :mod:`pangeoctl.config.checks`;
reading YAML and mapping errors to lines is in :mod:`pangeoctl.config.load`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pangeoctl import kube_versions
from pangeoctl.units import Duration, Memory

CLOUDS = ("gcp", "aws", "azure", "kind", "minikube", "local", "existing")
Cloud = Literal["gcp", "aws", "azure", "kind", "minikube", "local", "existing"]
MANAGED_CLOUDS = ("gcp", "aws", "azure")
KUBERNETES_CLOUDS = ("gcp", "aws", "azure", "kind", "minikube", "existing")
DEFAULT_IMAGE = "ghcr.io/pangeoctl/pangeo-geo:2026.11.0"
NAME_RE = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"

# The oldest Kubernetes minor the release installs on: the larger of the two charts' `kubeVersion`
# minimums — dask-gateway 2026.3.0 `>=1.30.0-0` (resources/helm/dask-gateway/Chart.yaml), z2jh 4.4.0
# `>=1.28.0-0` (jupyterhub/Chart.yaml); helm/pangeo/Chart.yaml repeats the larger for helm itself.
KUBERNETES_FLOOR = (1, 30)


class Base(BaseModel):
    """Every section rejects keys it does not know, so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


# ---------------------------------------------------------------- where the platform lives


class GCP(Base):
    project: str = Field(description="Google Cloud project ID that will own the GKE cluster.")
    region: str = Field(description="Region, e.g. `us-central1`. Pick the region of the data you read most.")
    billing_account: str | None = Field(None, description="Billing account ID (`XXXXXX-XXXXXX-XXXXXX`); needed for a `budget:`.")
    zone: str | None = Field(
        None,
        description="Zone for a zonal cluster (cheaper: one free zonal control plane per billing account). "
        "Leave unset for a regional cluster; node counts then apply per zone.",
    )


class AWS(Base):
    region: str = Field(description="AWS region, e.g. `us-west-2` (where Landsat and Sentinel COGs live).")
    account: str | None = Field(None, description="12-digit account ID; when set, `up` refuses to run in another.")
    profile: str | None = Field(None, description="Named AWS CLI profile to use (`AWS_PROFILE`).")
    zones: list[str] | None = Field(
        None,
        min_length=2,
        description="Availability zones for the cluster (at least two, as EKS requires), e.g. `[us-west-2a, us-west-2b]`; "
        "default: the region's a, b and c.",
    )
    nat: Literal["single", "none", "highly-available"] = Field(
        "single",
        description="NAT gateway eksctl creates for the cluster's private subnets: `single` (one, the default), "
        "`highly-available` (one per availability zone; survives a zone outage, costs one gateway per zone) or `none` "
        "(no NAT gateway: nodes need another route out).",
    )

    @field_validator("account", mode="before")
    @classmethod
    def _account(cls, v: Any) -> Any:
        if v is not None and not (isinstance(v, str) and re.fullmatch(r"\d{12}", v)):
            raise ValueError("an AWS account ID is 12 digits — quote it in YAML so leading zeros stay")
        return v


class Azure(Base):
    subscription: str = Field(description="Subscription ID (GUID) or name.")
    resource_group: str = Field(description="Resource group to create the AKS cluster in (created if missing).")
    location: str = Field(description="Azure location, e.g. `westeurope` (where Planetary Computer data live).")


class Minikube(Base):
    cpus: int | None = Field(
        None, ge=2, description="CPUs of the minikube VM; default: enough for the default profile, the smallest Dask worker and the platform."
    )
    memory: Memory | None = Field(
        None, description="Memory of the minikube VM, e.g. `12G`; default: enough for the default profile, the smallest Dask worker and the platform."
    )


class Existing(Base):
    kubeconfig: Path | None = Field(None, description="Kubeconfig file; default `~/.kube/config`.")
    context: str = Field(description="Kubeconfig context of the cluster to install into. Never created or deleted.")


class Local(Base):
    state_dir: Path | None = Field(
        None, description="Where the local platform keeps config, secrets, logs and user homes; default: the user data dir."
    )
    host: str = Field("127.0.0.1", description="Address the hub listens on. Loopback by default: only this machine can log in.")
    port: int = Field(8000, ge=0, le=65535, description="Port of the hub's public proxy (0: pick a free one).")
    gateway_port: int = Field(0, ge=0, le=65535, description="Dask Gateway's TCP port for schedulers (0: pick a free one).")


# ---------------------------------------------------------------- the Kubernetes cluster


class Pool(Base):
    machine_type: str | None = Field(None, description="VM type (`n2-standard-4`, `m6i.xlarge`, `Standard_D4s_v5`). Default depends on the cloud.")
    min_nodes: int = Field(0, ge=0, description="Autoscaler minimum. 0 lets the pool scale to zero when idle.")
    max_nodes: int = Field(ge=1, description="Autoscaler maximum: the hard cap on what this pool can cost.")
    spot: bool = Field(False, description="Use spot/preemptible VMs (60–90 % cheaper, may be reclaimed).")
    disk_gb: int = Field(100, ge=20, le=4000, description="Boot disk size in GB (images of the geo stack are large).")


class Pools(Base):
    core: Pool = Field(
        default_factory=lambda: Pool(min_nodes=1, max_nodes=2),
        description="Hub, proxy, Dask Gateway API and controller. Always on; keep it small.",
    )
    user: Pool = Field(
        default_factory=lambda: Pool(min_nodes=0, max_nodes=10),
        description="JupyterLab servers and Dask schedulers (on demand; schedulers must not be preempted).",
    )
    worker: Pool = Field(
        default_factory=lambda: Pool(min_nodes=0, max_nodes=20, spot=True),
        description="Dask workers. Spot by default: a lost worker's tasks are recomputed.",
    )
    gpu: Pool | None = Field(None, description="Optional GPU pool for profiles that ask for `gpu:`.")


DEFAULT_MACHINES = {
    "gcp": {"core": "e2-standard-2", "user": "n2-highmem-4", "worker": "n2-standard-8", "gpu": "g2-standard-8"},
    "aws": {"core": "t3.large", "user": "r6i.xlarge", "worker": "m6i.2xlarge", "gpu": "g5.2xlarge"},
    "azure": {"core": "Standard_D2s_v5", "user": "Standard_E4s_v5", "worker": "Standard_D8s_v5", "gpu": "Standard_NC8as_T4_v3"},
}


class ClusterSpec(Base):
    kubernetes_version: str = Field(
        kube_versions.DEFAULT,
        pattern=r"^1\.\d+$",
        description=f"Kubernetes minor version, e.g. `{kube_versions.DEFAULT}`; at least "
        f"{KUBERNETES_FLOOR[0]}.{KUBERNETES_FLOOR[1]} (the charts' floor: dask-gateway needs ≥ 1.30, z2jh ≥ 1.28).",
    )
    pools: Pools = Field(default_factory=Pools, description="Node pools and their autoscaling bounds.")

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return f"{v:.2f}".rstrip("0") if isinstance(v, float) else v

    @field_validator("kubernetes_version")
    @classmethod
    def _floor(cls, v: str) -> str:
        if tuple(int(x) for x in v.split(".")) < KUBERNETES_FLOOR:
            floor = f"{KUBERNETES_FLOOR[0]}.{KUBERNETES_FLOOR[1]}"
            raise ValueError(f"below {floor}, the oldest version the charts install on (dask-gateway needs ≥ 1.30) — use {kube_versions.DEFAULT}")
        return v


# ---------------------------------------------------------------- the hub


class SecretRef(Base):
    """Where a secret comes from. Values are never written in pangeo.yaml, rendered files or logs."""

    env: str | None = Field(None, description="Name of an environment variable holding the secret.")
    file: Path | None = Field(None, description="Path of a file holding the secret (first line).")

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env: VAR_NAME` or `file: path`")
        return self

    def describe(self) -> str:
        return f"${self.env}" if self.env else f"file {self.file}"


def _secret_ref(v: Any) -> Any:
    if isinstance(v, str):
        raise ValueError("secrets are never written inline — use `{env: GITHUB_CLIENT_SECRET}` or `{file: path/to/secret}`")
    return v


class GitHubAuth(Base):
    type: Literal["github"]
    client_id: str = Field(description="OAuth app client ID (github.com → Settings → Developer settings → OAuth Apps).")
    github_url: str = Field(
        "https://github.com",
        description="Address of the GitHub that logs people in: `https://github.com`, a GitHub Enterprise Server, or a test "
        "stand-in. Its REST API is derived the way oauthenticator does: https://api.github.com for github.com, `<url>/api/v3` otherwise.",
    )
    client_secret: Annotated[SecretRef, Field(description="OAuth app client secret, by reference.")]
    allowed_organizations: list[str] = Field([], description="Members of these GitHub organisations may log in; `org:team` narrows to one team.")
    allowed_users: list[str] = Field([], description="GitHub user names allowed in addition to the organisations.")
    admins: list[str] = Field([], description="GitHub user names with hub admin rights.")

    _secret = field_validator("client_secret", mode="before")(lambda cls, v: _secret_ref(v))

    @field_validator("allowed_organizations")
    @classmethod
    def _orgs(cls, v: list[str]) -> list[str]:
        for entry in v:
            if not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9]*(:[A-Za-z0-9][-_.A-Za-z0-9]*)?", entry):
                raise ValueError("write each entry as `org` or `org:team`")
        return v

    @field_validator("github_url")
    @classmethod
    def _github_url(cls, v: str) -> str:
        # oauthenticator's normalisation: https:// when no scheme, no trailing slash.
        v = v if "://" in v else "https://" + v
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[^\s]*)?", v):
            raise ValueError("write it as an address, e.g. `https://github.example.org`")
        return v.rstrip("/")

    @property
    def github_api_url(self) -> str:
        """The GitHub REST API, derived as oauthenticator's ``GitHubOAuthenticator.github_api`` default."""
        return "https://api.github.com" if self.github_url == "https://github.com" else self.github_url + "/api/v3"


class SharedPasswordAuth(Base):
    type: Literal["shared-password"]
    password: SecretRef | None = Field(
        None, description="The shared password, by reference. Unset: generated once and kept in the state dir (mode 0600)."
    )
    users: list[str] = Field([], description="User names allowed to log in (any name when empty and `allow_all`).")
    allow_all: bool = Field(True, description="Let any user name log in with the password (local use only).")
    admins: list[str] = Field(["admin"], description="User names with hub admin rights.")

    _secret = field_validator("password", mode="before")(lambda cls, v: _secret_ref(v) if v is not None else v)


Auth = Annotated[GitHubAuth | SharedPasswordAuth, Field(discriminator="type")]


class Profile(Base):
    name: str = Field(description="Shown in the spawn form.")
    description: str = Field("", description="One line under the name in the spawn form.")
    cpu: float = Field(gt=0, description="CPU cores guaranteed and the limit.")
    memory: Memory = Field(description="Memory guaranteed and the limit, e.g. `8G`.")
    image: str | None = Field(None, description="Image for this profile; default: the platform's `image`.")
    gpu: int = Field(0, ge=0, description="GPUs; a profile with GPUs runs on the `gpu` pool.")
    default: bool = Field(False, description="Preselected in the spawn form.")


def _default_profiles() -> list[Profile]:
    return [
        Profile(name="Small", description="2 CPU, 8 GB — notebooks that drive Dask clusters", cpu=2, memory=8 * 1024**3, default=True),
        Profile(name="Large", description="3.5 CPU, 24 GB — in-memory work", cpu=3.5, memory=24 * 1024**3),
    ]


class HTTPS(Base):
    enabled: bool | None = Field(None, description="Default: on when `domain` is set.")
    contact_email: str | None = Field(None, description="Let's Encrypt account e-mail (expiry warnings). Needed with HTTPS.")


class UserIdentity(Base):
    scratch_bucket: bool = Field(
        False,
        description="A scratch bucket for the hub's users and their Dask workers, reached with a cloud identity that may "
        "use only that bucket (gcp, aws, azure). Each user writes under `$SCRATCH_BUCKET` (the bucket plus their name); "
        "everyone on the hub can read it, and objects expire. Off by default.",
    )
    bucket: str | None = Field(
        None,
        description="The bucket's name (Azure: the storage account's). Default: `<project>-<name>-scratch` (gcp), "
        "`<name>-scratch-<aws.account>` (aws: set `aws.account` or this), `<name>` + a hash (azure).",
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    )
    expire_days: int = Field(7, ge=1, le=3650, description="Scratch objects are deleted this many days after they were written.")


class Hub(Base):
    domain: str | None = Field(None, description="DNS name of the hub, e.g. `hub.my-lab.org`. Enables HTTPS.")
    https: HTTPS = Field(default_factory=HTTPS, description="Automatic HTTPS with Let's Encrypt.")
    auth: Auth = Field(
        default_factory=lambda: SharedPasswordAuth(type="shared-password"),
        description="How people log in: `github` or `shared-password` (the default; local, kind, minikube).",
    )
    profiles: list[Profile] = Field(default_factory=_default_profiles, description="Server sizes offered at spawn.")
    home_storage: Memory = Field(10 * 1024**3, description="Persistent home directory size per user.")
    cull_idle: Duration = Field(3600, description="Stop servers idle this long (e.g. `1h`). Their homes stay.")
    max_age: Duration = Field(0, description="Stop servers older than this, idle or not (0: no limit).")
    user_identity: UserIdentity = Field(
        default_factory=UserIdentity, description="A scoped cloud identity for users' data (a scratch bucket); off by default."
    )


# ---------------------------------------------------------------- Dask


class DaskOptions(Base):
    worker_cores: list[float] = Field(
        [1, 2, 4], min_length=1, description="Choices of cores per worker in `cluster_options`; the first is the default."
    )
    worker_memory: list[Memory] = Field(
        [4 * 1024**3, 8 * 1024**3, 16 * 1024**3], min_length=1, description="Choices of memory per worker; the first is the default."
    )
    allow_image: bool = Field(True, description="Let users pick another worker image in `cluster_options`.")


class DaskLimits(Base):
    max_cores: float = Field(64, gt=0, description="Most cores one cluster may hold (scheduler + workers).")
    max_memory: Memory = Field(256 * 1024**3, description="Most memory one cluster may hold.")
    max_workers: int = Field(32, ge=1, description="Most workers one cluster may have.")
    max_clusters_per_user: int = Field(2, ge=1, description="Concurrent clusters one user may run; more are refused.")


class Dask(Base):
    options: DaskOptions = Field(default_factory=DaskOptions, description="What users may choose when creating a cluster.")
    limits: DaskLimits = Field(default_factory=DaskLimits, description="Per-cluster and per-user caps, enforced by the gateway.")
    idle_timeout: Duration = Field(1800, description="Shut a cluster down after this long without client activity.")
    image: str | None = Field(None, description="Worker/scheduler image; default: the platform's `image` (same environment as the notebook).")


class Budget(Base):
    monthly: float = Field(gt=0, description="Monthly budget amount.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO currency code.")
    alert_emails: list[str] = Field(min_length=1, description="Who gets the alerts. Budgets alert; they never cap spend.")
    thresholds: list[float] = Field([0.5, 0.9, 1.0], description="Fractions of the budget that trigger an alert.")


# ---------------------------------------------------------------- the whole file


def _image_ref(v: str) -> str:
    if len(v) > 512 or not re.fullmatch(r"[a-z0-9][-a-z0-9._/:]*[a-z0-9](:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})", v):
        raise ValueError("not `registry/name:tag` — pin a tag (or a digest)")
    if v.endswith(":latest"):
        raise ValueError("`latest` is not reproducible and breaks worker/notebook version matching — pin a tag")
    return v


class Config(Base):
    """A research group's Pangeo platform."""

    name: str = Field(pattern=NAME_RE, description="Short name of the platform: lowercase letters, digits, dashes. Names the cluster and release.")
    cloud: Cloud = Field("local", description="Where it runs: gcp, aws, azure, kind, minikube, local (no Kubernetes) or existing.")
    gcp: GCP | None = Field(None, description="Google Cloud location (cloud: gcp).")
    aws: AWS | None = Field(None, description="AWS location (cloud: aws).")
    azure: Azure | None = Field(None, description="Azure location (cloud: azure).")
    existing: Existing | None = Field(None, description="An existing cluster to install into (cloud: existing).")
    minikube: Minikube | None = Field(None, description="Size of the minikube VM (cloud: minikube); default: sized for the default profile.")
    local: Local = Field(default_factory=Local, description="The embedded platform on this machine (cloud: local).")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec, description="Kubernetes version and node pools.")
    hub: Hub = Field(
        default_factory=lambda: Hub(auth=SharedPasswordAuth(type="shared-password")), description="JupyterHub: address, login, server sizes, culling."
    )
    dask: Dask = Field(default_factory=Dask, description="Dask Gateway: cluster options and limits.")
    image: str = Field(DEFAULT_IMAGE, description="User image (`registry/name:tag`), also the default Dask worker image.")
    budget: Budget | None = Field(None, description="Monthly budget alert sent by the cloud's billing service.")
    data: list[Literal["landsat-c2-l2", "sentinel-2-l2a", "sentinel-1-hyp3", "planetary-computer"]] = Field(
        [], description="Public datasets the group reads most; `validate` warns when the platform sits far from them (egress costs)."
    )

    _image = field_validator("image")(lambda cls, v: _image_ref(v))

    @field_validator("dask")
    @classmethod
    def _dask_image(cls, v: Dask) -> Dask:
        if v.image is not None:
            _image_ref(v.image)
        return v

    @model_validator(mode="after")
    def _fill_machine_types(self) -> Config:
        defaults = DEFAULT_MACHINES.get(self.cloud, {})
        for pool_name, pool in self.pools().items():
            if pool.machine_type is None and pool_name in defaults:
                pool.machine_type = defaults[pool_name]
        return self

    def pools(self) -> dict[str, Pool]:
        p = self.cluster.pools
        out = {"core": p.core, "user": p.user, "worker": p.worker}
        if p.gpu is not None:
            out["gpu"] = p.gpu
        return out

    @property
    def worker_image(self) -> str:
        return self.dask.image or self.image

    @property
    def scratch_bucket(self) -> str | None:
        """The scratch bucket's name (Azure: its storage account's), when users get one; "" when it cannot be
        derived (AWS without ``aws.account``)."""
        ident = self.hub.user_identity
        if not ident.scratch_bucket:
            return None
        if ident.bucket:
            return ident.bucket
        if self.gcp is not None:
            return f"{self.gcp.project}-{self.name}-scratch"
        if self.aws is not None:
            return f"{self.name}-scratch-{self.aws.account}" if self.aws.account else ""
        if self.azure is not None:
            # Storage account names are global, 3–24 lowercase letters and digits: the name plus a hash of where it lives.
            import hashlib

            where = f"{self.azure.subscription}/{self.azure.resource_group}/{self.name}".encode()
            return self.name.replace("-", "")[:16] + hashlib.sha256(where).hexdigest()[:8]
        return ""

    @property
    def https_enabled(self) -> bool:
        return self.hub.https.enabled if self.hub.https.enabled is not None else self.hub.domain is not None

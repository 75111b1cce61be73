"""The ``pangeo.yaml`` model: one pydantic tree, line-numbered errors, cross-field checks, JSON schema.

Loading is two passes. Pydantic checks each field (types, units, unknown keys); then :func:`check` looks
across fields (a profile bigger than its pool's machine, GitHub login with nobody allowed, Dask limits a
pool can never satisfy). Both report :class:`Problem` objects whose ``path`` is mapped back to a line of
the file with ruamel.yaml, so every message reads ``pangeo.yaml:12 hub.auth.admins: … — fix``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pangeoctl import machines
from pangeoctl.units import Duration, Memory, format_memory

CLOUDS = ("gcp", "aws", "azure", "kind", "minikube", "local", "existing")
Cloud = Literal["gcp", "aws", "azure", "kind", "minikube", "local", "existing"]
MANAGED_CLOUDS = ("gcp", "aws", "azure")
DEFAULT_IMAGE = "ghcr.io/pangeoctl/pangeo-geo:2026.11.0"
NAME_RE = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"


class Base(BaseModel):
    """Every section rejects keys it does not know, so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


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
        "1.33", pattern=r"^1\.\d+$", description="Kubernetes minor version, e.g. `1.33` (z2jh 4.4 needs ≥ 1.28, dask-gateway ≥ 1.30)."
    )
    pools: Pools = Field(default_factory=Pools, description="Node pools and their autoscaling bounds.")

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return f"{v:.2f}".rstrip("0") if isinstance(v, float) else v


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
                raise ValueError(f"{entry!r} is not `org` or `org:team`")
        return v


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
        Profile(name="Large", description="4 CPU, 28 GB — in-memory work", cpu=3.5, memory=28 * 1024**3),
    ]


class HTTPS(Base):
    enabled: bool | None = Field(None, description="Default: on when `domain` is set.")
    contact_email: str | None = Field(None, description="Let's Encrypt account e-mail (expiry warnings). Needed with HTTPS.")


class Hub(Base):
    domain: str | None = Field(None, description="DNS name of the hub, e.g. `hub.my-lab.org`. Enables HTTPS.")
    https: HTTPS = Field(default_factory=HTTPS, description="Automatic HTTPS with Let's Encrypt.")
    auth: Auth = Field(
        default_factory=lambda: SharedPasswordAuth(type="shared-password"),
        description="How people log in: `github` (clouds) or `shared-password` (the default; local).",
    )
    profiles: list[Profile] = Field(default_factory=_default_profiles, description="Server sizes offered at spawn.")
    home_storage: Memory = Field(10 * 1024**3, description="Persistent home directory size per user.")
    cull_idle: Duration = Field(3600, description="Stop servers idle this long (e.g. `1h`). Their homes stay.")
    max_age: Duration = Field(0, description="Stop servers older than this, idle or not (0: no limit).")


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
    if not re.fullmatch(r"[a-z0-9][-a-z0-9._/:]*[a-z0-9](:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})", v):
        raise ValueError(f"{v!r} is not `registry/name:tag` — pin a tag (or a digest)")
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
    def https_enabled(self) -> bool:
        return self.hub.https.enabled if self.hub.https.enabled is not None else self.hub.domain is not None


# ---------------------------------------------------------------- problems and line numbers


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    message: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path) or "(top level)"

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        prefix = "warning: " if self.severity == "warning" else ""
        if not self.path:
            return f"{where}: {prefix}{self.message}"
        return f"{where} {prefix}{self.dotted}: {self.message}"


class ConfigError(Exception):
    """The file is not a valid pangeo.yaml; ``problems`` holds every reason, each with its line."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.format(filename) for p in problems))


def _line_of(doc: Any, path: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node of ``path`` present in the ruamel document."""
    line, node = None, doc
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and key in node:
            if lc is not None:
                line = lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            if lc is not None:
                line = lc.item(key)[0] + 1
            node = node[key]
        # keys absent from the file (a union tag, a missing field) leave the line at the parent
    return line


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of ``path``, for 'did you mean' hints."""
    model: Any = Config
    for key in path[:-1]:
        if isinstance(key, int):
            continue
        if key in ("github", "shared-password"):
            model = GitHubAuth if key == "github" else SharedPasswordAuth
            continue
        fields = getattr(model, "model_fields", {})
        if key not in fields:
            return None
        ann = fields[key].annotation
        model = next(
            (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if model is None and key == "auth":
            return None
        if key == "profiles":
            model = Profile
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


# Pydantic's type errors in the words of a YAML file, with what to write instead.
_TYPE_WORDS = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text (quote it if YAML reads it as something else)",
    "list_type": "a list, one `- item` per line or `[a, b]`",
    "dict_type": "a section: its fields indented under it",
    "model_type": "a section: its fields indented under it",
    "model_attributes_type": "a section: its fields indented under it",
}


def _example(loc: tuple[Any, ...]) -> str:
    """`` — e.g. `port: 8000` `` from the field's default, when it has a plain one."""
    if not loc or isinstance(loc[-1], int):
        return ""
    model = _model_at(loc)
    field = model.model_fields.get(str(loc[-1])) if model else None
    default = None if field is None else field.default
    if isinstance(default, bool):
        return f" — e.g. `{loc[-1]}: {str(default).lower()}`"
    if isinstance(default, int | float | str) and default != "":
        return f" — e.g. `{loc[-1]}: {default}`"
    return ""


def _pydantic_problem(err: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        message = f"required — add `{loc[-1]}:`"
    elif kind == "extra_forbidden":
        model = _model_at(loc)
        known = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}" if known else "remove it"
        message = f"unknown field — {hint}"
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        message = "`type:` must be `github` or `shared-password`"
        loc = loc + ("type",) if kind == "union_tag_invalid" else loc
    elif kind == "string_pattern_mismatch" and loc == ("name",):
        message = f"{err.get('input')!r} is not a valid name — use lowercase letters, digits and dashes, starting with a letter (e.g. my-lab)"
    elif kind == "literal_error":
        message = f"{msg.replace('Input should be', 'must be')} (got {err.get('input')!r})"
    elif kind in _TYPE_WORDS:
        message = f"must be {_TYPE_WORDS[kind]}{_example(loc)} (got {err.get('input')!r})"
    else:
        message = msg.removeprefix("Value error, ").replace("Input should be", "must be")
        if kind.startswith(("int_", "float_", "string_", "bool_")) or kind in ("greater_than", "greater_than_equal", "less_than_equal"):
            message = f"{message} (got {err.get('input')!r})"
    return Problem(tuple(p for p in loc if p not in ("github", "shared-password", "function-after[_one(), SecretRef]")), message)


# ---------------------------------------------------------------- cross-field checks


def check(cfg: Config) -> list[Problem]:
    """Problems that only show across fields. Pure: the same config always gives the same list."""
    out: list[Problem] = []
    auth = cfg.hub.auth
    location = {"gcp": cfg.gcp, "aws": cfg.aws, "azure": cfg.azure, "existing": cfg.existing}
    if cfg.cloud in location and location[cfg.cloud] is None:
        out.append(
            Problem(
                (cfg.cloud,), f"cloud is {cfg.cloud!r} but the `{cfg.cloud}:` section is missing — `pangeoctl init --cloud {cfg.cloud}` writes one"
            )
        )
    for other, section in location.items():
        if section is not None and other != cfg.cloud:
            out.append(
                Problem(
                    (other,), f"section for cloud {other!r} is ignored (cloud is {cfg.cloud!r}) — remove it or change `cloud:`", severity="warning"
                )
            )

    if isinstance(auth, GitHubAuth):
        if not (auth.allowed_organizations or auth.allowed_users):
            out.append(
                Problem(
                    ("hub", "auth", "allowed_organizations"),
                    "GitHub login with no allow rule lets nobody in — list your organisation (or `org:team`) or `allowed_users`",
                )
            )
        if cfg.cloud == "local":
            out.append(
                Problem(
                    ("hub", "auth", "type"),
                    "GitHub login needs a hub that github.com can call back; the local platform has none — use `type: shared-password`",
                )
            )
    elif cfg.cloud in MANAGED_CLOUDS and auth.allow_all:
        out.append(
            Problem(
                ("hub", "auth", "type"),
                f"a shared password with `allow_all` on a public {cfg.cloud} hub lets anyone with the password in — use `type: github` or set `allow_all: false` and list `users`",
            )
        )

    if cfg.https_enabled and cfg.hub.domain is None:
        out.append(Problem(("hub", "https", "enabled"), "HTTPS needs `hub.domain` — set the DNS name of the hub"))
    if cfg.https_enabled and not cfg.hub.https.contact_email:
        out.append(Problem(("hub", "https", "contact_email"), "HTTPS with Let's Encrypt needs a contact e-mail — add `contact_email:`"))

    defaults = [i for i, p in enumerate(cfg.hub.profiles) if p.default]
    if len(defaults) > 1:
        out.append(Problem(("hub", "profiles", defaults[1], "default"), "only one profile can be the default"))
    names = [p.name for p in cfg.hub.profiles]
    for i, n in enumerate(names):
        if n in names[:i]:
            out.append(Problem(("hub", "profiles", i, "name"), f"profile name {n!r} is used twice"))

    if cfg.budget is not None and cfg.cloud == "gcp" and cfg.gcp is not None and not cfg.gcp.billing_account:
        out.append(
            Problem(
                ("gcp", "billing_account"), "a budget on GCP belongs to a billing account — add `billing_account:` (gcloud billing accounts list)"
            )
        )
    if cfg.budget is not None and cfg.cloud == "aws" and cfg.aws is not None and not cfg.aws.account:
        out.append(Problem(("aws", "account"), "a budget on AWS belongs to an account — add `account:` (aws sts get-caller-identity)"))
    if cfg.cloud in MANAGED_CLOUDS:
        out += _check_machines(cfg)
    return out


def _check_machines(cfg: Config) -> list[Problem]:
    out: list[Problem] = []
    shapes: dict[str, machines.Machine] = {}
    for name, pool in cfg.pools().items():
        try:
            shapes[name] = machines.lookup(cfg.cloud, pool.machine_type or "")
        except machines.UnknownMachine as e:
            out.append(Problem(("cluster", "pools", name, "machine_type"), str(e)))
        if pool.min_nodes > pool.max_nodes:
            out.append(Problem(("cluster", "pools", name, "min_nodes"), f"min_nodes {pool.min_nodes} is above max_nodes {pool.max_nodes}"))
    # Kubernetes system pods take a slice of every node; what is left is allocatable.
    for i, prof in enumerate(cfg.hub.profiles):
        pool_name = "gpu" if prof.gpu else "user"
        if prof.gpu and cfg.cluster.pools.gpu is None:
            out.append(Problem(("hub", "profiles", i, "gpu"), "a GPU profile needs a `cluster.pools.gpu` pool — add one"))
            continue
        shape = shapes.get(pool_name)
        if shape and (prof.cpu > shape.cpu or prof.memory > shape.memory * 0.9):
            out.append(
                Problem(
                    ("hub", "profiles", i),
                    f"profile {prof.name!r} ({prof.cpu:g} CPU, {format_memory(prof.memory)}) does not fit a {shape.name} "
                    f"({shape.cpu} CPU, {format_memory(shape.memory)}, ~90 % allocatable) — shrink it or use a bigger `cluster.pools.{pool_name}.machine_type`",
                )
            )
    worker = shapes.get("worker")
    if worker:
        opts = cfg.dask.options
        for i, c in enumerate(opts.worker_cores):
            if c > worker.cpu:
                out.append(
                    Problem(
                        ("dask", "options", "worker_cores", i), f"{c:g} cores per worker exceeds the worker machine {worker.name} ({worker.cpu} CPU)"
                    )
                )
        for i, m in enumerate(opts.worker_memory):
            if m > worker.memory * 0.9:
                out.append(
                    Problem(
                        ("dask", "options", "worker_memory", i),
                        f"{format_memory(m)} per worker exceeds what a {worker.name} can give (~{format_memory(int(worker.memory * 0.9) // 1024**3 * 1024**3)})",
                    )
                )
        capacity = worker.cpu * cfg.cluster.pools.worker.max_nodes
        if cfg.dask.limits.max_cores > capacity:
            out.append(
                Problem(
                    ("dask", "limits", "max_cores"),
                    f"{cfg.dask.limits.max_cores:g} cores per cluster is more than the worker pool can ever hold "
                    f"({cfg.cluster.pools.worker.max_nodes} × {worker.cpu} = {capacity}) — lower it or raise `cluster.pools.worker.max_nodes`",
                )
            )
    return out


# ---------------------------------------------------------------- loading


def load(path: Path | str, *, text: str | None = None) -> Config:
    """Read and validate a pangeo.yaml. Warnings are returned by :func:`load_with_warnings`.

    Raises
    ------
    ConfigError
        With every problem found, each located at its line.
    """
    return load_with_warnings(path, text=text)[0]


def load_with_warnings(
    path: Path | str,
    *,
    text: str | None = None,
    cloud: str | None = None,
    more_checks: Callable[[Config], list[Problem]] | None = None,
) -> tuple[Config, list[Problem]]:
    """Load, validate and return ``(config, warnings)``.

    ``cloud`` overrides the file's ``cloud:`` before validation, so every check sees the cloud that will be
    used. ``more_checks`` adds checks that live outside this module (costs); their problems get lines too.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    filename = str(path)
    if text is None:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise ConfigError(filename, [Problem((), "file not found — create one with `pangeoctl init --cloud local` (or pass -c PATH)")]) from None
        except OSError as e:
            raise ConfigError(filename, [Problem((), f"cannot read: {e.strerror}")]) from None
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(filename, [Problem((), f"not valid YAML: {e.problem or e.context}", line)]) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(filename, [Problem((), "must be a mapping of fields (name:, cloud:, hub:, …)", 1)])
    if cloud is not None:
        doc["cloud"] = cloud
    try:
        cfg = Config.model_validate(doc)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            p = _pydantic_problem(dict(err))
            problems.append(Problem(p.path, p.message, _line_of(doc, p.path)))
        raise ConfigError(filename, problems) from None
    found = [Problem(p.path, p.message, _line_of(doc, p.path), p.severity) for p in check(cfg) + (more_checks(cfg) if more_checks else [])]
    errors = [p for p in found if p.severity == "error"]
    if errors:
        raise ConfigError(filename, errors)
    return cfg, [p for p in found if p.severity == "warning"]


def json_schema() -> dict[str, Any]:
    """JSON schema of pangeo.yaml for editors (yaml-language-server, VS Code)."""
    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "pangeo.yaml"
    return schema

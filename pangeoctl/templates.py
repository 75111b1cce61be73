"""The commented pangeo.yaml that ``init`` writes. Comments teach; values are the defaults of pangeoctl.config."""

from __future__ import annotations

import json

from pangeoctl.config import DEFAULT_IMAGE, DEFAULT_MACHINES, Hub
from pangeoctl.kube_versions import DEFAULT as KUBERNETES_DEFAULT


class InitError(ValueError):
    pass


def _q(v: str) -> str:
    return json.dumps(v)


def _profile_line(p: object) -> str:
    from pangeoctl.config import Profile
    from pangeoctl.units import format_memory

    assert isinstance(p, Profile)
    default = ", default: true" if p.default else ""
    return f"    - {{name: {p.name}, description: {json.dumps(p.description, ensure_ascii=False)}, cpu: {p.cpu:g}, memory: {format_memory(p.memory)}{default}}}"


# kind's node is this computer and minikube's is 4 CPU / 8 GB that also run the control plane: the default
# sizes (8 and 24 GB servers, 16 GB workers) can never be scheduled there.
_SMALL_PROFILES = [
    '    - {name: Small, description: "1 CPU, 2 GB", cpu: 1, memory: 2G, default: true}',
    '    - {name: Medium, description: "2 CPU, 4 GB", cpu: 2, memory: 4G}',
]
_SMALL_OPTIONS = ["    worker_cores: [1]", "    worker_memory: [1G, 2G]"]
_SMALL = {
    "kind": {"profiles": _SMALL_PROFILES[:1], "options": _SMALL_OPTIONS},
    "minikube": {"profiles": _SMALL_PROFILES, "options": _SMALL_OPTIONS},
}

_LOCATION_NEEDS = {
    "gcp": ("project", "region"),
    "aws": ("region",),
    "azure": ("subscription", "resource_group", "location"),
    "existing": ("context",),
}


def init_text(
    *, cloud: str, name: str, github_orgs: list[str], github_client_id: str | None, domain: str | None, email: str | None, **where: str | None
) -> str:
    missing = [k for k in _LOCATION_NEEDS.get(cloud, ()) if not where.get(k)]
    if missing:
        flags = " ".join(f"--{m.replace('_', '-')} …" for m in missing)
        raise InitError(f"--cloud {cloud} needs {flags}")
    # GitHub login when asked for; otherwise only on clouds people reach over the internet (local, kind and
    # minikube start with the shared password `up` generates).
    github = bool(github_orgs) or cloud not in (*_SMALL, "local")
    if github and cloud != "local" and not domain:
        raise InitError(f"--cloud {cloud} with GitHub login needs --domain (GitHub calls the hub back at https://DOMAIN/hub/oauth_callback)")
    out = [
        f"# pangeo.yaml — the {name} Pangeo platform. Check it with `pangeoctl validate`,",
        "# preview with `pangeoctl render -o rendered/` or `pangeoctl up --dry-run`, deploy with `pangeoctl up`.",
        f"name: {name}",
        f"cloud: {cloud}",
        "",
    ]
    if cloud == "gcp":
        out += ["gcp:", f"  project: {_q(where['project'] or '')}", f"  region: {where['region']}"]
        out += (
            [f"  zone: {where['zone']}  # zonal: one free control plane; remove for a regional cluster"]
            if where.get("zone")
            else ["  # zone: us-central1-a  # set for a zonal cluster (cheaper)"]
        )
    elif cloud == "aws":
        out += ["aws:", f"  region: {where['region']}  # Landsat/Sentinel COGs live in us-west-2"]
        out += [f"  account: {_q(where['account'] or '')}"] if where.get("account") else []
        out += [f"  profile: {where['profile']}"] if where.get("profile") else []
    elif cloud == "azure":
        out += [
            "azure:",
            f"  subscription: {_q(where['subscription'] or '')}",
            f"  resource_group: {where['resource_group']}",
            f"  location: {where['location']}  # Planetary Computer data live in westeurope",
        ]
    elif cloud == "existing":
        out += ["existing:", f"  context: {where['context']}", "  # kubeconfig: ~/.kube/config"]
    elif cloud == "local":
        out += ["local:", "  port: 8000          # the hub at http://127.0.0.1:8000", "  # state_dir: ~/.local/share/pangeoctl/<name>"]
    out.append("")
    if cloud in DEFAULT_MACHINES:
        m = DEFAULT_MACHINES[cloud]
        out += [
            "cluster:",
            f'  kubernetes_version: "{KUBERNETES_DEFAULT}"',
            "  pools:                      # max_nodes is the hard cap on what each pool can cost",
            f"    core:   {{machine_type: {m['core']}, min_nodes: 1, max_nodes: 2}}     # hub, proxy, gateway — always on",
            f"    user:   {{machine_type: {m['user']}, min_nodes: 0, max_nodes: 10}}    # notebooks + Dask schedulers",
            f"    worker: {{machine_type: {m['worker']}, min_nodes: 0, max_nodes: 20, spot: true}}  # Dask workers",
            "",
        ]
    out += ["hub:"]
    if domain:
        out += [f"  domain: {domain}", "  https:", f"    contact_email: {email or 'admin@' + domain}"]
    if not github:
        out += ["  auth:", "    type: shared-password   # password generated once, kept in the state dir (mode 0600)", "    admins: [admin]"]
    else:
        orgs = github_orgs or ["your-github-org"]
        out += [
            "  auth:",
            "    type: github",
            f"    client_id: {_q(github_client_id or 'your-oauth-app-client-id')}   # github.com → Settings → Developer settings → OAuth Apps",
            "    client_secret: {env: GITHUB_CLIENT_SECRET}   # a reference; the value never goes in this file",
            f"    allowed_organizations: [{', '.join(orgs)}]   # org, or org:team",
            "    admins: []",
        ]
    out += ["  profiles:"] + (_SMALL[cloud]["profiles"] if cloud in _SMALL else [_profile_line(p) for p in Hub().profiles])
    out += [
        "  home_storage: 10G",
        "  cull_idle: 1h             # idle servers stop; homes stay",
        "",
        "dask:",
        "  options:                  # what users pick in cluster_options()",
        *(_SMALL[cloud]["options"] if cloud in _SMALL else ["    worker_cores: [1, 2, 4]", "    worker_memory: [4G, 8G, 16G]"]),
        "  limits:",
        "    max_cores: 64           # per cluster",
        "    max_memory: 256G",
        "    max_workers: 32",
        "    max_clusters_per_user: 2",
        "  idle_timeout: 30m         # clusters nobody uses shut down",
        "",
        f"image: {DEFAULT_IMAGE}   # notebook image, also the Dask workers' (same environment)",
    ]
    if cloud in DEFAULT_MACHINES:
        out += [
            "",
            "# budget:                  # the cloud's billing service e-mails alerts; budgets never cap spend",
            "#   monthly: 500",
            "#   alert_emails: [pi@example.org]",
        ]
    return "\n".join(out) + "\n"


def starter(cloud: str | None) -> str | None:
    """The pangeo.yaml `up` writes when there is none: local defaults, for the local platform only (a cloud
    needs a project, a region and a login that only `init` can ask for)."""
    if cloud not in (None, "local"):
        return None
    return init_text(cloud="local", name="pangeo", github_orgs=[], github_client_id=None, domain=None, email=None)

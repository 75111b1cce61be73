"""`pangeoctl init`: write a commented, valid pangeo.yaml to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pangeoctl.cli._common import EXIT_USAGE, fail

Opt = typer.Option


def init(
    cloud: Annotated[str, Opt("--cloud", help="gcp, aws, azure, kind, minikube, local or existing.")] = "local",
    name: Annotated[str, Opt("--name", help="Platform name: lowercase, digits, dashes.")] = "pangeo",
    project: Annotated[str | None, Opt(help="GCP project ID (gcp).")] = None,
    region: Annotated[str | None, Opt(help="Region (gcp, aws).")] = None,
    zone: Annotated[str | None, Opt(help="Zone for a zonal GKE cluster (gcp).")] = None,
    account: Annotated[str | None, Opt(help="12-digit AWS account ID (aws).")] = None,
    profile: Annotated[str | None, Opt(help="AWS CLI profile (aws).")] = None,
    subscription: Annotated[str | None, Opt(help="Azure subscription (azure).")] = None,
    resource_group: Annotated[str | None, Opt(help="Azure resource group (azure).")] = None,
    location: Annotated[str | None, Opt(help="Azure location, e.g. westeurope (azure).")] = None,
    context: Annotated[str | None, Opt(help="Kubeconfig context (existing).")] = None,
    github_org: Annotated[list[str] | None, Opt("--github-org", help="GitHub organisation (or org:team) allowed to log in; repeatable.")] = None,
    github_client_id: Annotated[str | None, Opt(help="GitHub OAuth app client ID.")] = None,
    domain: Annotated[str | None, Opt(help="DNS name of the hub; turns on HTTPS.")] = None,
    email: Annotated[str | None, Opt(help="Let's Encrypt contact e-mail (with --domain).")] = None,
    output: Annotated[Path, Opt("--output", "-o", help="Where to write.")] = Path("pangeo.yaml"),
    force: Annotated[bool, Opt("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented pangeo.yaml with sensible defaults for CLOUD.

    Every field is explained in the file; `pangeoctl validate` checks it and
    `pangeoctl validate --schema` prints a JSON schema for your editor.

    Examples:

      pangeoctl init --cloud local

      pangeoctl init --cloud gcp --project my-lab-123 --region us-central1 --zone us-central1-a --github-org my-lab
    """
    from pangeoctl.config import CLOUDS, ConfigError, load
    from pangeoctl.templates import InitError, init_text

    if cloud not in CLOUDS:
        fail(f"--cloud {cloud!r} is not one of {', '.join(CLOUDS)}", EXIT_USAGE)
    if output.exists() and not force:
        fail(f"{output} exists — pass --force to overwrite it, or -o another path", EXIT_USAGE)
    try:
        text = init_text(
            cloud=cloud,
            name=name,
            project=project,
            region=region,
            zone=zone,
            account=account,
            profile=profile,
            subscription=subscription,
            resource_group=resource_group,
            location=location,
            context=context,
            github_orgs=github_org or [],
            github_client_id=github_client_id,
            domain=domain,
            email=email,
        )
        load(output, text=text)
    except InitError as e:
        fail(str(e), EXIT_USAGE)
    except ConfigError as e:
        fail("\n".join(p.format("--options") for p in e.problems), EXIT_USAGE)
    output.write_text(text)
    print(f"wrote {output} ({cloud}). Next: read it, then `pangeoctl validate -c {output}` and `pangeoctl up -c {output}`.")

"""The one place a child process runs: real, dry-run and recording runners, secret redaction.

Every helm/kubectl/gcloud/aws/az/eksctl/kind/minikube/docker call is a :class:`Command` handed to a
:class:`Runner`. ``RealRunner`` executes it, ``DryRunRunner`` only prints it, ``RecordingRunner`` keeps it
for tests (and can be told to fail a step). Secrets never enter argv: a command that needs one gets it on
stdin, resolved from its reference at the last moment and shown redacted everywhere.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Stdin:
    """Text fed to a command's stdin, built at run time (it may hold a secret); ``label`` is what is shown."""

    label: str
    build: Callable[[], str]


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    why: str = ""
    env: dict[str, str] = field(default_factory=dict)
    stdin: Stdin | None = None
    # A probe: when it exits 0 the step is already done and is skipped (idempotent `up`).
    unless: tuple[str, ...] | None = None
    # The probe lists matches (a `list --filter`, which exits 0 either way): done only when it prints one.
    unless_found: bool = False
    # When set, the command's stdout (stripped) must equal it, or the step fails (e.g. the right account).
    expect: str | None = None
    # Changes nothing (a listing): a dry run runs it for real, so it can show what `up` would change.
    read_only: bool = False
    # Seconds to wait before each further attempt when it fails (a cloud that is only eventually consistent,
    # e.g. a service account just created that a binding cannot name yet).
    retry: tuple[float, ...] = ()

    def shell(self) -> str:
        """The command as one shell line, secrets left as their references."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        line = (env + " " if env else "") + shlex.join(self.argv)
        if self.stdin is not None:
            line += f"  # stdin: {self.stdin.label}"
        if self.unless is not None and self.unless_found:
            line = f'[ -n "$({env + " " if env else ""}{shlex.join(self.unless)} 2>/dev/null)" ] || {line}'
        elif self.unless is not None:
            line = f"{env + ' ' if env else ''}{shlex.join(self.unless)} >/dev/null 2>&1 || {line}"
        if self.expect is not None:
            line = f'test "$({line})" = {shlex.quote(self.expect)}'
        return line


@dataclass
class Result:
    returncode: int
    stdout: str = ""
    stderr: str = ""


class RunError(Exception):
    """A step failed: the command, its exit code, the useful tail of stderr and, when known, the fix."""

    def __init__(self, cmd: Command, result: Result):
        self.cmd, self.result = cmd, result
        self.hint = diagnose(result.stderr + result.stdout)
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        msg = f"`{cmd.shell()}` exited {result.returncode}"
        if tail:
            msg += f":\n{tail}"
        if self.hint:
            msg += f"\nfix: {self.hint}"
        super().__init__(msg)


class MissingTool(Exception):
    def __init__(self, tool: str, hint: str):
        self.tool, self.hint = tool, hint
        super().__init__(f"`{tool}` is not installed — {hint}")


# stderr patterns of the tools we drive → what to do about them
DIAGNOSES: list[tuple[str, str]] = [
    (
        r"You do not currently have an active account|gcloud auth login|Reauthentication required",
        "log in: `gcloud auth login` (and `gcloud auth application-default login`)",
    ),
    (
        r"has not been used in project|SERVICE_DISABLED|API .* is not enabled",
        "enable the API: `gcloud services enable container.googleapis.com --project PROJECT`",
    ),
    (
        r"QUOTA_EXCEEDED|Quota '.*' exceeded|exceeded quota|VcpuQuota|insufficient.*quota",
        "a quota is too low for the pools' max nodes: request more in the console, or lower `max_nodes`",
    ),
    (
        r"Unable to locate credentials|ExpiredToken|InvalidClientTokenId|could not find any credentials",
        "log in to AWS: `aws sso login --profile PROFILE` (or set AWS_PROFILE)",
    ),
    (r"Please run 'az login'|AADSTS|az login", "log in to Azure: `az login` then `az account set --subscription SUB`"),
    (
        r"context .* does not exist|no context exists with the name",
        "the kubeconfig context is missing: check `existing.context` with `kubectl config get-contexts`",
    ),
    (
        r"AuthorizationFailed.*roleAssignments/write|does not have authorization to perform action 'Microsoft.Authorization/roleAssignments",
        "assigning a role needs Owner or User Access Administrator on the resource group (Contributor is not enough)",
    ),
    (r"acme: error: 429|rateLimited|too many certificates", "Let's Encrypt rate limit hit: wait (limits reset weekly) or test with HTTPS off"),
    (
        r"no such host|NXDOMAIN|DNS problem",
        "the domain does not resolve to the hub yet: point `hub.domain` at the proxy-public address, then rerun `up`",
    ),
    (
        r"Kubernetes cluster unreachable|connection refused.*6443|Unable to connect to the server",
        "the cluster API is unreachable: check the kubeconfig and that the cluster is running (`pangeoctl status`)",
    ),
]


def diagnose(text: str) -> str | None:
    for pattern, hint in DIAGNOSES:
        if re.search(pattern, text, re.IGNORECASE):
            return hint
    return None


class Runner(Protocol):
    """Runs commands. ``run`` returns the result or raises :class:`RunError` on a non-zero exit.

    ``dry_run`` is True for a runner that only shows commands: callers then skip what cannot be shown as a
    command (starting local processes, waiting for readiness) and report missing tools instead of failing.
    """

    dry_run: bool

    def run(self, cmd: Command, *, check: bool = True) -> Result: ...

    def which(self, tool: str) -> str | None: ...

    def resolve(self, host: str) -> frozenset[str]:
        """The addresses ``host`` resolves to now (empty: it does not resolve)."""
        ...

    def sleep(self, seconds: float) -> None: ...


def resolve(host: str) -> frozenset[str]:
    """What the system resolver answers for ``host`` (IPv4 and IPv6), or nothing."""
    try:
        return frozenset(str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError):
        return frozenset()


class RealRunner:
    dry_run = False

    def __init__(self, echo: Callable[[str], None] | None = None):
        self.echo = echo

    def which(self, tool: str) -> str | None:
        return shutil.which(tool)

    def resolve(self, host: str) -> frozenset[str]:
        return resolve(host)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _probe(self, cmd: Command) -> bool:
        assert cmd.unless is not None
        try:
            proc = subprocess.run(list(cmd.unless), env={**os.environ, **cmd.env}, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0 and (not cmd.unless_found or bool(proc.stdout.strip()))

    def run(self, cmd: Command, *, check: bool = True) -> Result:
        if cmd.unless is not None and self._probe(cmd):
            if self.echo:
                self.echo(f"already done: {cmd.why or cmd.argv[0]}")
            return Result(0)
        if self.echo:
            self.echo(f"$ {cmd.shell()}")
        for wait in (*cmd.retry, None):
            try:
                proc = subprocess.run(
                    list(cmd.argv),
                    env={**os.environ, **cmd.env},
                    input=cmd.stdin.build() if cmd.stdin else None,
                    capture_output=True,
                    text=True,
                )
            except FileNotFoundError:
                raise MissingTool(cmd.argv[0], install_hint(cmd.argv[0])) from None
            if proc.returncode == 0 or wait is None:
                break
            if self.echo:
                self.echo(f"  failed ({proc.stderr.strip().splitlines()[-1:] or proc.returncode}); again in {wait:g} s")
            self.sleep(wait)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise RunError(cmd, result)
        if check and cmd.expect is not None and proc.stdout.strip() != cmd.expect:
            raise RunError(cmd, Result(1, "", f"expected {cmd.expect!r}, got {proc.stdout.strip()!r}"))
        return result


class DryRunRunner:
    """Prints each command, shell-quoted, and runs nothing."""

    dry_run = True

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo

    def which(self, tool: str) -> str | None:
        return shutil.which(tool)

    def resolve(self, host: str) -> frozenset[str]:
        return resolve(host)  # a lookup changes nothing, like a listing

    def sleep(self, seconds: float) -> None:
        """A dry run never waits."""

    def run(self, cmd: Command, *, check: bool = True) -> Result:
        if cmd.read_only:
            # A listing changes nothing: run it when its tool is here, so the plan can show real differences.
            self.echo(f"# reads: {cmd.shell()}")
            if self.which(cmd.argv[0]) is None:
                return Result(1, "", f"{cmd.argv[0]} is not installed")
            return RealRunner().run(cmd, check=False)
        self.echo(cmd.shell())
        return Result(0)


class RecordingRunner:
    """Keeps every command; ``fail_on`` makes the first command whose argv contains it fail.

    ``dns`` answers name lookups (host → addresses); ``dns_after`` holds a host's answer back until the
    runner has slept that many seconds (a DNS record that appears while ``up`` waits). Sleeping only counts.
    """

    dry_run = False

    def __init__(
        self,
        *,
        fail_on: Sequence[str] = (),
        stderr: str = "",
        present: Sequence[str] | None = None,
        done: Sequence[str] = (),
        outputs: dict[tuple[str, ...], str | list[str]] | None = None,
        dns: dict[str, Sequence[str]] | None = None,
        dns_after: dict[str, float] | None = None,
    ):
        self.commands: list[Command] = []
        self.dns = {h: frozenset(a) for h, a in (dns or {}).items()}
        self.dns_after = dns_after or {}
        self.slept = 0.0
        self.lookups: list[tuple[float, str]] = []  # (seconds slept so far, host)
        self.outputs = outputs or {}  # argv parts → stdout of the first command containing them all (a list: one per run)
        self.fail_on, self.stderr = tuple(fail_on), stderr
        self.present = present
        self.done = tuple(done)  # probes whose argv contains one of these succeed

    @property
    def argvs(self) -> list[list[str]]:
        return [list(c.argv) for c in self.commands]

    def which(self, tool: str) -> str | None:
        return f"/usr/bin/{tool}" if self.present is None or tool in self.present else None

    def resolve(self, host: str) -> frozenset[str]:
        self.lookups.append((self.slept, host))
        return self.dns.get(host, frozenset()) if self.slept >= self.dns_after.get(host, 0) else frozenset()

    def sleep(self, seconds: float) -> None:
        self.slept += seconds

    def run(self, cmd: Command, *, check: bool = True) -> Result:
        if cmd.unless is not None and any(d in cmd.unless for d in self.done):
            return Result(0)
        self.commands.append(cmd)
        if cmd.stdin is not None:
            cmd.stdin.build()  # resolve it as the real runner would, so a missing secret fails here too
        if self.fail_on and all(part in cmd.argv for part in self.fail_on):
            result = Result(1, "", self.stderr or "error")
            if check:
                raise RunError(cmd, result)
            return result
        for parts, stdout in self.outputs.items():
            if all(p in cmd.argv for p in parts):
                if isinstance(stdout, list):  # successive answers; the last one stays
                    return Result(0, stdout.pop(0) if len(stdout) > 1 else stdout[0])
                return Result(0, stdout)
        return Result(0)


INSTALL_HINTS = {
    "gcloud": "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), then `gcloud auth login`",
    "gke-gcloud-auth-plugin": "`gcloud components install gke-gcloud-auth-plugin` (kubectl needs it for GKE)",
    "aws": "install the AWS CLI v2 (https://aws.amazon.com/cli/), then `aws configure sso`",
    "eksctl": "install eksctl (https://eksctl.io/installation/)",
    "az": "install the Azure CLI (https://learn.microsoft.com/cli/azure/install-azure-cli), then `az login`",
    "kind": "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and a container engine",
    "minikube": "install minikube (https://minikube.sigs.k8s.io/docs/start/)",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "helm": "install Helm ≥ 3.13 or Helm 4 (https://helm.sh/docs/intro/install/)",
    "docker": "install Docker Engine or Docker Desktop",
    "podman": "install podman (https://podman.io/docs/installation)",
    "buildah": "install buildah (https://buildah.io)",
}


def install_hint(tool: str) -> str:
    return INSTALL_HINTS.get(tool, f"install `{tool}` and make sure it is on PATH")


def read_secret(env: str | None, file: Path | None) -> str:
    """The value behind a secret reference. Raises ``LookupError`` naming the reference, never the value."""
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise LookupError(f"environment variable {env} is not set — export it before running pangeoctl")
        return value
    assert file is not None
    try:
        return Path(file).expanduser().read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        raise LookupError(f"secret file {file} is missing or empty") from None


def spawn(argv: Sequence[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None) -> int:
    """Start a long-running process that outlives pangeoctl (its own session, output appended to ``log``)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        except FileNotFoundError:
            raise MissingTool(argv[0], install_hint(argv[0])) from None
    return proc.pid

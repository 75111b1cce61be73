"""The ``Target`` contract: where a platform runs, and the plan that puts it there.

A target turns ``(Config, Site)`` into a :class:`Plan` — files and commands, a pure function, the same
inputs giving byte-identical files — and then applies it through a runner, reports its status, takes it
down and lists what it left. The CLI asks :func:`pangeoctl.targets.target_for` for one and never branches
on the cloud. Two implementations: :class:`~pangeoctl.targets.kubernetes.KubernetesTarget` (every cloud,
with the per-cloud cluster modules of :mod:`pangeoctl.clouds` behind it) and
:class:`~pangeoctl.targets.local.LocalTarget` (a real hub and gateway on this machine).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pangeoctl.config import Config, Problem
from pangeoctl.runner import Command, Runner
from pangeoctl.site import Site

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Read:
    """A read-only step (a probe: safe to run in a dry run too) and what follows from its output.

    ``tell`` turns stdout into a message (None: say nothing); ``follow`` into the commands to run next (a
    node pool to update, a budget amount to set); with ``fatal`` a message stops ``up`` before the next step.
    """

    command: Command
    tell: Callable[[str], str | None] = lambda out: None
    follow: Callable[[str], Sequence[Command | Read]] = lambda out: []
    fatal: bool = False
    code: int = 2  # the exit code a fatal message stops with (2: the config asks for what cannot be; 1: the cloud failed)
    shown: tuple[Command, ...] = ()  # what ``follow`` runs, as commands.sh shows it (the output as a placeholder)
    # The command exits 0 whatever it finds (a listing), so its failing is an error that stops ``up``/``down``
    # — not "nothing there".
    must_run: bool = False

    @property
    def commands(self) -> tuple[Command, ...]:
        return (self.command, *self.shown)


def unreadable(what: str, probe: Command, got: str, then: str) -> str:
    """What ``up`` stops with when a read it needs comes back without its answer."""
    return f"could not read {what} (`{probe.shell()}` gave {got.strip()!r}): {then} — run that command to see why, then `pangeoctl up` again"


@dataclass(frozen=True)
class AfterDNS:
    """The release with HTTPS on only once ``domain`` resolves to the hub's address.

    Let's Encrypt validates over HTTP at the domain, and failed validations count against its rate limits, so
    while the DNS record is missing the release runs with HTTPS off (``plain``). ``probe`` (read-only) prints
    the address the record must point at: a reserved IP, known before the install (GCP, Azure), or the load
    balancer's hostname, known only after it (AWS, an existing cluster). When the domain already resolves,
    (or the running release has HTTPS on already) only ``final`` runs; otherwise ``plain``, then the DNS
    record is told and ``up`` waits (up to ``wait``
    seconds, looking every ``every``), then ``final``. ``plain`` and ``final`` take the probed address.
    """

    domain: str
    probe: Command
    plain: Callable[[str], Command]
    final: Callable[[str], Command]
    record: Callable[[str], str | None]  # the DNS record for an address, as a line to create
    # The running release's values (read first, its message told): when HTTPS is on there it stays on — a
    # rerun from a laptop whose resolver does not see the record yet must not turn a working hub's HTTPS off.
    running: Read | None = None
    shown: tuple[Command, ...] = ()  # ``plain`` then ``final``, as commands.sh shows them
    wait: float = 20 * 60
    every: float = 15

    @property
    def commands(self) -> tuple[Command, ...]:
        return (*(self.running.commands if self.running else ()), self.probe, *self.shown)


Step = Command | Read | AfterDNS


@dataclass
class Plan:
    """Everything ``up`` will do: files written into ``where``, then the steps, in order."""

    cfg: Config
    site: Site
    where: Path  # the folder the files go to (the deployment's state dir, or `render -o DIR`)
    files: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # told before anything runs (e.g. what it will cost)

    @property
    def commands(self) -> list[Command]:
        return [c for s in self.steps for c in ((s,) if isinstance(s, Command) else s.commands)]

    def script(self) -> str:
        lines = [
            "#!/usr/bin/env bash",
            "# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.",
            "set -euo pipefail",
            "",
        ]
        for cmd in self.commands:
            if cmd.why:
                lines.append(f"# {cmd.why}")
            lines.append(cmd.shell())
        return "\n".join(lines) + "\n"

    def rendered(self) -> dict[str, str]:
        """The files ``render`` writes: the plan's own, plus ``commands.sh``."""
        return {**self.files, "commands.sh": self.script()}


@dataclass
class Outcome:
    """What ``apply`` did, for the CLI to tell."""

    url: str | None
    changed: str  # "started", "restarted", "unchanged", "applied" or "planned"
    lines: list[str] = field(default_factory=list)  # what a person needs next (password, DNS, …)


class Target(Protocol):
    """Where a platform runs.

    ``plan`` is pure: no I/O, no clock, no environment — only ``cfg`` and ``site``. ``apply`` writes the
    plan's files and runs its steps through the runner (a dry-run runner shows them and changes nothing;
    ``timeout`` bounds the wait for readiness);
    rerunning it with no change is a no-op. ``status`` reads, never changes. ``down`` stops the platform:
    ``purge`` removes its data too, ``delete_cluster`` the cluster (clouds that own one). ``leftovers``
    lists what may still bill or hold data after ``down``.
    """

    name: str
    tools: tuple[str, ...]
    kubernetes: bool  # runs on a Kubernetes cluster (has node pools, a helm release)

    def locate(self, cfg: Config, site: Site, *, choose_ports: bool) -> Site:
        """The site completed with this deployment's own facts (the local platform's ports); edge only."""
        ...

    def warnings(self, cfg: Config, site: Site) -> list[Problem]:
        """Warnings about ``cfg`` that need more than the file (today's date, prices); shown by ``validate``."""
        ...

    def plan(self, cfg: Config, site: Site, where: Path | None = None) -> Plan: ...

    def apply(self, plan: Plan, runner: Runner, echo: Echo, *, timeout: float = 120) -> Outcome: ...

    def status(self, cfg: Config, site: Site, runner: Runner) -> dict[str, Any]: ...

    def down(self, cfg: Config, site: Site, runner: Runner, echo: Echo, *, purge: bool, delete_cluster: bool) -> list[str]: ...

    def leftovers(self, cfg: Config, site: Site, runner: Runner) -> list[str]: ...

    def destroys(self, cfg: Config, *, delete_cluster: bool) -> str | None:
        """What ``down`` with these options destroys for good (asked before it runs), or None."""
        ...

    def admin_access(self, cfg: Config, site: Site, runner: Runner) -> tuple[str, str]:
        """The hub's address and the token of the ``pangeoctl`` service (for ``check``)."""
        ...

    def log(self, cfg: Config, site: Site) -> Path:
        """The platform's log file (local); a Kubernetes target says how to read its pods' logs instead."""
        ...

    def forget_home(self, cfg: Config, site: Site, user: str) -> None:
        """Remove a temporary user's home the hub keeps (``check``)."""
        ...


class TargetError(Exception):
    """The target could not do what was asked; the message says why and what to do. ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def login_lines(cfg: Config, secrets: Path) -> list[str]:
    """How people log in, and where the generated passwords are kept (``secrets``: the deployment's folder)."""
    from pangeoctl.config import GitHubAuth

    auth = cfg.hub.auth
    if isinstance(auth, GitHubAuth):
        return [f"log in with GitHub ({auth.github_url})"]
    who = "any user name" if auth.allow_all else f"one of {', '.join(auth.users)}"
    where = auth.password.describe() if auth.password else f"the file {secrets / 'password'}"
    lines = [f"log in as {who}; the password is in {where}"]
    if auth.admins:
        lines.append(f"admins ({', '.join(auth.admins)}) log in with the admin password in the file {secrets / 'admin_password'}")
    return lines


def dump_yaml(data: Any) -> str:
    """YAML people can review: block style, no anchors, multi-line strings as ``|`` blocks."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def blocks(d: Any) -> Any:
        if isinstance(d, dict):
            return {k: blocks(v) for k, v in d.items()}
        if isinstance(d, list):
            return [blocks(v) for v in d]
        return LiteralScalarString(d) if isinstance(d, str) and "\n" in d else d

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 120
    yaml.representer.ignore_aliases = lambda *args: True
    buf = io.StringIO()
    yaml.dump(blocks(data), buf)
    return buf.getvalue()


def write_files(files: dict[str, str], where: Path) -> list[Path]:
    """Write ``files`` into ``where`` (created); ``commands.sh`` is made executable. Only changed files are touched."""
    if files:
        where.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = where / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
        written.append(path)
    return written

"""The Kubernetes target: a cluster from one of :mod:`pangeoctl.clouds`, and the ``helm/pangeo`` release.

``plan`` renders the chart values (the Kubernetes view of the wiring), the cloud's cluster spec and the
steps ``up`` runs: create what is missing, write the kubeconfig, install or upgrade the release (showing
what changes first), budgets. ``apply`` runs them through the runner; the first failure stops the rest.
``down`` uninstalls first (the proxy's load balancer can block deleting the cluster), then deletes the
cluster when asked, then lists what may still bill.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pangeoctl import clouds, helm
from pangeoctl.clouds.base import Cloud, ClusterHandle, Owned, dns_record, find_leftovers
from pangeoctl.config import MANAGED_CLOUDS, Config, GitHubAuth, Problem
from pangeoctl.kube_versions import check_cli_listing
from pangeoctl.render.values import render_values
from pangeoctl.runner import Command, MissingTool, Runner, install_hint, read_secret
from pangeoctl.site import Site
from pangeoctl.targets.base import AfterDNS, Echo, Outcome, Plan, Read, Step, TargetError, dump_yaml, login_lines, unreadable, write_files

VALUES = "values.yaml"
PLAIN_VALUES = "values-http.yaml"  # the release before its domain resolves: HTTPS off
RESERVED = "RESERVED_IP"  # the reserved address, in what a plan shows before it exists


def without_https(cfg: Config) -> Config:
    """``cfg`` with HTTPS off: the release while the DNS record is missing (everything else the same)."""
    https = cfg.hub.https.model_copy(update={"enabled": False})
    return cfg.model_copy(update={"hub": cfg.hub.model_copy(update={"https": https})})


class KubernetesTarget:
    """Every ``--cloud`` but ``local``: the cloud module makes (or finds) the cluster, helm installs the rest."""

    kubernetes = True

    def __init__(self, cloud: Cloud):
        self.cloud = cloud
        self.name = cloud.name
        self.tools = cloud.tools

    def state(self, cfg: Config, site: Site) -> Path:
        return site.state_dir(cfg.name, cfg.cloud)

    def handle(self, cfg: Config, site: Site) -> ClusterHandle:
        return self.cloud.handle(cfg, self.state(cfg, site))

    def locate(self, cfg: Config, site: Site, *, choose_ports: bool) -> Site:
        return site

    def warnings(self, cfg: Config, site: Site) -> list[Problem]:
        """What the file alone cannot tell: a Kubernetes version the cloud stops offering by today, and on the
        clouds that bill, budget and data-proximity warnings."""
        if cfg.cloud not in MANAGED_CLOUDS:
            return []
        from pangeoctl.cost import warnings
        from pangeoctl.kube_versions import warning

        old = warning(cfg.cloud, cfg.cluster.kubernetes_version, site.today)
        found = [Problem(("cluster", "kubernetes_version"), old, severity="warning")] if old else []
        return found + warnings(cfg)

    def plan(self, cfg: Config, site: Site, where: Path | None = None) -> Plan:
        from pangeoctl.budgets import budget_commands, gcp_budget_listing, gcp_budget_update

        out = out_dir = where or self.state(cfg, site)
        cloud = self.cloud
        spec_name, spec = cloud.spec(cfg)
        spec_path = out / spec_name
        handle = cloud.handle(cfg, self.state(cfg, site))
        values = render_values(cfg)
        plan = Plan(cfg, site, out, files={VALUES: dump_yaml(values), spec_name: dump_yaml(spec)})
        if cfg.cloud in MANAGED_CLOUDS:
            from pangeoctl.cost import estimate

            est = estimate(cfg)
            plan.notes.append(f"cost: ~${est.idle:,.0f}/month idle, ~${est.total:,.0f}/month at 10 users × 10 h/week (details: pangeoctl cost)")
        steps: list[Step] = [*cloud.prepare(cfg)]
        versions = cloud.versions_probe(cfg)
        if versions is not None:
            # A pinned version the cloud no longer offers stops here, before anything is created.
            steps.append(Read(_reads(versions), tell=lambda out: check_cli_listing(cloud.name, cfg.cluster.kubernetes_version, out), fatal=True))
        steps += cloud.pool_steps(cfg, spec_path)  # a running pool whose shape changed: updated or replaced
        reserve = cloud.reserve_address(cfg)
        steps += [*cloud.create(cfg, spec_path, handle), *reserve, *cloud.credentials(cfg, handle)]
        steps += helm.prepare(cfg, handle, self.state(cfg, site) / "secrets")
        steps += cloud.scratch_steps(cfg, handle, out_dir)  # users' scratch bucket and its identity (when asked for)
        plan.files.update(cloud.scratch_files(cfg))
        # Before upgrading a running release, show what changes in its values (nothing on a first install).
        running = Read(_reads(helm.get_values(cfg, handle)), tell=lambda stdout: _values_change(stdout, values))
        address = cloud.address_probe(cfg, handle) if cfg.hub.domain else None
        pin = bool(reserve)  # a reserved IP (GCP, Azure) goes to the proxy's load balancer, install after install

        def release(values_file: str, why: str | None = None) -> Callable[[str], Command]:
            def install(at: str) -> Command:
                if pin and not at and address is not None:
                    # Unpinned, the cloud would give the proxy another address than the one DNS is told of.
                    raise TargetError(unreadable("the hub's reserved IP address", address, at, "the release is not installed"), 1)
                cmd = helm.upgrade(cfg, handle, out_dir / values_file, address=at if pin else "")
                return dataclasses.replace(cmd, why=why) if why else cmd

            return install

        if address is not None and cfg.hub.domain and cfg.https_enabled:
            # Let's Encrypt only once the domain resolves: until then the release runs with HTTPS off.
            plan.files[PLAIN_VALUES] = dump_yaml(render_values(without_https(cfg)))
            at = RESERVED if pin else "the load balancer"
            plain = release(PLAIN_VALUES, f"while {cfg.hub.domain} does not resolve to {at} yet (skipped once it does): install with HTTPS off")
            final = release(VALUES, "once it resolves (`up` waits for it): install or upgrade JupyterHub + Dask Gateway, HTTPS on")
            shown_at = RESERVED if pin else ""
            steps.append(
                AfterDNS(
                    cfg.hub.domain,
                    _reads(address),
                    plain=plain,
                    final=final,
                    record=lambda out: dns_record(cfg, out),
                    running=running,  # its values tell whether HTTPS is on already
                    shown=(plain(shown_at), final(shown_at)),
                )
            )
        elif address is not None and pin:
            steps.append(running)
            # A reserved IP is known before the release: its DNS record can be made while helm works.
            steps.append(
                Read(
                    _reads(address),
                    tell=lambda out: _dns_line(cfg, out),
                    follow=lambda out: [release(VALUES)(out.strip())],
                    shown=(dataclasses.replace(release(VALUES)(RESERVED), why=_PINNED_WHY),),
                )
            )
        else:
            steps += [running, helm.upgrade(cfg, handle, out / VALUES)]
            if address is not None:  # a load balancer's name (AWS) exists only once the release made it
                steps.append(Read(_reads(address), tell=lambda out: _dns_line(cfg, out)))
        steps += budget_commands(cfg, site.today)
        listing = gcp_budget_listing(cfg)
        if listing is not None:
            steps.append(Read(_reads(listing), follow=lambda out: [c for c in [gcp_budget_update(cfg, out)] if c is not None]))
        plan.steps = steps
        return plan

    def check_ready(self, cfg: Config, runner: Runner, echo: Echo) -> None:
        """Every CLI the cloud needs is here (a dry run only notes what is missing), and every secret
        reference resolves — checked before the first command, so a missing one changes nothing."""
        missing = [t for t in self.tools if runner.which(t) is None]
        if runner.dry_run:
            if missing:
                echo(f"# note: not installed here: {', '.join(missing)} (needed to run these for real)")
            return
        if missing:
            raise MissingTool(missing[0], install_hint(missing[0]))
        auth = cfg.hub.auth
        if isinstance(auth, GitHubAuth):
            read_secret(auth.client_secret.env, auth.client_secret.file)
        elif auth.password is not None:
            read_secret(auth.password.env, auth.password.file)

    def apply(self, plan: Plan, runner: Runner, echo: Echo, *, timeout: float = 120) -> Outcome:
        cfg = plan.cfg
        self.check_ready(cfg, runner, echo)
        if not runner.dry_run:
            write_files(plan.files, plan.where)
        run_steps(plan.steps, runner, echo)
        if runner.dry_run:
            return Outcome(None, "planned")
        url = self.status(cfg, plan.site, runner)["url"]
        lines = [f"{cfg.name} is up on {cfg.cloud} ({len(plan.steps)} steps).", *self.cloud.notes(cfg, self.handle(cfg, plan.site))]
        if url is None:
            kc = self.handle(cfg, plan.site).kubeconfig
            lines.append(
                "no public address yet (a bare cluster may never give the proxy's LoadBalancer one): reach the hub with "
                f"`kubectl --kubeconfig {kc} -n {cfg.name} port-forward service/proxy-public 8080:80` and open http://localhost:8080"
            )
        if cfg.hub.domain and self.cloud.address_probe(cfg, self.handle(cfg, plan.site)) is None:  # nothing told it yet
            lines.append(f"point DNS for {cfg.hub.domain} at the proxy-public service's address; HTTPS certificates follow once it resolves")
        lines += login_lines(cfg, self.state(cfg, plan.site) / "secrets")
        return Outcome(url, "applied", lines)

    def status(self, cfg: Config, site: Site, runner: Runner) -> dict[str, Any]:
        from pangeoctl.kube_status import status

        if runner.which("kubectl") is None:
            raise MissingTool("kubectl", install_hint("kubectl"))
        return status(cfg, runner, self.handle(cfg, site))

    def admin_access(self, cfg: Config, site: Site, runner: Runner) -> tuple[str, str]:
        """The hub's public address and the chart-generated ``pangeoctl`` service token (never printed)."""
        from pangeoctl.checks import admin_token_from_cluster

        url = self.status(cfg, site, runner)["url"]
        if not url:
            raise TargetError("the hub has no public address yet — see `pangeoctl status`")
        return url, admin_token_from_cluster(cfg, runner, self.handle(cfg, site))

    def log(self, cfg: Config, site: Site) -> Path:
        raise TargetError(
            f"on a cluster, read the pods' logs: kubectl --kubeconfig {self.handle(cfg, site).kubeconfig} -n {cfg.name} logs deploy/hub", 2
        )

    def forget_home(self, cfg: Config, site: Site, user: str) -> None:
        """Homes on a cluster are volumes the hub deletes with the user."""

    def down_steps(self, cfg: Config, site: Site, *, purge: bool, delete_cluster: bool) -> list[Step]:
        handle = self.handle(cfg, site)
        cmds: list[Step] = [*helm.stop_workloads(cfg, handle), *helm.uninstall(cfg, handle, purge_data=purge)]
        if purge:  # users' scratch files are their data too
            cmds += [_delete_if_there(o) for o in self.cloud.scratch_owned(cfg)]
        if delete_cluster:
            if not self.cloud.owns_cluster:
                raise TargetError(f"cloud {cfg.cloud!r} never deletes the cluster it was given — remove --delete-cluster", 2)
            cmds += self.cloud.delete(cfg, handle)
        return cmds

    def destroys(self, cfg: Config, *, delete_cluster: bool) -> str | None:
        """What deleting the cluster destroys or leaves billing, to be confirmed first (None: nothing to warn of)."""
        return self.cloud.destroys_data(cfg) if delete_cluster and self.cloud.owns_cluster else None

    def down(self, cfg: Config, site: Site, runner: Runner, echo: Echo, *, purge: bool, delete_cluster: bool) -> list[str]:
        steps = self.down_steps(cfg, site, purge=purge, delete_cluster=delete_cluster)
        tools = {c.argv[0] for s in steps for c in ((s,) if isinstance(s, Command) else s.commands)}
        missing = sorted(t for t in tools if runner.which(t) is None)
        if missing and not runner.dry_run:  # a dry run needs no tool: it only shows the commands
            raise MissingTool(missing[0], install_hint(missing[0]))
        run_steps(steps, runner, echo)
        kept = [o.what for o in self.cloud.scratch_owned(cfg) if o.data and not purge]
        return [f"kept {what}, which bills per GB stored: `down --purge` deletes it, users' files and its identity" for what in kept]

    def leftovers(self, cfg: Config, site: Site, runner: Runner) -> list[str]:
        """Billable resources still tagged for this deployment, each with its monthly price where known."""
        return [x.line() for x in find_leftovers(self.cloud, cfg, runner)]


def _delete_if_there(owned: Owned) -> Read:
    """Delete ``owned`` when its listing names it; say so when it is gone already (a listing that fails stops
    ``down``: it is not "gone")."""
    delete = Command(owned.delete, why=f"delete {owned.what}" + (", and every file in it" if owned.data else ""), env=owned.env)
    probe = Command(owned.probe, why=f"is {owned.what} there?", env=owned.env, read_only=True)
    return Read(
        probe,
        tell=lambda out: None if out.strip() else f"{owned.what}: not there (deleted already)",
        follow=lambda out: [delete] if out.strip() else [],
        shown=(delete,),
        must_run=True,
    )


_PINNED_WHY = "install or upgrade JupyterHub + Dask Gateway, the proxy on RESERVED_IP: the address the line above prints"


def run_steps(steps: list[Step], runner: Runner, echo: Echo) -> None:
    """Run ``steps`` in order; the first failing command stops the rest. A Read's output decides what it says
    and which steps follow (a fatal message stops everything, exit 2); an AfterDNS waits for its domain."""
    for i, step in enumerate(steps, 1):
        _run_step(step, runner, echo, f"[{i}/{len(steps)}]")


def _run_step(step: Step, runner: Runner, echo: Echo, counter: str) -> None:
    if isinstance(step, AfterDNS):
        _after_dns(step, runner, echo, counter)
    elif isinstance(step, Read):
        out = _read(step, runner, echo)
        if out is None:  # the probe could not run here: show what follows, as commands.sh does
            for cmd in step.shown:
                _run_step(cmd, runner, echo, counter)
            return
        for then in step.follow(out):
            _run_step(then, runner, echo, counter)
    else:
        echo(f"{counter} {step.why}")
        runner.run(step)


def _read(step: Read, runner: Runner, echo: Echo) -> str | None:
    """Run a Read and say (or, when fatal, raise) what it tells; its output ("" when it failed), or None in a
    dry run whose probe could not run here."""
    res = runner.run(step.command, check=step.must_run and not runner.dry_run)
    if runner.dry_run and res.returncode != 0:
        return None
    out = res.stdout if res.returncode == 0 else ""
    said = step.tell(out)
    if said and step.fatal:
        raise TargetError(said, step.code)
    if said:
        echo(said)
    return out


def _after_dns(step: AfterDNS, runner: Runner, echo: Echo, counter: str) -> None:
    def run(cmd: Command) -> None:
        echo(f"{counter} {cmd.why}")
        runner.run(cmd)

    def probe() -> str:
        return _stdout(runner, step.probe).strip()

    # HTTPS on for this very domain already (not for one pangeo.yaml has since changed from: the new name may not resolve yet).
    on = step.running is not None and step.domain in https_hosts(_read(step.running, runner, echo) or "")
    address = probe()
    if on or (address and points_at(runner, step.domain, address)):
        run(step.final(address))
        return
    if runner.dry_run:
        address = address or RESERVED  # not reserved yet: shown as the placeholder commands.sh uses
        run(step.plain(address))
        echo(f"# then wait until {step.domain} resolves to the hub's address (up to {step.wait / 60:.0f} min), and turn HTTPS on:")
        runner.run(step.final(address))
        return
    run(step.plain(address))
    waited, told = 0.0, False
    while True:
        address = address or probe()  # a load balancer's name appears once the release made it
        record = step.record(address) if address else None
        if record and not told:
            echo(f"create this DNS record: {record}\nwaiting until it resolves (up to {step.wait / 60:.0f} min; HTTPS is off until then)")
            told = True
        if address and points_at(runner, step.domain, address):
            break
        if waited >= step.wait:
            fix = f"create the DNS record {record}" if record else "check `kubectl get service proxy-public` for the load balancer's address"
            raise TargetError(
                f"{step.domain} does not resolve to the hub after {waited / 60:.0f} minutes, so HTTPS is still off: {fix}, "
                "then run `pangeoctl up` again — it turns HTTPS on as soon as the name resolves",
                1,
            )
        if waited and waited % 60 < step.every:
            echo(f"  still waiting for {step.domain} → {address or 'the load balancer'} ({waited / 60:.0f} min)")
        runner.sleep(step.every)
        waited += step.every
    echo(f"{step.domain} resolves to the hub: turning HTTPS on (Let's Encrypt)")
    run(step.final(address))


def _stdout(runner: Runner, cmd: Command) -> str:
    res = runner.run(cmd, check=False)
    return res.stdout if res.returncode == 0 else ""


def https_hosts(values_json: str) -> list[str]:
    """The domains a release's values (``helm get values --output json``) have z2jh's HTTPS on for ([]: off)."""
    try:
        values = json.loads(values_json or "null") or {}
    except ValueError:
        return []
    https = (((values.get("jupyterhub") or {}).get("proxy") or {}).get("https")) or {}
    return list(https.get("hosts") or []) if https.get("enabled") else []


def points_at(runner: Runner, domain: str, address: str) -> bool:
    """``domain`` resolves to ``address`` (an IP, or a load balancer's name: then to one of its IPs)."""
    found = runner.resolve(domain)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return bool(found & runner.resolve(address))
    return address in found


def _reads(cmd: Command) -> Command:
    """``cmd`` marked as a listing: a dry run runs it for real, so the plan shows what would change."""
    return dataclasses.replace(cmd, read_only=True)


def _dns_line(cfg: Config, out: str) -> str | None:
    record = dns_record(cfg, out)
    if record is None:
        return None
    return f"create this DNS record, then rerun `pangeoctl up` once it resolves (Let's Encrypt needs it): {record}"


def _values_change(stdout: str, rendered: dict[str, Any]) -> str | None:
    if not stdout.strip():
        return None
    try:
        current = json.loads(stdout)
    except ValueError:
        return None
    diff = helm.values_diff(current or {}, rendered)
    return f"changes to the running release:\n{diff}" if diff else "release values unchanged; helm will only reconcile"


def target(cloud: str) -> KubernetesTarget:
    return KubernetesTarget(clouds.get(cloud))

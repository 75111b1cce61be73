"""`pangeoctl status`: is it up, which processes or pods, users, servers, Dask clusters."""

from __future__ import annotations

import json

import typer

from pangeoctl.cli._common import DEFAULT_CONFIG, EXIT_FAILED, CloudOpt, ConfigOpt, JsonOpt, edge, load_config, runner_for


def status(config: ConfigOpt = DEFAULT_CONFIG, cloud: CloudOpt = None, as_json: JsonOpt = False) -> None:
    """Show the platform: each process or pool (healthy?), users, running servers, Dask clusters and workers.

    Exit 0 when everything is healthy, 1 otherwise.
    """
    cfg = load_config(config, cloud, quiet=True)
    target, site = edge(cfg)
    s = target.status(cfg, site, runner_for(False, echo_to_stderr=False))
    print(json.dumps(s, indent=2) if as_json else "\n".join(lines(cfg.name, s)))
    if not s["healthy"]:
        raise typer.Exit(EXIT_FAILED)


def lines(name: str, s: dict) -> list[str]:
    """A person's view of a status: the same shape for every target."""
    out = [f"{name} ({s['cloud']}) — {'up' if s['up'] else 'not up'} at {s['url'] or 'no address yet'}"]
    out += [
        f"  {n:8} pid {p['pid'] or '-':>7}  port {p['port']:>5}  {'healthy' if p['healthy'] else 'NOT healthy'}"
        for n, p in s.get("processes", {}).items()
    ]
    out += [f"  pool {pool:8} {n['ready']}/{n['nodes']} nodes ready" for pool, n in s.get("pools", {}).items()]
    out += [f"  {kind:24} {n['running']}/{n['total']} running" for kind, n in s.get("pods", {}).items()]
    if "users" in s:
        out.append(f"  users: {', '.join(u['name'] + (' (server running)' if u['server'] else '') for u in s['users']) or 'none'}")
    out += [f"  dask cluster {c['name']} of {c['user']}: {c['status']}, {c['workers']} workers" for c in s.get("clusters", [])]
    if s.get("log"):
        out.append(f"  log: {s['log']}")
    return out

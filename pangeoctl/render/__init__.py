"""Pure rendering: a validated Config → everything ``up`` needs, as file contents and commands.

``render_plan`` is what ``render`` writes and what ``up`` executes, so the two can never disagree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pangeoctl.config import Config
from pangeoctl.runner import Command


def _literal_blocks(data: Any) -> Any:
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(data, dict):
        return {k: _literal_blocks(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_literal_blocks(v) for v in data]
    if isinstance(data, str) and "\n" in data:
        return LiteralScalarString(data)
    return data


def dump_yaml(data: Any) -> str:
    """YAML people can review: block style, no anchors, multi-line strings (Python config) as ``|`` blocks."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 120
    yaml.representer.ignore_aliases = lambda *args: True
    buf = io.StringIO()
    yaml.dump(_literal_blocks(data), buf)
    return buf.getvalue()


@dataclass
class Plan:
    """Files to write into the output directory, and the commands ``up`` runs, in order."""

    files: dict[str, str] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)

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


def render_plan(cfg: Config, out: Path) -> Plan:
    """Plan for ``cfg``; file paths inside commands point into ``out``."""
    if cfg.cloud == "local":
        from pangeoctl.local.layout import layout_for
        from pangeoctl.render.local import dask_gateway_config, jupyterhub_config

        layout = layout_for(cfg, resolve_ports=False)
        plan = Plan({"jupyterhub_config.py": jupyterhub_config(cfg, layout), "dask_gateway_config.py": dask_gateway_config(cfg, layout)})
        plan.commands = [Command(("pangeoctl", "up", "--cloud", "local"), why="the local platform starts its processes itself")]
        plan.files["commands.sh"] = plan.script()
        return plan

    from pangeoctl import clouds, helm
    from pangeoctl.render.values import render_values

    cloud = clouds.get(cfg.cloud)
    spec_name, spec = cloud.spec(cfg)
    handle = cloud.handle(cfg, out)
    plan = Plan({"values.yaml": dump_yaml(render_values(cfg)), spec_name: dump_yaml(spec)})
    from pangeoctl.budgets import budget_commands

    plan.commands = [
        *cloud.create(cfg, out / spec_name, handle),
        *cloud.credentials(cfg, handle),
        *helm.install(cfg, handle, out / "values.yaml"),
        *budget_commands(cfg),
    ]
    plan.files["commands.sh"] = plan.script()
    return plan


def write_plan(plan: Plan, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in plan.files.items():
        path = out / name
        path.write_text(text)
        if name == "commands.sh":
            path.chmod(0o755)
        written.append(path)
    return written

"""``python -m tests.browser.sabotage NAME <pangeoctl arguments>``: pangeoctl with one part of the local platform
broken on purpose, for the tests of the browser tests (test_the_test.py).

The break is made in the platform's data (what ``pangeoctl.targets.local.platform_data`` returns, which ``up``
writes to ``platform.json`` and the hub reads), so the real hub starts with it. A sabotage whose key is gone
raises KeyError: when the data's shape changes this file must follow, rather than sabotage nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _github(data: dict[str, Any]) -> dict[str, Any]:
    return data["config"]["GitHubOAuthenticator"]


def _published_proxy(command: list[str]) -> list[str]:
    i = command.index("pangeoctl.local.chp")  # ValueError when the launcher is gone: this sabotage must follow
    return [str(Path(sys.executable).parent / "configurable-http-proxy"), *command[i + 1 :]]


def _no_guard(data: dict[str, Any]) -> None:
    """The hub service at /services/dask-gateway/ is the gateway itself again (its HTTP proxy, its process), as
    before the dashboard guard."""
    services = data["services"]
    front = next(s for s in services if s["name"] == data["gateway"]["service_name"])  # StopIteration: follow the data
    gateway = next(s for s in services if "dask_gateway_server" in s.get("command", []))
    services.remove(gateway)
    front.clear()
    front.update(gateway, name=data["gateway"]["service_name"], url=f"http://{data['gateway']['http_address']}")


SABOTAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    # Everyone GitHub signs in gets in: the organisation and team check is skipped.
    "org-check": lambda data: _github(data).update(allow_all=True),
    # The config's admins are not passed to the hub.
    "admin-list": lambda data: _github(data).update(admin_users=[]),
    # The hub starts the Python configurable-http-proxy as published (no websocket subprotocols), same arguments.
    "upstream-proxy": lambda data: data["proxy"].update(command=_published_proxy(data["proxy"]["command"])),
    # No dashboard guard: anyone with a dashboard's link sees it (dask/dask-gateway#570).
    "no-dashboard-guard": _no_guard,
}


def main() -> None:
    name, args = sys.argv[1], sys.argv[2:]
    sabotage = SABOTAGES[name]
    from pangeoctl.targets import local

    real = local.platform_data

    def broken(*a: Any, **kw: Any) -> dict[str, Any]:
        data = real(*a, **kw)
        sabotage(data)
        return data

    local.platform_data = broken
    from pangeoctl.cli import main as cli

    sys.argv = ["pangeoctl", *args]
    cli()


if __name__ == "__main__":
    main()

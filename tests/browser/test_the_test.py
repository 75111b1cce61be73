"""Tests of the browser tests: with one part of the platform broken, the same checks fail — for that reason.

- the hub's route to the gateway's dashboards points nowhere → the dashboard check fails;
- the dashboard's websocket fails (the original blank-dashboard bug) while the page still answers 200 → the
  dashboard check fails, where a status-code check would pass;
- the organisation check is off (sabotage.py ``org-check``) → the refusal check fails for an outsider;
- the admin list does not reach the hub (sabotage.py ``admin-list``) → the admin check fails;
- the hub starts the published Python proxy (sabotage.py ``upstream-proxy``) → Lab's kernel websocket
  needs a second try, and the path fails there;
- the hub routes the gateway's prefix past the dashboard guard (sabotage.py ``no-dashboard-guard``) → bob sees
  alice's dashboard, and the closed-dashboard check fails.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import path
from tests.browser.conftest import Platform, Shots, running_platform
from tests.browser.test_person import check_admins, check_dashboard_closed, check_refused, walk
from tests.support.github_standin import GitHubStandin

pytestmark = [
    pytest.mark.integration,
    # dask_gateway's Gateway.__del__ closes an already closed client and raises inside the finaliser (harmless).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def cluster(platform: Platform) -> Iterator[str]:
    """A running cluster of alice's (made through the gateway API: these tests are about its dashboard)."""
    with platform.gateway("alice") as gw:
        c = gw.new_cluster()
        try:
            c.scale(2)
            yield c.name
        finally:
            c.shutdown()


def _proxy_api(platform: Platform, method: str, route: str, body: dict | None = None) -> None:
    proxy = json.loads((platform.state / "platform.json").read_text())["proxy"]
    token = Path(proxy["token"]["file"]).read_text().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{proxy['api_url']}/api/routes{route}", method=method, data=data, headers={"Authorization": f"token {token}"})
    urllib.request.urlopen(req, timeout=10).close()


# A healthy dashboard renders its plots within seconds through the hub (test_person); a broken one is called
# blank after this long (ms), instead of the path's patient minute.
BLANK_AFTER = 10_000


def test_a_broken_gateway_route_fails_the_dashboard_check(platform: Platform, cluster: str, person: Any, shots: Shots):
    route = "/services/dask-gateway/clusters"
    _proxy_api(platform, "POST", route, {"target": "http://127.0.0.1:9"})  # nothing listens on port 9
    try:
        page = person("alice").page
        page.goto(f"{platform.url}{route}/{cluster}/status")
        with pytest.raises(AssertionError, match="rendered 0 Bokeh figures"):
            path.check_dashboard(page, platform.url, cluster, timeout=BLANK_AFTER)
    finally:
        _proxy_api(platform, "DELETE", route)


def test_a_failing_dashboard_websocket_fails_the_dashboard_check(platform: Platform, cluster: str, person: Any, shots: Shots):
    alice = person("alice")
    path.sign_in(alice.page, platform.url, "alice")  # the dashboard guard opens alice's dashboards to alice only
    alice.context.route_web_socket(re.compile(r".*/status/ws.*"), lambda ws: ws.close())  # as Chromium did before the proxy fix
    response = alice.page.goto(f"{platform.url}/services/dask-gateway/clusters/{cluster}/status")
    assert response is not None and response.status == 200  # what a status-code check sees
    with pytest.raises(AssertionError, match="rendered 0 Bokeh figures"):
        path.check_dashboard(alice.page, platform.url, cluster, timeout=BLANK_AFTER)


@pytest.fixture
def sabotaged(request: pytest.FixtureRequest, tmp_path: Path, github: GitHubStandin) -> Iterator[Platform]:
    with running_platform(tmp_path, github, sabotage=request.param) as p:
        yield p


@pytest.mark.parametrize("sabotaged", ["org-check"], indirect=True)
def test_without_the_org_check_the_refusal_check_fails(sabotaged: Platform, person: Any, shots: Shots):
    with pytest.raises(AssertionError, match="expected a refusal page"):
        check_refused(sabotaged, person, shots, "mallory")


@pytest.mark.parametrize("sabotaged", ["admin-list"], indirect=True)
def test_without_the_admin_list_the_admin_check_fails(sabotaged: Platform, person: Any, shots: Shots):
    with pytest.raises(AssertionError, match="erin is in hub.auth.admins"):
        check_admins(sabotaged, person, shots)


@pytest.mark.parametrize("sabotaged", ["upstream-proxy"], indirect=True)
def test_with_the_published_proxy_the_kernel_check_fails(sabotaged: Platform, person: Any, shots: Shots):
    with pytest.raises(AssertionError, match="Lab needed 2 tries for its kernel websocket"):
        walk(sabotaged, person, shots)


@pytest.mark.parametrize("sabotaged", ["no-dashboard-guard"], indirect=True)
def test_without_the_guard_the_closed_dashboard_check_fails(sabotaged: Platform, person: Any, shots: Shots):
    with pytest.raises(AssertionError, match="bob sees alice's dashboard"):
        check_dashboard_closed(sabotaged, person, shots)

"""A real person's path on the local platform, in Chromium: GitHub login → JupyterLab → a Dask cluster from a
notebook cell → its dashboard through the hub's address → shut down → log out; a second person who cannot see
the first one's cluster nor open its dashboard; admins and refusals as the config says.

``PANGEOCTL_SCREENSHOTS=docs/img`` also writes the README's three screenshots (login, Lab with a running
cluster, dashboard) from the passing run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import path
from tests.browser.conftest import Platform, Shots

pytestmark = [
    pytest.mark.integration,
    # dask_gateway's Gateway.__del__ closes an already closed client and raises inside the finaliser (harmless).
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

README_SHOTS = {"login": "login.png", "lab": "lab-cluster.png", "dashboard": "dashboard.png"}


def _readme_shot(key: str, png: bytes) -> None:
    where = os.environ.get("PANGEOCTL_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / README_SHOTS[key]).write_bytes(png)


def test_a_persons_path(platform: Platform, person: Any, shots: Shots):
    walk(platform, person, shots)


def walk(platform: Platform, person: Any, shots: Shots) -> None:
    alice = person("alice")
    page = alice.page

    with shots.step(page, "login-page"):
        page.goto(f"{platform.url}/hub/login")
        assert page.get_by_text("Sign in with GitHub").count() == 1
    _readme_shot("login", shots.taken[-1][1])

    with shots.step(page, "signed-in-lab"):
        path.sign_in(page, platform.url, "alice")
        path.expect_lab(page, "alice")

    with shots.step(page, "cluster-from-a-cell"):
        path.new_notebook(page)
        out = path.run_cell(page, path.CREATE_CLUSTER)
        m = re.search(r"RESULT (\d+) (\d+) (\S+)", out)
        assert m, f"the cell did not finish its computation:\n{out}"
        assert (int(m.group(1)), int(m.group(2))) == (499999500000, 2)
        cluster = m.group(3)
        assert f"/services/dask-gateway/clusters/{cluster}/status" in out  # the cluster's HTML view shows its dashboard link
    _readme_shot("lab", shots.taken[-1][1])

    # Lab's kernel websocket connected on the first try (no failed attempt, no fallback reconnect).
    kernels = alice.kernel_sockets()
    assert len(kernels) == 1 and kernels[0]["error"] is None, f"Lab needed {len(kernels)} tries for its kernel websocket: {kernels}"
    assert not kernels[0]["closed"] and kernels[0]["received"] > 0, kernels[0]

    # Someone else, in a browser context of their own, sees no trace of it.
    bob = person("bob")
    with shots.step(bob.page, "second-person"):
        path.sign_in(bob.page, platform.url, "bob")  # allowed through the friends:ops team
        path.expect_lab(bob.page, "bob")
        path.new_notebook(bob.page)
        seen = path.run_cell(bob.page, path.list_clusters(cluster))
        assert "SEES []" in seen and "REFUSED" in seen, seen

    dash = path.open_dashboard_from_output(page, alice.context)
    with shots.step(dash, "dashboard"):
        path.check_dashboard(dash, platform.url, cluster)
    _readme_shot("dashboard", shots.taken[-1][1])
    with shots.step(dash, "dashboard-workers"):
        path.check_dashboard_workers(dash, 2)
    dash.close()

    with shots.step(page, "shut-down"):
        out = path.run_cell(page, path.SHUT_DOWN)
        assert "CLUSTERS LEFT 0" in out, out

    # (checked last: by now the prompt would have appeared)
    assert page.get_by_text(path.NEWS_PROMPT).count() == 0, "JupyterLab asks about fetching news (it needs the internet)"

    with shots.step(page, "logged-out"):
        path.log_out_from_lab(page, platform.url)


def test_admins_from_the_config_see_the_admin_panel(platform: Platform, person: Any, shots: Shots):
    check_admins(platform, person, shots)


def check_admins(platform: Platform, person: Any, shots: Shots) -> None:
    erin, alice = person("erin"), person("alice")
    with shots.step(erin.page, "admin"):
        path.sign_in(erin.page, platform.url, "erin")
        path.expect_lab(erin.page, "erin")
        assert path.is_admin_in_browser(erin.page, platform.url), "erin is in hub.auth.admins but cannot open /hub/admin"
    with shots.step(alice.page, "not-admin"):
        path.sign_in(alice.page, platform.url, "alice")
        path.expect_lab(alice.page, "alice")
        assert not path.is_admin_in_browser(alice.page, platform.url), "alice is no admin but opened /hub/admin"


@pytest.mark.parametrize("login", ["mallory", "tom"], ids=["in-no-organisation", "in-the-org-but-not-the-team"])
def test_outsiders_get_a_clear_refusal(platform: Platform, person: Any, shots: Shots, login: str):
    check_refused(platform, person, shots, login)


def check_refused(platform: Platform, person: Any, shots: Shots, login: str) -> None:
    p = person(login)
    with shots.step(p.page, "refused"):
        path.sign_in(p.page, platform.url, login)
        path.expect_refused(p.page)
        assert "/user/" not in p.page.url
    with shots.step(p.page, "log-in-as-someone-else"):
        p.page.get_by_role("link", name=re.compile("log in as someone else", re.I)).click()
        p.page.wait_for_url(re.compile(r".*/hub/(login|logout).*"))
        p.page.get_by_text("Sign in with GitHub").wait_for()


def test_another_persons_dashboard_stays_closed(platform: Platform, person: Any, shots: Shots):
    check_dashboard_closed(platform, person, shots)


def check_dashboard_closed(platform: Platform, person: Any, shots: Shots) -> None:
    """dask/dask-gateway#570: the gateway serves dashboards to anyone with the link. Through the dashboard guard, bob
    (signed in) gets a 404 for alice's, and alice still sees her own. (Before the guard: bob saw it.)"""
    with platform.gateway("alice") as gw:
        cluster = gw.new_cluster()
        try:
            url = f"{platform.url}/services/dask-gateway/clusters/{cluster.name}/status"
            bob = person("bob")
            path.sign_in(bob.page, platform.url, "bob")
            path.expect_lab(bob.page, "bob")
            with shots.step(bob.page, "someone-elses-dashboard"):
                response = bob.page.goto(url)
                figures = path.bokeh_figures(bob.page, at_least=1, timeout=20_000)
                assert figures == 0, f"bob sees alice's dashboard ({figures} Bokeh figures at {bob.page.url})"
                assert response is not None and response.status == 404, response and (response.status, bob.page.url)
            alice = person("alice")
            path.sign_in(alice.page, platform.url, "alice")
            path.expect_lab(alice.page, "alice")
            with shots.step(alice.page, "own-dashboard"):
                alice.page.goto(url)
                path.check_dashboard(alice.page, platform.url, cluster.name)
        finally:
            cluster.shutdown()

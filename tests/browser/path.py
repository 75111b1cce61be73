"""The steps a person takes, as a person takes them: clicks, typing and what the page shows.

Each step waits for what a person would wait for and then asserts on what is rendered — never on a status
code alone (a blank page is also a 200).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

LAB_READY = ".jp-LabShell .jp-DirListing-content"  # Lab's shell with its file browser filled
NEWS_PROMPT = "get notified about official Jupyter news"

CREATE_CLUSTER = """from dask_gateway import Gateway
import dask.array as da
gateway = Gateway()
cluster = gateway.new_cluster()
cluster.scale(2)
client = cluster.get_client()
client.wait_for_workers(2, timeout=120)
total = int(da.arange(1_000_000, chunks=100_000).sum().compute())
print("RESULT", total, len(client.scheduler_info()["workers"]), cluster.name)
cluster"""

SHUT_DOWN = """client.close()
cluster.shutdown()
print("CLUSTERS LEFT", len(gateway.list_clusters()))"""


def list_clusters(other: str | None = None) -> str:
    """What another user's notebook sees of the gateway: its cluster list, and the answer when it asks for ``other``."""
    code = 'from dask_gateway import Gateway\ngw = Gateway()\nprint("SEES", [c.name for c in gw.list_clusters()])'
    if other:
        code += f'\ntry:\n    gw.connect("{other}")\n    print("CONNECTED")\nexcept Exception as e:\n    print("REFUSED", type(e).__name__)'
    return code


# ------------------------------------------------------------------ login


def sign_in(page: Any, hub: str, login: str) -> None:
    """The hub's login page → "Sign in with GitHub" → the (stand-in) GitHub sign-in page → back to the hub."""
    page.goto(f"{hub}/hub/login")
    page.get_by_text("Sign in with GitHub").click()
    page.wait_for_selector("#login_field")
    page.fill("#login_field", login)
    page.click("#authorize")
    page.wait_for_load_state()


def expect_lab(page: Any, login: str) -> None:
    """After signing in, the hub spawns the server and JupyterLab opens on its launcher."""
    page.wait_for_url(re.compile(rf".*/user/{re.escape(login)}/lab.*"), timeout=120_000)
    page.wait_for_selector(LAB_READY, timeout=120_000)


def expect_refused(page: Any) -> None:
    """A clear refusal: a 403 page that says so and offers to log in as someone else."""
    body = page.locator("body").inner_text()
    assert "403" in body, f"expected a refusal page, got: {body[:300]!r}"
    other = page.get_by_role("link", name=re.compile("log in as someone else", re.I))
    assert other.count() == 1, f"the refusal page offers no 'log in as someone else' link: {body[:300]!r}"


def log_out_from_lab(page: Any, hub: str) -> None:
    """File → Log Out, as a person leaves; afterwards the hub asks for a login again."""
    page.get_by_role("menuitem", name="File", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Log Out")).click()
    page.wait_for_url(re.compile(r".*/hub/(login|logout).*"))
    page.goto(f"{hub}/hub/home")
    page.wait_for_url(re.compile(r".*/hub/login.*"))
    assert page.get_by_text("Sign in with GitHub").count() == 1


def is_admin_in_browser(page: Any, hub: str) -> bool:
    """The hub's home page has an Admin link and the admin panel lists users — or neither."""
    page.goto(f"{hub}/hub/home")
    link = page.locator("a[href$='/hub/admin']").count() > 0
    page.goto(f"{hub}/hub/admin")
    # The admin panel is a React app that renders after load; a refusal is a plain 403 page.
    _wait_quietly(page, "() => document.querySelector('button.start-all') || /\\b403\\b/.test(document.body.innerText)", 30_000)
    panel = page.get_by_role("button", name=re.compile("Start All", re.I)).count() > 0
    if not panel:
        body = page.locator("body").inner_text()
        assert "403" in body or "Forbidden" in body, f"the admin page neither opened nor refused: {body[:300]!r}"
    assert link == panel, f"Admin link shown: {link}, admin panel opened: {panel}"
    return panel


# ------------------------------------------------------------------ JupyterLab


def new_notebook(page: Any) -> None:
    """A new notebook from the launcher (opened with Ctrl+Shift+L when Lab restored other tabs)."""
    card = page.locator('.jp-LauncherCard[data-category="Notebook"]').first
    if not card.is_visible():
        page.locator(".jp-LabShell").click()
        page.keyboard.press("Control+Shift+L")
    card.click()
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content")
    # The kernel is ready when the status bar says Idle.
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)


def run_cell(page: Any, code: str, *, timeout: float = 180_000) -> str:
    """Type ``code`` into the last cell, run it with Shift+Enter, wait until it finished; its output text."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    n = cells.count()
    cell = cells.nth(n - 1)
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(code)  # inserted as text: no auto-closed brackets or auto-indent
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputPrompt")
    page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.textContent)", arg=prompt.element_handle(), timeout=timeout)
    return str(cell.locator(".jp-OutputArea").inner_text())


# ------------------------------------------------------------------ the Dask dashboard


def open_dashboard_from_output(person_page: Any, context: Any) -> Any:
    """Click the Dashboard link in the cluster's output; it opens in a new tab, as it does for a person."""
    link = person_page.locator(".jp-OutputArea-output a[href*='/status']").last
    with context.expect_page() as new:
        link.click()
    page = new.value
    page.wait_for_load_state()
    return page


def bokeh_figures(page: Any, *, at_least: int, timeout: float = 60_000) -> int:
    """Rendered Bokeh figures on the page (inside Bokeh's shadow roots): they appear only when the document
    arrived over the websocket — the HTML shell alone renders none."""
    _wait_quietly(page, f"() => {_COUNT_JS}('bk-Figure') >= {at_least}", timeout)
    return int(page.evaluate(f"{_COUNT_JS}('bk-Figure')"))


def dashboard_workers(page: Any, *, expect: int, timeout: float = 60_000) -> set[str]:
    """The dashboard's Workers tab: the worker addresses its table shows (each worker's row)."""
    page.get_by_role("link", name="Workers", exact=True).first.click()
    _wait_quietly(page, f"() => {_ROWS_JS}().length >= {expect}", timeout)
    return set(page.evaluate(f"{_ROWS_JS}()"))


def check_dashboard(page: Any, hub: str, cluster: str, *, timeout: float = 60_000) -> None:
    """The cluster's dashboard, reached through the hub's address, rendered its plots (within ``timeout`` ms)."""
    assert page.url.startswith(hub) and f"/services/dask-gateway/clusters/{cluster}/status" in page.url, page.url
    figures = bokeh_figures(page, at_least=5, timeout=timeout)
    assert figures >= 5, f"the dashboard at {page.url} rendered {figures} Bokeh figures (blank: no page, or its websocket failed)"


def check_dashboard_workers(page: Any, expect: int) -> None:
    workers = dashboard_workers(page, expect=expect)
    assert len(workers) == expect, f"the dashboard's Workers table shows {sorted(workers)}, not {expect} workers"


def _wait_quietly(page: Any, predicate: str, timeout: float) -> None:
    """Wait until ``predicate`` holds or the time is up; the caller asserts on what is there then."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(predicate, timeout=timeout)


# Walk the document and every open shadow root (Bokeh 3 renders into shadow DOM).
_WALK = "(root, visit) => { for (const el of root.querySelectorAll('*')) { visit(el); if (el.shadowRoot) walk(el.shadowRoot, visit); } }"
_COUNT_JS = (
    f"((cls) => {{ const walk = {_WALK}; let n = 0; walk(document, (el) => {{ if (el.classList && el.classList.contains(cls)) n++; }}); return n; }})"
)
_ROWS_JS = (
    f"(() => {{ const walk = {_WALK}; const seen = new Set(); walk(document, (el) => {{ if (el.classList && el.classList.contains('slick-cell')) {{"
    " const t = el.textContent.trim(); if (/^(tls|tcp):\\/\\/[\\d.]+:\\d+$/.test(t)) seen.add(t); } }); return [...seen]; })"
)

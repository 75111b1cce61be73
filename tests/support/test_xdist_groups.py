"""Under ``pytest -n 2`` a module- or session-scoped fixture is made once per worker, and a module's tests may
run on both: every fixture wider than a test must have all its users in one group of tests/conftest.py's
XDIST_GROUPS (or the suite starts one platform per worker, and test_faults' ordered steps run apart)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT, XDIST_GROUPS, xdist_group

TESTS = ROOT / "tests"
# tests/conftest.py's own: cheap, and made once per worker by design.
EXEMPT = {"schemas", "_stopped_in_background"}


def _parse(path: Path) -> ast.Module:
    # CPython 3.11 may raise a spurious SystemError ("AST constructor recursion depth mismatch") when other
    # threads run meanwhile (python/cpython#106905; seen here after the browser tests): parse again.
    for _ in range(2):
        try:
            return ast.parse(path.read_text())
        except SystemError:
            continue
    return ast.parse(path.read_text())


def _wide_fixtures(tree: ast.Module) -> set[str]:
    """The fixtures defined in ``tree`` with a scope wider than a test."""

    def wide(deco: ast.expr) -> bool:
        return isinstance(deco, ast.Call) and any(k.arg == "scope" and getattr(k.value, "value", "function") != "function" for k in deco.keywords)

    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and any(wide(d) for d in n.decorator_list)}


def _args(tree: ast.Module) -> dict[str, set[str]]:
    """Each function in ``tree`` → the names it asks for (fixtures among them)."""
    return {n.name: {a.arg for a in n.args.args} for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _uses(tree: ast.Module, names: set[str]) -> bool:
    return any(asked & names for asked in _args(tree).values())


def _through(conftest: dict[str, set[str]], fixture: str) -> set[str]:
    """``fixture`` and the conftest's fixtures that ask for it, directly or not."""
    names = {fixture}
    while more := {f for f, asked in conftest.items() if asked & names} - names:
        names |= more
    return names


def _node(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_shared_fixture_stays_on_one_worker():
    modules = {p: _parse(p) for p in sorted(TESTS.rglob("test_*.py"))}
    apart = []
    for defining in sorted(TESTS.rglob("*.py")):
        if defining.name != "conftest.py" and not defining.name.startswith("test_"):
            continue
        tree = _parse(defining)
        for fixture in _wide_fixtures(tree) - EXEMPT:
            if defining.name == "conftest.py":
                names = _through(_args(tree), fixture)
                users = [p for p, module in modules.items() if p.is_relative_to(defining.parent) and _uses(module, names)]
            else:
                users = [defining]
            groups = {xdist_group(_node(p) + "::") for p in users}
            if len(groups) != 1 or any(g.endswith("::") for g in groups):  # a lone test id: no group
                apart.append(f"{_node(defining)}:{fixture} used by {[_node(p) for p in users]} (groups {sorted(groups)})")
    assert apart == []


def test_the_groups_name_existing_tests():
    for prefix in XDIST_GROUPS:
        assert (ROOT / prefix).exists(), prefix

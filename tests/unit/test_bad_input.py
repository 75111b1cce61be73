"""Bad input never hurts (issue 18): every broken pangeo.yaml is refused through the CLI with one line naming
FILE:LINE and the field, exit 2, nothing written, no secret echoed — and quickly (times are printed, not asserted).

Two corpora: the committed ``tests/configs/*.error.*.yaml`` (variants of the shipped examples, each asserting
its message in tests/unit/test_config.py), and the cases below that are better generated than committed
(binary, huge, alias bombs, deep nesting, secrets in odd shapes).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pangeoctl.cli import create_app
from pangeoctl.config import load as config_load
from pangeoctl.config.errors import MAX_PROBLEMS, QUOTE_CHARS
from tests.conftest import CONFIGS

ERRORS = sorted(CONFIGS.glob("*.error.*.yaml"))
SECRET = "hunter2-must-never-print"
GOOD = "name: lab\ncloud: local\n"


def _bomb(levels: int = 9) -> bytes:
    """A "billion laughs": each anchor repeats the previous one nine times; a few hundred bytes, 9**levels values."""
    out = [b"a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]".encode())
    return b"\n".join(out) + b"\n"


# name → (file bytes, the line the message must name, text the message must contain)
GENERATED: dict[str, tuple[bytes, int, str]] = {
    "latin-1": ("name: café\ncloud: local\n".encode("latin-1"), 1, "not UTF-8 text"),
    "cp1252-quotes": (b"name: lab\nhub:\n  profiles:\n    - {name: \x93Small\x94, cpu: 1, memory: 2G}\n", 4, "not UTF-8 text"),
    "binary": (bytes(range(256)) * 4, 2, "not UTF-8 text"),  # byte 10 is a newline: 0x80 is on line 2
    "nul-bytes": (b"name: lab\ncloud: lo\x00cal\n", 2, "control character U+0000"),
    "deep-flow": (b"name: lab\ndata: " + b"[" * 5000 + b"]" * 5000 + b"\n", 2, "nested more than"),
    "deep-block": (b"name: lab\nhub:\n" + b"".join(b"  " * (i + 1) + f"k{i}:\n".encode() for i in range(200)), 43, "nested more than"),
    # Refused at the first anchor past the budget (a4: 9**5 values, line 5), before anything reads them.
    "alias-bomb-as-data": (_bomb() + b"name: lab\ndata: *a8\n", 5, "a4: expands to more than"),
    "alias-bomb-as-name": (_bomb() + b"name: *a8\n", 5, "a4: expands to more than"),
    "alias-bomb-as-cloud": (_bomb() + b"name: lab\ncloud: *a8\n", 5, "a4: expands to more than"),
    "huge-file": (b"name: lab\ndata: [" + b"x, " * 1_700_000 + b"]\n", 1, "a pangeo.yaml is a few KB"),
    "many-items": (b"name: lab\ndask:\n  options:\n    worker_memory: [" + b"lots, " * 5000 + b"]\n", 4, "lines and list items"),
    "unclosed-quote": (b"name: lab\ncloud: local\nhub:\n  profiles:\n    - {name: 'Small, cpu: 1, memory: 2G}\n  cull_idle: 1h\n", 5, "never closed"),
    "recursive-alias": (b"name: lab\ndata: &a [*a]\n", 2, "data"),
}

# Secret-shaped values in every shape the issue found printed; SECRET must appear nowhere.
SECRETS: dict[str, tuple[bytes, int, str]] = {
    "client-secret-inline": (
        f"name: lab\nhub:\n  auth: {{type: github, client_id: a, client_secret: {SECRET}, allowed_users: [a]}}\n".encode(),
        3,
        "hub.auth.client_secret: secrets are never written inline",
    ),
    "client-secret-number": (
        b"name: lab\nhub:\n  auth: {type: github, client_id: a, client_secret: 8675309123456, allowed_users: [a]}\n",
        3,
        "hub.auth.client_secret: must be a section",
    ),
    "client-secret-list": (
        f"name: lab\nhub:\n  auth: {{type: github, client_id: a, client_secret: [{SECRET}], allowed_users: [a]}}\n".encode(),
        3,
        "hub.auth.client_secret: must be a section",
    ),
    "client-secret-bad-env": (
        f"name: lab\nhub:\n  auth: {{type: github, client_id: a, client_secret: {{env: [{SECRET}]}}, allowed_users: [a]}}\n".encode(),
        3,
        "hub.auth.client_secret.env: must be text",
    ),
    "auth-as-string": (f"name: lab\nhub:\n  auth: {SECRET}\n".encode(), 3, "hub.auth: must be a section"),
    "password-inline": (f"name: lab\nhub:\n  auth:\n    type: shared-password\n    password: {SECRET}\n".encode(), 5, "hub.auth.password"),
    "duplicate-client-secret": (
        f"name: lab\nhub:\n  auth:\n    type: github\n    client_secret: {{env: X}}\n    client_secret: {SECRET}\n".encode(),
        6,
        "`client_secret` is written twice",
    ),
    "duplicate-password": (
        f"name: lab\nhub:\n  auth:\n    type: shared-password\n    password: {SECRET}-1\n    password: {SECRET}-2\n".encode(),
        6,
        "`password` is written twice",
    ),
}

LINE = re.compile(r"^(?P<file>\S+?):(?P<line>\d+)[: ]")


def _refused(tmp_path: Path, data: bytes, name: str) -> tuple[list[str], float]:
    """Run `validate` and `render -o DIR` on ``data``; both must exit 2 and leave DIR absent. Returns validate's lines."""
    f = tmp_path / f"{name}.yaml"
    f.write_bytes(data)
    out_dir = tmp_path / "rendered"
    start = time.perf_counter()
    v = CliRunner().invoke(create_app(), ["validate", "-c", str(f)])
    elapsed = time.perf_counter() - start
    r = CliRunner().invoke(create_app(), ["render", "-c", str(f), "-o", str(out_dir)])
    assert (v.exit_code, r.exit_code) == (2, 2), (v.output, r.output)
    assert v.exception is None or isinstance(v.exception, SystemExit), v.exception
    assert not out_dir.exists()
    assert r.output == v.output
    print(f"{name}: refused in {elapsed * 1000:.0f} ms ({len(data):,} bytes)")
    return v.output.splitlines(), elapsed


@pytest.mark.parametrize("name", list(GENERATED), ids=str)
def test_generated_bad_input_is_refused_in_one_line(tmp_path, name):
    data, line, words = GENERATED[name]
    lines, _ = _refused(tmp_path, data, name)
    assert len(lines) == 1, lines
    m = LINE.match(lines[0])
    assert m and m["file"].endswith(f"{name}.yaml") and int(m["line"]) == line, lines[0]
    assert words in lines[0]
    assert len(lines[0]) < 300


@pytest.mark.parametrize("name", list(SECRETS), ids=str)
def test_secrets_are_never_echoed(tmp_path, name):
    data, line, words = SECRETS[name]
    lines, _ = _refused(tmp_path, data, name)
    text = "\n".join(lines)
    assert SECRET not in text and "8675309123456" not in text, text
    assert any(f"{name}.yaml:{line} " in x or f"{name}.yaml:{line}:" in x for x in lines), lines
    assert words in text


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_error_corpus_through_the_cli(tmp_path, path):
    lines, _ = _refused(tmp_path, path.read_bytes(), path.stem)
    assert len(lines) == 1, lines
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert lines[0].removeprefix(str(tmp_path) + "/") == path.read_text().splitlines()[0].removeprefix("# expect: ")


def test_quotes_and_problem_counts_are_capped(tmp_path):
    items = ", ".join(f"'{'x' * 300}{i}'" for i in range(100))
    lines, _ = _refused(tmp_path, f"name: lab\ndata: [{items}]\n".encode(), "long-quotes")
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1].endswith(f"and {100 - MAX_PROBLEMS:,} more problems like these")
    assert all(len(x) < 200 + QUOTE_CHARS for x in lines)


def test_a_region_missing_from_the_list_only_warns():
    gcp = "name: lab\ncloud: gcp\ngcp: {project: p, region: us-central9}\n"
    hub = "hub: {domain: h.org, https: {contact_email: a@h.org}, auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}}\n"
    from pangeoctl.config import load_with_warnings

    _, warnings = load_with_warnings("x", text=gcp + hub)
    assert [w.format("x") for w in warnings] == [
        "x:3 warning: gcp.region: not a GCP region as of 2026-12-03 — did you mean `us-central1`? (ignore this if the region is newer)"
    ]


def test_good_file_still_loads():
    assert config_load("x", text=GOOD).cloud == "local"

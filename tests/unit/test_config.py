"""pangeo.yaml: every fixture by name, each error fixture with its exact message, units, schema export."""

from __future__ import annotations

import pytest

from pangeoctl import config as C
from pangeoctl.units import format_memory, parse_duration, parse_memory
from tests.conftest import CONFIGS, ROOT

HAPPY = sorted(CONFIGS.glob("*.happy*.yaml"))
ERRORS = sorted(CONFIGS.glob("*.error.*.yaml"))
DEPLOY = sorted((ROOT / "deploy").glob("*.yaml"))


def test_fixtures_cover_every_cloud():
    clouds = {p.name.split(".")[0] for p in HAPPY}
    assert clouds == set(C.CLOUDS)
    assert len(ERRORS) >= 10


@pytest.mark.parametrize("path", HAPPY + DEPLOY, ids=lambda p: p.name)
def test_happy_configs_load(path):
    cfg = C.load(path)
    assert cfg.cloud == path.name.split(".")[0]


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_error_configs_say_what_and_where(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    with pytest.raises(C.ConfigError) as info:
        C.load(path.name, text=path.read_text())
    lines = [p.format(path.name) for p in info.value.problems]
    assert first.removeprefix("# expect: ") in lines


def test_every_problem_is_reported_at_once():
    text = "name: Bad Name\ncloud: mars\nhub:\n  auth: {type: github, client_id: 1}\n"
    with pytest.raises(C.ConfigError) as info:
        C.load("p.yaml", text=text)
    got = [p.format("p.yaml") for p in info.value.problems]
    assert got[0].startswith("p.yaml:1 name: 'Bad Name' is not a valid name")
    assert any(g.startswith("p.yaml:2 cloud: must be 'gcp', 'aws'") for g in got)
    assert "p.yaml:4 hub.auth.client_secret: required — add `client_secret:`" in got


def test_machine_types_default_per_cloud():
    cfg = C.load(
        "x",
        text="name: a\ncloud: aws\naws: {region: us-west-2}\nhub: {auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}}\n",
    )
    assert (
        {n: p.machine_type for n, p in cfg.pools().items()} == C.DEFAULT_MACHINES["aws"] | {}
        if False
        else {"core": "t3.large", "user": "r6i.xlarge", "worker": "m6i.2xlarge"}
    )
    assert cfg.cluster.pools.worker.spot and not cfg.cluster.pools.user.spot
    assert cfg.worker_image == cfg.image


def test_warning_for_unused_cloud_section():
    cfg, warnings = C.load_with_warnings("x", text="name: a\ncloud: local\ngcp: {project: p, region: r}\n")
    assert [w.format("x") for w in warnings] == [
        "x:3 warning: gcp: section for cloud 'gcp' is ignored (cloud is 'local') — remove it or change `cloud:`"
    ]


@pytest.mark.parametrize(
    ("text", "expected"), [("4G", 4 * 2**30), ("512Mi", 512 * 2**20), ("1.5 GiB", int(1.5 * 2**30)), (1024, 1024), ("2T", 2 * 2**40)]
)
def test_memory(text, expected):
    assert parse_memory(text) == expected


def test_memory_round_trip():
    assert format_memory(parse_memory("16G")) == "16G"
    assert format_memory(parse_memory("1.5G")) == "1536M"


@pytest.mark.parametrize(("text", "expected"), [("30m", 1800), ("1h", 3600), ("2d", 172800), (90, 90), ("45s", 45)])
def test_duration(text, expected):
    assert parse_duration(text) == expected


def test_schema_export_describes_every_field():
    schema = C.json_schema()
    assert schema["additionalProperties"] is False
    missing = []
    for name, d in schema["$defs"].items():
        for field, spec in d.get("properties", {}).items():
            if field != "type" and not spec.get("description"):
                missing.append(f"{name}.{field}")
    assert missing == []

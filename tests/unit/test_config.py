"""pangeo.yaml: every fixture by name, each error fixture with its exact message, units, schema export,
the new fields (github_url, aws.nat, hub.user_identity) and the package's one-place facts."""

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
    assert (
        got[0] == "p.yaml:1 name: not a valid name — use lowercase letters, digits and dashes, starting with a letter (e.g. my-lab) (got 'Bad Name')"
    )
    assert any(g.startswith("p.yaml:2 cloud: must be 'gcp', 'aws'") for g in got)
    assert "p.yaml:4 hub.auth.client_secret: required — add `client_secret:`" in got


def test_machine_types_default_per_cloud():
    cfg = C.load(
        "x",
        text="name: a\ncloud: aws\naws: {region: us-west-2}\nhub: {domain: h.org, https: {contact_email: a@h.org}, auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}}\n",
    )
    assert {n: p.machine_type for n, p in cfg.pools().items()} == {"core": "t3.large", "user": "r6i.xlarge", "worker": "m6i.2xlarge"}
    assert cfg.cluster.pools.worker.spot and not cfg.cluster.pools.user.spot
    assert cfg.worker_image == cfg.image


def test_warning_for_unused_cloud_section():
    cfg, warnings = C.load_with_warnings("x", text="name: a\ncloud: local\ngcp: {project: p, region: r}\n")
    assert [w.format("x") for w in warnings] == [
        "x:3 warning: gcp: section for cloud 'gcp' is ignored (cloud is 'local') — remove it or change `cloud:`"
    ]


@pytest.mark.parametrize(
    ("text", "expected"), [("4G", 4 * 2**30), ("512Mi", 512 * 2**20), ("1.5 GiB", int(1.5 * 2**30)), (2**20, 2**20), ("2T", 2 * 2**40)]
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


def test_default_profiles_say_what_they_set():
    for p in C.Hub().profiles:
        assert p.description.startswith(f"{p.cpu:g} CPU, {p.memory // 2**30} GB"), p


def test_kubernetes_version_default_and_floor():
    from pangeoctl import kube_versions

    assert C.load("x", text="name: a\n").cluster.kubernetes_version == kube_versions.DEFAULT
    floor = "{}.{}".format(*C.KUBERNETES_FLOOR)
    assert C.load("x", text=f"name: a\ncluster: {{kubernetes_version: '{floor}'}}\n").cluster.kubernetes_version == floor
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text="name: a\ncluster:\n  kubernetes_version: '1.29'\n")
    assert info.value.problems[0].format("x").startswith("x:3 cluster.kubernetes_version: below 1.30, the oldest version the charts install on")


@pytest.mark.parametrize(
    ("url", "normal", "api"),
    [
        (None, "https://github.com", "https://api.github.com"),
        ("https://github.com/", "https://github.com", "https://api.github.com"),
        ("github.example.org", "https://github.example.org", "https://github.example.org/api/v3"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765", "http://127.0.0.1:8765/api/v3"),
    ],
)
def test_github_url_and_its_api_as_oauthenticator_derives_them(url, normal, api):
    extra = f", github_url: '{url}'" if url else ""
    cfg = C.load("x", text=f"name: a\nhub: {{auth: {{type: github, client_id: a, client_secret: {{env: X}}, allowed_users: [a]{extra}}}}}\n")
    assert isinstance(cfg.hub.auth, C.GitHubAuth)
    assert (cfg.hub.auth.github_url, cfg.hub.auth.github_api_url) == (normal, api)


def test_github_login_on_local_is_allowed_and_on_a_cluster_needs_a_domain():
    auth = "hub:\n  auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}\n"
    assert C.load("x", text="name: a\ncloud: local\n" + auth).hub.auth.type == "github"
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text="name: a\ncloud: kind\n" + auth)
    assert [p.format("x") for p in info.value.problems] == [
        "x:4 hub.auth.type: GitHub login needs the hub's public address for its callback (https://DOMAIN/hub/oauth_callback) — "
        "set `hub.domain`, or use `type: shared-password`"
    ]


def test_aws_nat_choices():
    base = "name: a\ncloud: aws\nhub: {domain: h.org, https: {contact_email: a@h.org}, auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}}\n"
    assert C.load("x", text=base + "aws: {region: us-west-2}\n").aws.nat == "single"
    assert C.load("x", text=base + "aws: {region: us-west-2, nat: highly-available}\n").aws.nat == "highly-available"
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=base + "aws: {region: us-west-2, nat: double}\n")
    assert info.value.problems[0].format("x") == "x:4 aws.nat: must be 'single', 'none' or 'highly-available' (got 'double')"


def test_user_identity_is_off_by_default_and_needs_a_cloud():
    assert C.load("x", text="name: a\n").hub.user_identity.scratch_bucket is False
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text="name: a\nhub:\n  user_identity: {scratch_bucket: true}\n")
    assert info.value.problems[0].format("x").startswith("x:3 hub.user_identity.scratch_bucket: a scratch bucket needs a cloud's storage")


def test_pydantic_labels_never_reach_a_path():
    from pangeoctl.config.load import _doc_path

    doc = {"hub": {"auth": {"type": "shared-password", "password": {"env": "A", "file": "b"}}}}
    loc = ("hub", "auth", "shared-password", "password", "function-after[_one(), SecretRef]")
    assert _doc_path(doc, loc) == ("hub", "auth", "password")
    assert _doc_path(doc, ("hub", "auth", "any-label[x]", "missing_field")) == ("hub", "auth", "missing_field")
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text="name: a\nhub:\n  auth:\n    type: shared-password\n    password: {env: A, file: b}\n")
    assert [p.format("x") for p in info.value.problems] == ["x:5 hub.auth.password: give exactly one of `env: VAR_NAME` or `file: path`"]


def test_an_empty_file_is_told_at_line_1():
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text="")
    assert [p.format("x") for p in info.value.problems] == ["x:1 name: required — add `name:`"]

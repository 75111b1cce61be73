"""The GitHub stand-in answers what oauthenticator's real GitHubOAuthenticator asks, in-process: the same
authorize URL its login handler builds, its token exchange (with PKCE), ``/user`` and membership calls."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.support.github_standin import GitHubStandin

oauth2 = pytest.importorskip("oauthenticator.oauth2", reason="oauthenticator is not installed (pip install oauthenticator)")
from oauthenticator.github import GitHubOAuthenticator  # noqa: E402

CALLBACK = "http://127.0.0.1:9/hub/oauth_callback"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _location(url: str, data: bytes | None = None) -> dict[str, str]:
    """Request ``url`` and return the query of the redirect it answers (the browser's next stop)."""
    try:
        urllib.request.build_opener(_NoRedirect).open(url, data=data, timeout=5)
    except urllib.error.HTTPError as e:
        assert e.code == 302, e.code
        loc = e.headers["Location"]
        assert loc.startswith(CALLBACK + "?"), loc
        return {k: v[-1] for k, v in parse_qs(urlsplit(loc).query).items()}
    raise AssertionError("no redirect")


class _CallbackHandler:
    """Just what ``OAuthenticator.authenticate`` reads from the callback request."""

    def __init__(self, code: str, cookie_state: str) -> None:
        self._args, self._cookie = {"code": code}, cookie_state

    def get_argument(self, name: str, default: Any = None) -> Any:
        return self._args.get(name, default)

    def get_state_cookie(self) -> str:
        return self._cookie


def _login(auth: GitHubOAuthenticator, login: str, *, form: bool = False) -> dict | None:
    """The web flow as the hub runs it: authorize (PKCE as OAuthLoginHandler makes it) → callback → hub's checks."""
    verifier, challenge = oauth2.OAuthLoginHandler._generate_pkce_params(None)
    state = oauth2._serialize_state({"state_id": "s1"})
    params = {
        "response_type": "code",
        "redirect_uri": auth.get_callback_url(),
        "client_id": auth.client_id,
        "scope": " ".join(auth.scope),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if form:  # the person types the name into the sign-in page and submits it
        back = _location(auth.authorize_url, urlencode({**params, "login": login, "action": "authorize"}).encode())
    else:
        back = _location(auth.authorize_url + "?" + urlencode({**params, "login": login}))
    assert back["state"] == state
    handler = _CallbackHandler(back["code"], oauth2._serialize_state({"state_id": "s1", "code_verifier": verifier}))
    return asyncio.run(auth.get_authenticated_user(handler, None))


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandin]:
    with GitHubStandin(orgs={"pangeo-lab": ["alice", "bob", "erin"], "other": ["bob"]}, teams={"other:ops": ["carol"]}) as gh:
        yield gh


def _auth(github: GitHubStandin, **kw: Any) -> GitHubOAuthenticator:
    kw = {"allowed_organizations": {"pangeo-lab", "other:ops"}, "scope": ["read:org"], **kw}
    return GitHubOAuthenticator(
        github_url=github.url, client_id=github.client_id, client_secret=github.client_secret, oauth_callback_url=CALLBACK, **kw
    )


def test_oauthenticator_derives_enterprise_urls_from_github_url(github: GitHubStandin):
    auth = _auth(github)
    assert auth.authorize_url == f"{github.url}/login/oauth/authorize"
    assert auth.token_url == f"{github.url}/login/oauth/access_token"
    assert auth.userdata_url == f"{github.url}/api/v3/user"


def test_org_member_is_allowed(github: GitHubStandin):
    model = _login(_auth(github), "alice")
    assert model is not None and model["name"] == "alice" and not model["admin"]
    assert model["auth_state"]["github_user"]["email"] == "alice@example.org"
    assert ("GET", "/api/v3/orgs/pangeo-lab/members/alice") in github.requests


def test_the_sign_in_form_does_the_same(github: GitHubStandin):
    page = (
        urllib.request.urlopen(f"{github.url}/login/oauth/authorize?client_id={github.client_id}&redirect_uri={CALLBACK}", timeout=5).read().decode()
    )
    assert 'name="login"' in page and "Sign in" in page
    assert _login(_auth(github), "alice", form=True) is not None


def test_team_member_is_allowed(github: GitHubStandin):
    model = _login(_auth(github), "carol")
    assert model is not None and model["name"] == "carol"
    assert ("GET", "/api/v3/orgs/other/teams/ops/members/carol") in github.requests


def test_listed_user_is_allowed(github: GitHubStandin):
    assert _login(_auth(github, allowed_users={"zed"}), "zed") is not None


def test_non_member_is_refused(github: GitHubStandin):
    assert _login(_auth(github), "mallory") is None


def test_org_member_outside_the_team_is_refused(github: GitHubStandin):
    # bob is in the organisation "other" but not in its team "ops"
    assert _login(_auth(github), "bob") is not None  # allowed through pangeo-lab
    assert _login(_auth(github, allowed_organizations={"other:ops"}), "bob") is None


def test_admin_flag(github: GitHubStandin):
    model = _login(_auth(github, admin_users={"erin"}), "erin")
    assert model is not None and model["admin"] is True
    model = _login(_auth(github, admin_users={"erin"}), "alice")
    assert model is not None and not model["admin"]


def test_private_membership_needs_read_org(github: GitHubStandin):
    """A hub that forgets to ask for read:org does not see private members — as on GitHub."""
    assert _login(_auth(github, scope=[]), "alice") is None


def test_wrong_client_secret_is_refused(github: GitHubStandin):
    from tornado.web import HTTPError

    auth = GitHubOAuthenticator(github_url=github.url, client_id=github.client_id, client_secret="wrong", oauth_callback_url=CALLBACK, allow_all=True)
    with pytest.raises(HTTPError) as e:
        _login(auth, "alice")
    assert e.value.status_code == 403 and "incorrect or expired" in str(e.value.log_message)


def test_pkce_verifier_is_checked(github: GitHubStandin):
    auth = _auth(github)
    params = {
        "client_id": github.client_id,
        "redirect_uri": CALLBACK,
        "scope": "read:org",
        "state": "x",
        "code_challenge": "not-the-hash",
        "login": "alice",
    }
    back = _location(auth.authorize_url + "?" + urlencode(params))
    answer = github.exchange(
        {"code": back["code"], "client_id": github.client_id, "client_secret": github.client_secret, "redirect_uri": CALLBACK, "code_verifier": "v"}
    )
    assert answer["error"] == "invalid_grant"

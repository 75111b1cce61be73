"""A GitHub stand-in for tests: the OAuth web flow and the REST calls oauthenticator's GitHubOAuthenticator makes.

A loopback HTTP server laid out like GitHub Enterprise Server, so a hub configured with
``GitHubOAuthenticator.github_url = standin.url`` talks to it unchanged (oauthenticator 17.4.0,
``oauthenticator/github.py``: web at ``<github_url>``, API at ``<github_url>/api/v3``):

- ``GET  /login/oauth/authorize`` — the sign-in page: a form to pick which account signs in (any login
  works, as any GitHub account would); ``?login=NAME`` skips the form. Redirects to ``redirect_uri`` with
  ``code`` and ``state``, or ``error=access_denied`` when the person presses "Cancel".
- ``POST /login/oauth/access_token`` — form-encoded ``code``, ``client_id``, ``client_secret``,
  ``redirect_uri``, ``code_verifier`` (PKCE S256, on by default in oauthenticator ≥ 16.3), or HTTP Basic
  client credentials. Answers JSON ``{access_token, token_type: "bearer", scope}``; a bad code or client
  gets GitHub's 200 + ``{"error", "error_description"}``.
- ``GET /api/v3/user`` (and ``/user/emails``, ``/user/teams``) with ``Authorization: Bearer|token <t>``.
- ``GET /api/v3/orgs/{org}/members/{user}`` and ``/orgs/{org}/teams/{team}/members/{user}`` — 204 for a
  member, 404 ``{"message": "Not Found"}`` otherwise. As on GitHub, a membership is private unless listed in
  ``public_members``: without the ``read:org`` scope a private member looks like a non-member, so a hub that
  forgets to ask for ``read:org`` is caught.

Every request is recorded in :attr:`GitHubStandin.requests` (method, path) for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API = "/api/v3"


@dataclass
class _Grant:
    login: str
    client_id: str
    redirect_uri: str
    scope: list[str]
    code_challenge: str | None


@dataclass
class GitHubStandin:
    """Organisations and teams as ``{"org": ["alice", …]}`` and ``{"org:team": ["alice", …]}``.

    Use as a context manager (or :meth:`start`/:meth:`stop`); :attr:`url` is the ``github_url``.
    """

    orgs: dict[str, Iterable[str]] = field(default_factory=dict)
    teams: dict[str, Iterable[str]] = field(default_factory=dict)
    client_id: str = "standin-client-id"
    client_secret: str = "standin-client-secret"
    public_members: Iterable[str] = ()
    host: str = "127.0.0.1"
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, tuple[str, list[str]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> GitHubStandin:
        standin = self

        class Handler(_Handler):
            gh = standin

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="github-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the model

    @staticmethod
    def user(login: str) -> dict[str, Any]:
        """What ``/user`` answers: the fields oauthenticator reads (``login``, ``email``) and a few more."""
        uid = int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
        return {"login": login, "id": uid, "name": login.title(), "email": f"{login}@example.org", "type": "User", "site_admin": False}

    def is_member(self, group: str, login: str, scopes: list[str]) -> bool:
        members = self.teams.get(group) if ":" in group else self.orgs.get(group)
        if members is None or login not in set(members):
            return False
        return "read:org" in scopes or "admin:org" in scopes or login in set(self.public_members)

    def grant(self, login: str, client_id: str, redirect_uri: str, scope: str, code_challenge: str | None) -> str:
        code = secrets.token_hex(10)
        with self._lock:
            self._grants[code] = _Grant(login, client_id, redirect_uri, [s for s in scope.replace(",", " ").split() if s], code_challenge)
        return code

    def exchange(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            g = self._grants.pop(form.get("code", ""), None)
        if g is None or form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret or g.client_id != self.client_id:
            return {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}
        if form.get("redirect_uri") and form["redirect_uri"] != g.redirect_uri:
            return {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback URL for this application.",
            }
        if g.code_challenge is not None:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != g.code_challenge:
                return {"error": "invalid_grant", "error_description": "The code_verifier does not match the code_challenge."}
        token = "gho_" + secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = (g.login, g.scope)
        return {"access_token": token, "token_type": "bearer", "scope": ",".join(g.scope)}

    def token_owner(self, authorization: str) -> tuple[str, list[str]] | None:
        kind, _, token = authorization.partition(" ")
        if kind.lower() not in ("bearer", "token"):
            return None
        with self._lock:
            return self._tokens.get(token.strip())


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Sign in to GitHub (stand-in)</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:4em auto}}input,button{{font-size:1em;padding:.4em;margin:.2em 0}}</style></head>
<body><h1>Sign in to GitHub</h1><p>Test stand-in: <b>{client}</b> asks for <code>{scope}</code>.</p>
<form method="post" action="/login/oauth/authorize">{hidden}
<label>Username <input name="login" id="login_field" autofocus></label><br>
<button type="submit" name="action" value="authorize" id="authorize">Sign in and authorize</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button></form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    gh: GitHubStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output quiet
        pass

    # ------------------------------------------------------------------ plumbing

    def _send(self, code: int, body: bytes = b"", ctype: str = "application/json; charset=utf-8", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in {"Content-Type": ctype, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode())

    def _form(self) -> dict[str, str]:
        n = int(self.headers.get("Content-Length") or 0)
        return {k: v[-1] for k, v in parse_qs(self.rfile.read(n).decode()).items()}

    # ------------------------------------------------------------------ web

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.gh.requests.append(("GET", parts.path))
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/login/oauth/authorize":
            if q.get("client_id") != self.gh.client_id:
                return self._send(404, b"<h1>404: unknown OAuth application</h1>", "text/html")
            if "login" in q:
                return self._authorize(q)
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in q.items())
            page = _PAGE.format(client=html.escape(q["client_id"]), scope=html.escape(q.get("scope", "")), hidden=hidden)
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        if parts.path.startswith(API + "/"):
            return self._api(parts.path[len(API) :])
        self._json(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        self.gh.requests.append(("POST", path))
        form = self._form()
        if path == "/login/oauth/authorize":
            if form.get("action") == "cancel":
                return self._redirect(form["redirect_uri"], {"error": "access_denied", "state": form.get("state", "")})
            return self._authorize(form)
        if path == "/login/oauth/access_token":
            basic = self.headers.get("Authorization", "")
            if basic.startswith("Basic "):
                cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
                form.setdefault("client_id", cid)
                form.setdefault("client_secret", secret)
            answer = self.gh.exchange(form)
            if "json" in self.headers.get("Accept", ""):
                return self._json(200, answer)
            return self._send(200, urlencode(answer).encode(), "application/x-www-form-urlencoded")
        self._json(404, {"message": "Not Found"})

    def _authorize(self, q: dict[str, str]) -> None:
        login = q.get("login", "").strip()
        if not login or not q.get("redirect_uri"):
            return self._send(400, b"<h1>login and redirect_uri are required</h1>", "text/html")
        code = self.gh.grant(login, q.get("client_id", ""), q["redirect_uri"], q.get("scope", ""), q.get("code_challenge"))
        self._redirect(q["redirect_uri"], {"code": code, "state": q.get("state", "")})

    def _redirect(self, uri: str, params: dict[str, str]) -> None:
        sep = "&" if urlsplit(uri).query else "?"
        self._send(302, b"", "text/plain", {"Location": uri + sep + urlencode(params)})

    # ------------------------------------------------------------------ REST API

    def _api(self, path: str) -> None:
        who = self.gh.token_owner(self.headers.get("Authorization", ""))
        if who is None:
            return self._json(401, {"message": "Requires authentication"})
        login, scopes = who
        seg = path.strip("/").split("/")
        if seg == ["user"]:
            return self._json(200, GitHubStandin.user(login))
        if seg == ["user", "emails"]:
            return self._json(200, [{"email": f"{login}@example.org", "primary": True, "verified": True, "visibility": "private"}])
        if seg == ["user", "teams"]:
            mine = [g for g, members in self.gh.teams.items() if login in set(members) and "read:org" in scopes]
            return self._json(200, [{"slug": g.split(":")[1], "organization": {"login": g.split(":")[0]}} for g in mine])
        if len(seg) == 4 and seg[0] == "orgs" and seg[2] == "members":
            return self._membership(seg[1], seg[3], scopes)
        if len(seg) == 6 and seg[0] == "orgs" and seg[2] == "teams" and seg[4] == "members":
            return self._membership(f"{seg[1]}:{seg[3]}", seg[5], scopes)
        self._json(404, {"message": "Not Found"})

    def _membership(self, group: str, login: str, scopes: list[str]) -> None:
        if self.gh.is_member(group, login, scopes):
            return self._send(204)
        self._json(404, {"message": "Not Found"})

"""Team access in tests: a Cognito user pool in moto, its keys served on loopback, and people and
API keys of every role made through the admin API itself.

    from tests.team import jwks_server, team  # noqa: F401  (fixtures)

    def test_x(team):
        token = team.token("editor")              # a user of that role, signed in
        key = team.key("notifier")                # an API key of that role
        team.call("GET", "/admin/rules", token)   # -> the response
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json

PASSWORD = "correct-horse-battery"


def moto_jwk(private: bool = False) -> dict[str, Any]:
    """The key moto signs every pool's tokens with (public: its JWKS)."""
    from moto.utilities.utils import load_resource

    name = "jwks-private.json" if private else "jwks-public.json"
    return load_resource(f"cognitoidp/resources/{name}")


class _Keys(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[str]:
    """moto's public JWKS on loopback (what the moto server serves at /<pool>/.well-known/...;
    in-process moto serves no HTTP)."""
    _Keys.body = json.dumps(moto_jwk()).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


class Team:
    """People and keys of each role, made through the API with the owner's token."""

    def __init__(self, client: Any, pool_id: str, client_id: str) -> None:
        self.client = client
        self.pool_id = pool_id
        self.client_id = client_id
        self._tokens: dict[str, str] = {}
        self._keys: dict[str, str] = {}

    def call(self, method: str, path: str, credential: str | None, body: Any = None) -> Any:
        return admin(self.client, method, path, body, token=credential)

    def user(self, role: str, username: str | None = None, password: str = PASSWORD) -> str:
        username = username or f"{role}-{len(self._tokens) + 1}"
        response = self.call(
            "POST",
            "/admin/users",
            wxsim.ADMIN,
            {"username": username, "role": role, "password": password},
        )
        assert response.status_code == 201, response.body
        return username

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        return self.call(
            "POST", "/admin/auth/login", None, {"username": username, "password": password}
        )

    def token(self, role: str, username: str | None = None) -> str:
        """A signed-in user of `role` (one per role and name, made once per test)."""
        name = username or f"{role}-user"
        if name not in self._tokens:
            self.user(role, name)
            response = self.sign_in(name)
            assert response.status_code == 200, response.body
            self._tokens[name] = body_json(response)["token"]
        return self._tokens[name]

    def key(self, role: str, name: str | None = None) -> str:
        name = name or f"{role}-system"
        if name not in self._keys:
            response = self.call(
                "POST", "/admin/api-keys", wxsim.ADMIN, {"name": name, "role": role}
            )
            assert response.status_code == 201, response.body
            self._keys[name] = body_json(response)["key"]
        return self._keys[name]

    def forge(
        self,
        claims: dict[str, Any],
        *,
        key: Any = None,
        headers: Any = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        """A token with these claims over a valid access token's, signed with moto's key (or
        `key`): to prove which claim the app checks."""
        now = int(time.time())
        base = {
            "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{self.pool_id}",
            "sub": "00000000-0000-0000-0000-000000000000",
            "client_id": self.client_id,
            "token_use": "access",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
            "jti": "forged",
            "username": "admin-user",
        }
        payload = {k: v for k, v in {**base, **claims}.items() if k not in drop}
        signing = key if key is not None else jwt.PyJWK(moto_jwk(private=True)).key
        return jwt.encode(payload, signing, algorithm="RS256", headers=headers or {"kid": "dummy"})


@pytest.fixture
def team(client, jwks_server, monkeypatch) -> Team:
    """A fresh user pool (groups per role, an app client) for this test; the app points at it."""
    from chalicelib import wiring
    from chalicelib.store.aws import client as aws_client
    from infra.cognito_local import create_pool

    pool_id, client_id = create_pool(aws_client("cognito-idp"), name=f"wxtest-{time.time_ns()}")
    monkeypatch.setenv("WXLESS_USER_POOL_ID", pool_id)
    monkeypatch.setenv("WXLESS_USER_POOL_CLIENT_ID", client_id)
    monkeypatch.setenv("WXLESS_COGNITO_JWKS_URL", jwks_server)
    wiring.reset()
    return Team(client, pool_id, client_id)

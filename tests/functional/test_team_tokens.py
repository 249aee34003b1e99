"""Signing in and the checks every Cognito token goes through (CONTRACT.md section 4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import wxsim
from tests.functional.helpers import body_json
from tests.team import PASSWORD, moto_jwk


def test_sign_in_answers_a_token_its_lifetime_and_role(team):
    team.user("editor", "mei.li")
    response = team.sign_in("mei.li")
    assert response.status_code == 200, response.body
    answer = body_json(response)
    assert answer["role"] == "editor"
    assert 0 < answer["expires_in"] <= 43200
    me = team.call("GET", "/admin/auth/me", answer["token"])
    assert body_json(me)["actor"] == "mei.li"
    assert body_json(me)["role"] == "editor"
    assert "rules:write" in body_json(me)["permissions"]
    assert "campaigns:write" not in body_json(me)["permissions"]


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_401(team):
    team.user("analyst", "wrong.pw")
    team.user("analyst", "soon.off")
    team.call("PATCH", "/admin/users/soon.off", wxsim.ADMIN, {"disabled": True})
    answers = [
        team.sign_in("wrong.pw", "not-the-password"),
        team.sign_in("no.such.user"),
        team.sign_in("soon.off"),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.body for a in answers}) == 1
    assert "token" not in body_json(answers[0])


def test_login_needs_a_username_and_a_password(team):
    response = team.call("POST", "/admin/auth/login", None, {"username": "x"})
    assert response.status_code == 400
    assert "error" in body_json(response)


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 5, "iat": int(time.time()) - 3605},  # expired
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},  # wrong issuer
        {"client_id": "another-app-client"},  # wrong audience (client)
        {"token_use": "id"},  # an id token, not an access token
        {"drop": ("username",)},  # no username claim
        {"drop": ("exp",)},  # never expires
    ],
    ids=["expired", "wrong-issuer", "wrong-client", "id-token", "no-username", "no-exp"],
)
def test_a_token_with_a_bad_claim_is_refused(team, claims):
    team.token("admin", "admin-user")  # the user exists and is enabled
    assert team.call("GET", "/admin/rules", team.forge({})).status_code == 200  # the control
    drop = claims.pop("drop", ())
    forged = team.forge(claims, drop=drop)
    response = team.call("GET", "/admin/rules", forged)
    assert response.status_code == 401
    assert "error" in body_json(response)


def test_a_token_signed_with_another_key_is_refused(team):
    team.token("admin", "admin-user")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert team.call("GET", "/admin/rules", team.forge({}, key=other)).status_code == 401


def test_alg_none_and_hs256_with_the_public_key_are_refused(team):
    team.token("admin", "admin-user")
    valid = team.forge({})
    payload = jwt.decode(valid, options={"verify_signature": False})
    unsigned = jwt.encode(payload, None, algorithm="none", headers={"kid": "dummy"})
    assert team.call("GET", "/admin/rules", unsigned).status_code == 401
    header, body, _ = valid.split(".")
    assert team.call("GET", "/admin/rules", f"{header}.{body}.").status_code == 401
    public = jwt.PyJWK(moto_jwk()["keys"][0]).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    # PyJWT refuses to HMAC with a PEM key: build the classic confusion token by hand.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode())
    claims = b64(json.dumps(payload).encode())
    mac = hmac.new(pem, f"{head}.{claims}".encode(), hashlib.sha256).digest()
    assert team.call("GET", "/admin/rules", f"{head}.{claims}.{b64(mac)}").status_code == 401


def test_another_pools_token_is_refused(team):
    from chalicelib.store.aws import client as aws_client
    from infra.cognito_local import create_pool

    cognito = aws_client("cognito-idp")
    other_pool, other_client = create_pool(cognito, name="someone-elses")
    cognito.admin_create_user(
        UserPoolId=other_pool, Username="admin-user", MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="admin-user", Password=PASSWORD, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=other_pool, Username="admin-user", GroupName="admin")
    theirs = cognito.admin_initiate_auth(
        UserPoolId=other_pool,
        ClientId=other_client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "admin-user", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    team.token("admin", "admin-user")  # same name, same signing key (moto's), other issuer
    assert team.call("GET", "/admin/rules", theirs).status_code == 401


def test_a_disabled_users_token_stops_within_5_s(team):
    token = team.token("editor", "leaving")
    assert team.call("GET", "/admin/rules", token).status_code == 200
    started = time.monotonic()
    off = team.call("PATCH", "/admin/users/leaving", wxsim.ADMIN, {"disabled": True})
    assert off.status_code == 200 and body_json(off)["disabled"] is True
    while team.call("GET", "/admin/rules", token).status_code == 200:
        assert time.monotonic() - started < 5, "the token still works 5 s after disabling"
        time.sleep(0.2)
    assert team.call("GET", "/admin/rules", token).status_code == 401
    # Enabled again, the old token stays dead (issued before the disabling); a new one works.
    team.call("PATCH", "/admin/users/leaving", wxsim.ADMIN, {"disabled": False})
    time.sleep(1.1)
    assert team.call("GET", "/admin/rules", token).status_code == 401
    fresh = body_json(team.sign_in("leaving"))["token"]
    assert team.call("GET", "/admin/rules", fresh).status_code == 200


def test_a_deleted_users_token_stops_and_the_name_can_be_used_again(team):
    token = team.token("operator", "temp")
    assert team.call("DELETE", "/admin/users/temp", wxsim.ADMIN).status_code == 204
    deadline = time.monotonic() + 5
    while team.call("GET", "/admin/rules", token).status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert team.call("GET", "/admin/users/temp", wxsim.ADMIN).status_code == 404
    assert team.sign_in("temp").status_code == 401
    team.user("analyst", "temp")
    assert body_json(team.sign_in("temp"))["role"] == "analyst"


def test_a_role_change_takes_effect_on_a_token_issued_before(team):
    token = team.token("editor", "moving")
    rule = {
        "name": "r",
        "match": "exact",
        "keywords": ["k"],
        "reply": {"type": "text", "content": "c"},
    }
    assert team.call("POST", "/admin/rules", token, rule).status_code == 201
    team.call("PATCH", "/admin/users/moving", wxsim.ADMIN, {"role": "analyst"})
    deadline = time.monotonic() + 5
    while team.call("POST", "/admin/rules", token, rule).status_code == 201:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert team.call("POST", "/admin/rules", token, rule).status_code == 403
    assert team.call("GET", "/admin/rules", token).status_code == 200


def test_mfa_challenge_is_passed_through(team):
    from chalicelib.store.aws import client as aws_client

    team.user("admin", "with.mfa")
    cognito = aws_client("cognito-idp")
    access = body_json(team.sign_in("with.mfa"))["token"]
    cognito.associate_software_token(AccessToken=access)
    cognito.verify_software_token(AccessToken=access, UserCode="123456")
    cognito.admin_set_user_mfa_preference(
        UserPoolId=team.pool_id,
        Username="with.mfa",
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
    )
    first = body_json(team.sign_in("with.mfa"))
    assert first["challenge"] == "SOFTWARE_TOKEN_MFA" and first["session"]
    assert "token" not in first
    code = {
        "username": "with.mfa",
        "challenge": first["challenge"],
        "session": first["session"],
        "answers": {"SOFTWARE_TOKEN_MFA_CODE": "123456"},
    }
    answer = team.call("POST", "/admin/auth/challenge", None, code)
    assert answer.status_code == 200, answer.body
    assert body_json(answer)["role"] == "admin"
    replay = team.call("POST", "/admin/auth/challenge", None, code)
    assert replay.status_code == 401  # a session answers once


def test_the_owner_token_still_works_and_is_the_owner(team):
    me = body_json(team.call("GET", "/admin/auth/me", wxsim.ADMIN))
    assert me == {**me, "actor": "owner", "role": "owner", "kind": "owner"}

"""Contract sections 4 and 6, route by route, where an outside tester over HTTP found us
disagreeing with the contract or with our own error messages (chalice.test.Client on moto, the
fake WeChat API)."""

from __future__ import annotations

import json
import time

import pytest
from openapi_schema_validator import OAS30Validator

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

CARD = "tmpl_card_txn_0002"
CARD_DATA = {"time1": "2026-01-05 12:30", "amount2": "¥128.00", "thing3": "星巴克"}
WECHAT_SENDS = (
    "/cgi-bin/message/template/send",
    "/cgi-bin/message/custom/send",
    "/cgi-bin/tags/members/batchblacklist",
)


def _notify(client_msg_id: str = "audit-e-1", openid: str = "o_audit_e") -> dict:
    return {
        "client_msg_id": client_msg_id,
        "openid": openid,
        "template_id": CARD,
        "data": CARD_DATA,
    }


# Each id a regex checked with `^...$` and re.match: `$` also matches before a final newline, so
# "o_audit_e\n" passed as an openid (and "audit-e-1\n" as a new client_msg_id, a second send).
TRAILING_NEWLINE = {
    "notify client_msg_id": ("/admin/notify", _notify("audit-e-1\n"), "client_msg_id"),
    "notify openid": ("/admin/notify", _notify(openid="o_audit_e\n"), "openid"),
    "blacklist openids": ("/admin/blacklist", {"openids": ["o_audit_e\n"]}, "openids"),
    "custom message openid": (
        "/admin/messages/custom",
        {"openid": "o_audit_e\n", "message": {"type": "text", "content": "您好"}},
        "openid",
    ),
    "campaign openids": (
        "/admin/campaigns",
        {
            "name": "audit",
            "type": "mass",
            "send_at": time.time() + 3600,
            "audience": {"type": "openids", "openids": ["o_audit_e\n", "o_audit_f"]},
            "content": {"type": "text", "content": "您好"},
        },
        "openids",
    ),
}


@pytest.mark.parametrize("path, body, field", TRAILING_NEWLINE.values(), ids=TRAILING_NEWLINE)
def test_an_id_with_a_trailing_newline_is_a_bad_body(client, fake_wechat, path, body, field):
    """§6: bad input is a 400 naming what is wrong, and nothing reaches WeChat: an id our
    own message says is "letters, digits, _ or -" may not end in a newline."""
    fake_wechat.add_template(
        CARD, "交易提醒", "时间：{{time1.DATA}}\n金额：{{amount2.DATA}}\n商户：{{thing3.DATA}}"
    )
    assert post_xml(client, wxsim.text("在吗", openid="o_audit_e")).status_code == 200
    assert admin(client, "POST", "/admin/notify", _notify()).status_code == 200
    sent = [fake_wechat.count(p) for p in WECHAT_SENDS]
    response = admin(client, "POST", path, body)
    assert response.status_code == 400, response.body
    assert field in body_json(response)["error"]
    assert [fake_wechat.count(p) for p in WECHAT_SENDS] == sent
    assert body_json(admin(client, "GET", "/admin/campaigns"))["items"] == []


def test_the_audit_log_keeps_no_presigned_upload_url(team):
    """§4: "No secrets in it". A presigned upload URL lets whoever holds it write to the media
    bucket until it expires, and carries the function's session token; the entry of
    `POST /admin/media/upload-url` kept it whole in `after`."""
    editor = team.key("editor", "uploader")
    response = team.call("POST", "/admin/media/upload-url", editor, {"kind": "image"})
    assert response.status_code == 200, response.body
    url = body_json(response)["url"]
    assert "X-Amz-Signature=" in url
    entries = body_json(team.call("GET", "/admin/audit?limit=10", wxsim.ADMIN))["items"]
    (entry,) = [e for e in entries if e["path"] == "/admin/media/upload-url"]
    assert entry["actor"] == "key:uploader" and entry["status"] == 200
    text = json.dumps(entries)
    assert url not in text and "X-Amz-Signature" not in text
    assert "X-Amz-Security-Token" not in text
    assert entry["after"]["s3_key"] == body_json(response)["s3_key"]  # the rest stays


def test_no_user_may_be_named_owner(team):
    """§4: the audit's `actor` is "the username, `owner`, or `key:<name>`", and four eyes compare
    actors: a user named `owner` passed for ADMIN_TOKEN's holder in the log, and was refused
    as the creator of the owner's campaigns. The name is taken by the owner: 409."""
    body = {"username": "owner", "role": "admin", "password": "correct-horse-battery"}
    refused = team.call("POST", "/admin/users", wxsim.ADMIN, body)
    assert refused.status_code == 409, refused.body
    assert isinstance(body_json(refused)["error"], str)
    assert body_json(team.call("GET", "/admin/users", wxsim.ADMIN))["items"] == []
    assert team.sign_in("owner", "correct-horse-battery").status_code == 401
    body["username"] = "owner.li"  # a name that merely starts with it is a name
    assert team.call("POST", "/admin/users", wxsim.ADMIN, body).status_code == 201


def _documented(team, name: str) -> OAS30Validator:
    doc = body_json(team.call("GET", "/admin/openapi.json", wxsim.ADMIN))
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]})


def test_a_campaign_under_four_eyes_validates_against_the_documented_campaign(team):
    """§3/§4: the admin API is the one its OpenAPI document describes; the Campaign schema's
    status enum lacked the two statuses four eyes add (`pending_approval`, `rejected`)."""
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    operator = team.key("operator")
    body = {
        "name": "audit",
        "type": "mass",
        "send_at": time.time() + 3600,
        "audience": {"type": "tag", "tag_id": 2},
        "content": {"type": "text", "content": "您好"},
    }
    created = team.call("POST", "/admin/campaigns", operator, body)
    assert created.status_code == 201 and body_json(created)["status"] == "pending_approval"
    path = f"/admin/campaigns/{body_json(created)['id']}/reject"
    rejected = team.call("POST", path, wxsim.ADMIN, {"comment": "wrong tag"})
    assert rejected.status_code == 200 and body_json(rejected)["status"] == "rejected"
    campaign = _documented(team, "Campaign")
    for shown in (body_json(created), body_json(rejected)):
        assert [e.message for e in campaign.iter_errors(shown)] == []
    doc = body_json(team.call("GET", "/admin/openapi.json", wxsim.ADMIN))
    (status,) = [
        p for p in doc["paths"]["/admin/campaigns"]["get"]["parameters"] if p["name"] == "status"
    ]
    for value, count in (("pending_approval", 0), ("rejected", 1)):
        assert value in status["schema"]["enum"]
        listed = team.call("GET", f"/admin/campaigns?status={value}", wxsim.ADMIN)
        assert listed.status_code == 200 and len(body_json(listed)["items"]) == count

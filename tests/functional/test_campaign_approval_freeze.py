"""Four eyes on news made of CMS articles: what the approver approved is what goes out, even when
an article is edited after the approval (chalicelib.campaigns.approval.frozen_news)."""

from __future__ import annotations

import time

from chalicelib.jobs import campaigns as campaign_jobs
from chalicelib.store import article_writes
from chalicelib.wechat.api import StaticTokenProvider, WeChatClient
from tests import wxsim
from tests.functional.helpers import body_json

SENDALL = "/cgi-bin/message/mass/sendall"
DRAFT_ADD = "/cgi-bin/draft/add"


def _wechat(fake_wechat) -> WeChatClient:
    return WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )


def test_an_article_edited_after_approval_does_not_go_out(team, fake_wechat):
    fake_wechat.add_follower("o_reader")
    wx = _wechat(fake_wechat)
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    operator, boss = team.token("operator", "planner"), team.token("admin", "boss")
    article = article_writes.create_article({"title": "理财讲堂", "body_html": "<p>稳健理财</p>"})
    thumb = wx.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    now = time.time()
    body = {
        "name": "理财讲堂",
        "type": "mass",
        "send_at": now + 60,
        "audience": {"type": "all"},
        "content": {
            "type": "news",
            "article_ids": [article["id"]],
            "thumb_media_id": thumb["media_id"],
        },
    }
    created = team.call("POST", "/admin/campaigns", operator, body)
    assert created.status_code == 201, created.body
    path = f"/admin/campaigns/{body_json(created)['id']}"

    approved = team.call("POST", f"{path}/approve", boss, {})
    assert approved.status_code == 200, approved.body
    (draft,) = fake_wechat.calls_to(DRAFT_ADD)  # made when approved, from what the boss saw
    assert draft.body["articles"][0]["title"] == "理财讲堂"

    article_writes.update_article(article["id"], {"title": "改过的标题"})  # after the approval
    campaign_jobs.dispatch(wx, clock=lambda: now + 120, sleep=lambda s: None, budget=30)
    (sent,) = fake_wechat.calls_to(SENDALL)
    assert sent.body["mpnews"] == {"media_id": body_json(approved)["content"]["media_id"]}
    assert len(fake_wechat.calls_to(DRAFT_ADD)) == 1  # no second draft from the edited article


def test_approval_fails_cleanly_when_wechat_refuses_the_draft(team, fake_wechat):
    wx = _wechat(fake_wechat)
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    operator, boss = team.token("operator", "planner"), team.token("admin", "boss")
    article = article_writes.create_article({"title": "理财讲堂", "body_html": "<p>稳健理财</p>"})
    thumb = wx.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    body = {
        "name": "理财讲堂",
        "type": "mass",
        "send_at": time.time() + 600,
        "audience": {"type": "all"},
        "content": {
            "type": "news",
            "article_ids": [article["id"]],
            "thumb_media_id": thumb["media_id"],
        },
    }
    created = team.call("POST", "/admin/campaigns", operator, body)
    path = f"/admin/campaigns/{body_json(created)['id']}"
    fake_wechat.inject_error(DRAFT_ADD, 40007, "invalid media_id")
    refused = team.call("POST", f"{path}/approve", boss, {})
    assert refused.status_code >= 400 and "error" in body_json(refused)
    still = body_json(team.call("GET", path, boss))
    assert still["status"] == "pending_approval"  # nothing decided: approve again later

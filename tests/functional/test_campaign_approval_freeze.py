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
PREVIEW = "/cgi-bin/message/mass/preview"


def _wechat(fake_wechat) -> WeChatClient:
    return WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )


def _pending_news(team, wx: WeChatClient, send_at: float) -> tuple[str, str]:
    """A news campaign of one CMS article, created by an operator while approvals are on:
    (its path, the article's id)."""
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    article = article_writes.create_article({"title": "理财讲堂", "body_html": "<p>稳健理财</p>"})
    thumb = wx.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    body = {
        "name": "理财讲堂",
        "type": "mass",
        "send_at": send_at,
        "audience": {"type": "all"},
        "content": {
            "type": "news",
            "article_ids": [article["id"]],
            "thumb_media_id": thumb["media_id"],
        },
    }
    created = team.call("POST", "/admin/campaigns", team.token("operator", "planner"), body)
    assert created.status_code == 201, created.body
    return f"/admin/campaigns/{body_json(created)['id']}", article["id"]


def test_an_article_edited_after_approval_does_not_go_out(team, fake_wechat):
    fake_wechat.add_follower("o_reader")
    wx = _wechat(fake_wechat)
    now = time.time()
    path, article_id = _pending_news(team, wx, now + 60)
    boss = team.token("admin", "boss")

    approved = team.call("POST", f"{path}/approve", boss, {})
    assert approved.status_code == 200, approved.body
    (draft,) = fake_wechat.calls_to(DRAFT_ADD)  # made when approved, from what the boss saw
    assert draft.body["articles"][0]["title"] == "理财讲堂"

    article_writes.update_article(article_id, {"title": "改过的标题"})  # after the approval
    campaign_jobs.dispatch(wx, clock=lambda: now + 120, sleep=lambda s: None, budget=30)
    (sent,) = fake_wechat.calls_to(SENDALL)
    assert sent.body["mpnews"] == {"media_id": body_json(approved)["content"]["media_id"]}
    assert len(fake_wechat.calls_to(DRAFT_ADD)) == 1  # no second draft from the edited article


def test_approval_fails_cleanly_when_wechat_refuses_the_draft(team, fake_wechat):
    path, _article_id = _pending_news(team, _wechat(fake_wechat), time.time() + 600)
    boss = team.token("admin", "boss")
    fake_wechat.inject_error(DRAFT_ADD, 40007, "invalid media_id")
    refused = team.call("POST", f"{path}/approve", boss, {})
    assert refused.status_code >= 400 and "error" in body_json(refused)
    still = body_json(team.call("GET", path, boss))
    assert still["status"] == "pending_approval"  # nothing decided: approve again later


def test_a_pending_campaign_may_be_previewed_which_decides_nothing(team, fake_wechat):
    """A preview is how an approver checks a pending campaign: allowed (there is no setting
    limiting previews to a team list of openids), to a few chosen openids, and it neither
    decides nor starts the campaign."""
    fake_wechat.add_follower("o_boss")
    path, _article_id = _pending_news(team, _wechat(fake_wechat), time.time() + 600)
    boss = team.token("admin", "boss")
    before = body_json(team.call("GET", path, boss))

    previewed = team.call("POST", f"{path}/preview", boss, {"openids": ["o_boss"]})
    assert previewed.status_code == 200, previewed.body
    (sent,) = fake_wechat.calls_to(PREVIEW)
    assert sent.body["touser"] == "o_boss" and "mpnews" in sent.body
    after = body_json(team.call("GET", path, boss))
    assert after["status"] == "pending_approval" and after["send_at"] == before["send_at"]
    assert "approved_by" not in after and not fake_wechat.calls_to(SENDALL)

    approved = team.call("POST", f"{path}/approve", boss, {})  # the preview's draft is replaced
    assert approved.status_code == 200 and body_json(approved)["status"] == "scheduled"

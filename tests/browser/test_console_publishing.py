"""The console's publishing page in headless Chromium: a CMS article published as a WeChat
article (freepublish), its status refreshed, its comments elected, answered and deleted; and a
follower's customer-service allowance on the follower page."""

from __future__ import annotations

import base64

from playwright.sync_api import expect

from tests import wxsim
from tests.browser.conftest import admin_api, eventually, send_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def test_publish_an_article_and_moderate_its_comments(console, stack):
    article = admin_api(
        stack.base,
        "POST",
        "/admin/articles",
        {"title": "浏览器测试：信用卡新规", "body_html": "<p>新规要点</p>", "status": "published"},
    )
    cover = admin_api(
        stack.base,
        "POST",
        "/admin/media",
        {"kind": "image", "content_base64": base64.b64encode(PNG).decode()},
    )
    page = console.page
    console.sign_in()
    console.go("publishing")
    page.locator(f"[data-role=publish-article][value='{article['id']}']").check()
    page.fill("#publish-cover", cover["id"])
    page.click("#publish-submit")
    row = page.locator("tr", has_text="浏览器测试：信用卡新规").first
    expect(row).to_contain_text("发布中")
    console.screenshot("console-publishing.png")
    row.locator("[data-role=publish-refresh]").click()  # freepublish/get: published at once
    expect(page.locator("tr", has_text="浏览器测试：信用卡新规").first).to_contain_text("已发布")

    page.locator("tr", has_text="浏览器测试：信用卡新规").first.get_by_text("留言").click()
    comments = page.locator("#comments tbody tr")
    expect(comments).to_have_count(2)  # the demo WeChat's readers commented
    first = comments.first
    first.locator("[data-role=comment-elect]").click()
    expect(
        page.locator("#comments tbody tr").first.locator("[data-role=comment-unelect]")
    ).to_be_visible()
    page.locator("#comments tbody tr").first.locator("[data-role=reply-text]").fill("活动截至月底")
    page.locator("#comments tbody tr").first.locator("[data-role=comment-reply]").click()
    expect(page.locator("#comments tbody tr").first).to_contain_text("活动截至月底")
    page.locator("#comments tbody tr").nth(1).locator("[data-role=comment-delete]").click()
    console.accept_dialog()
    expect(page.locator("#comments tbody tr")).to_have_count(1)
    console.screenshot("console-comments.png")
    page.click("[data-role=comments-close]")
    expect(page.locator(".toast", has_text="已关闭留言")).to_be_visible()

    publications = admin_api(stack.base, "GET", "/admin/publications")["items"]
    mine = next(p for p in publications if p["article_ids"] == [article["id"]])
    listed = admin_api(stack.base, "GET", f"/admin/publications/{mine['id']}/comments")
    assert listed["total"] == 1 and listed["items"][0]["elected"] is True
    assert listed["items"][0]["reply"]["content"] == "活动截至月底"


def test_the_follower_page_shows_what_may_still_be_sent(console, stack):
    openid = "o_browser_cs"
    send_text(stack.base, "我想咨询分期", openid=openid)
    assert eventually(lambda: _known(stack.base, openid))
    message = {
        "openid": openid,
        "message": {"type": "text", "content": "您好，请问需要办理哪种分期？"},
    }
    admin_api(stack.base, "POST", "/admin/messages/custom", message)
    page = console.page
    console.sign_in()
    console.go(f"followers/{openid}")
    expect(page.locator("dl.facts")).to_contain_text("还可发 4 条")


def _known(base: str, openid: str) -> bool:
    from tests.browser.conftest import http

    status, _, _ = http(
        f"{base}/admin/followers/{openid}", headers={"Authorization": f"Bearer {wxsim.ADMIN}"}
    )
    return status == 200

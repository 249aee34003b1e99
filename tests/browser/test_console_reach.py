"""The console's reach pages in headless Chromium against the stack `make run` starts: channel
QR codes (create, scans counted, the image, the report) and the agent desk (a follower writes,
an agent answers, the follower's reply appears without a reload)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests import wxsim
from tests.browser.conftest import admin_api, eventually, send_text, send_xml


def test_create_a_channel_code_see_its_scans_and_its_image(console, stack):
    page = console.page
    scene = f"browser-poster-{int(time.time())}"
    console.sign_in()
    console.go("qrcodes")
    page.fill("#qrcode-name", "浏览器测试海报")
    page.fill("#qrcode-scene", scene)
    page.check("#qrcode-with-reply")
    page.fill("[data-role=reply-text]", "欢迎扫码关注")
    page.click("#qrcode-save")
    row = page.locator(f"tr[data-scene='{scene}']")
    row.wait_for()
    assert "欢迎扫码关注" in row.inner_text() and "临时" in row.inner_text()
    stored = [
        c for c in admin_api(stack.base, "GET", "/admin/qrcodes")["items"] if c["scene"] == scene
    ]
    assert stored and stored[0]["reply"] == {"type": "text", "content": "欢迎扫码关注"}

    # A follower scans it: answered with the code's reply, counted within seconds.
    def answered():
        reply = send_xml(
            stack.base,
            wxsim.event("SCAN", scene, openid="o_browser_qr", create_time=int(time.time())),
        )
        return reply and reply.get("Content") == "欢迎扫码关注"

    assert eventually(answered)
    code_id = stored[0]["id"]
    assert eventually(lambda: admin_api(stack.base, "GET", f"/admin/qrcodes/{code_id}")["scans"])
    console.go("dashboard")
    console.go("qrcodes")
    expect(row.locator("[data-stat=scans]")).not_to_have_text("0")

    # The image, for download.
    row.locator("[data-role=qrcode-image]").click()
    card = page.locator("[data-role=qrcode-card]")
    card.wait_for()
    expect(card.locator("[data-role=qrcode-img]")).to_be_visible()
    width = page.evaluate("() => document.querySelector('[data-role=qrcode-img]').naturalWidth")
    assert width >= 300  # a real image was decoded
    download = card.locator("[data-role=qrcode-download]")
    assert download.get_attribute("download") == f"qrcode-{scene}.png"
    console.screenshot("console-qrcodes.png")

    # The channel report lists it.
    expect(page.locator(f"#channel-report tr[data-scene='{scene}']")).to_have_count(1)


def test_the_desk_shows_a_follower_and_an_agent_answers(console, stack):
    page = console.page
    openid = f"o_browser_desk_{int(time.time())}"
    send_text(stack.base, "你好，我想咨询信用卡分期", openid=openid)
    console.sign_in()
    console.go("desk")
    item = page.locator(f".desk-item[data-openid='{openid}']")
    item.wait_for(timeout=15_000)  # the list polls: the conversation arrives by itself
    assert "信用卡分期" in item.inner_text() and "可发 5 条" in item.inner_text()
    item.click()
    bubbles = page.locator("[data-role=desk-bubbles]")
    expect(bubbles.locator("[data-direction=in]")).to_contain_text("信用卡分期")
    page.fill("#desk-agent", "小王")
    page.fill("#desk-reply-text", "您好，我是客服小王，请问您想分几期？")
    page.click("#desk-send")
    expect(bubbles.locator("[data-by='小王']")).to_contain_text("分几期")
    expect(page.locator("[data-role=desk-facts]")).to_contain_text("可发 4 条")
    sent = admin_api(stack.base, "GET", f"/admin/conversations/{openid}")
    assert sent["remaining"] == 4

    # The follower answers: it appears in the open thread without a reload.
    send_text(stack.base, "分 12 期", openid=openid)
    expect(bubbles.locator("[data-direction=in]").last).to_contain_text("分 12 期", timeout=15_000)
    console.screenshot("console-desk.png")

    # Closing hides it from the open conversations.
    page.click("[data-role=desk-close]")
    page.locator(".toast-ok", has_text="会话已关闭").wait_for()
    expect(page.locator(f".desk-item[data-openid='{openid}']")).to_have_count(0, timeout=10_000)


def test_the_article_editor_shows_its_readers(console, stack):
    from tests.browser.conftest import http

    article = admin_api(
        stack.base, "POST", "/admin/articles", {"title": "读者测试", "status": "published"}
    )
    for query in ("", "?from=timeline"):
        status, _headers, _raw = http(f"{stack.base}/p/articles/{article['id']}{query}")
        assert status == 200
    assert eventually(
        lambda: admin_api(stack.base, "GET", f"/admin/articles/{article['id']}/stats")["views"] == 2
    )
    console.sign_in()
    console.go(f"articles/{article['id']}")
    expect(console.page.locator("[data-role=article-stats]")).to_have_text(
        "阅读 2 · 读者 1 · 分享打开 1"
    )

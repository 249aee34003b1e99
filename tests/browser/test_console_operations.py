"""The console's operations pages in headless Chromium: campaigns, the custom menu, and points
of service with the location answer, against the stack `make run` starts."""

from __future__ import annotations

import datetime as dt
import time

from playwright.sync_api import expect

from tests import wxsim
from tests.browser.conftest import admin_api, send_xml


def test_schedule_a_campaign_see_its_counts_and_cancel_it(console, stack):
    page = console.page
    console.sign_in()
    console.go("campaigns")
    page.click("[data-role=campaign-new]")
    # A template campaign without a template chosen: the API's 400 is shown, nothing is created.
    page.fill("#campaign-name", "浏览器测试：双十二理财节")
    page.select_option("#campaign-type", "template")
    page.click("#campaign-save")
    error = page.locator("#campaign-form [data-role=form-error]")
    error.wait_for()
    assert "请求有误" in error.inner_text() and "template_id" in error.inner_text()
    assert "#/campaigns/new" in page.url

    # A mass text to everyone, tomorrow (the browser's clock, which sends epoch seconds).
    page.select_option("#campaign-type", "mass")
    page.select_option("#campaign-audience", "all")
    page.select_option("#campaign-content-type", "text")
    page.fill("#campaign-text", "双十二理财节：活期+ 限时加息，详情见菜单「理财」。")
    tomorrow = dt.datetime.now() + dt.timedelta(days=1)
    page.fill("#campaign-send-at", tomorrow.strftime("%Y-%m-%dT10:00"))
    console.screenshot("console-campaign-new.png")
    page.click("#campaign-save")
    facts = page.locator("[data-role=campaign-facts]")
    facts.wait_for()
    assert "待发送" in facts.inner_text() and "全部粉丝" in facts.inner_text()
    assert page.locator("[data-stat='已发送']").inner_text() == "0"
    console.screenshot("console-campaign.png")
    campaign_id = page.url.rsplit("/", 1)[1]
    stored = admin_api(stack.base, "GET", f"/admin/campaigns/{campaign_id}")
    assert stored["status"] == "scheduled"
    assert stored["send_at"] == int(dt.datetime(*tomorrow.timetuple()[:3], 10).timestamp())
    assert stored["content"] == {
        "type": "text",
        "content": "双十二理财节：活期+ 限时加息，详情见菜单「理财」。",
    }

    # A preview to the admin's own openid goes out at once (mass/preview), outside the campaign.
    page.fill("#campaign-preview-openids", "o_admin_phone")
    page.click("#campaign-preview")
    preview = page.locator("[data-role=preview-results]")
    expect(preview).to_contain_text("已发送")
    assert "o_admin_phone" in preview.inner_text()

    # The list shows it with its counts; cancelling asks first.
    console.go("campaigns")
    row = page.locator(f"tr[data-id='{campaign_id}']")
    row.wait_for()
    assert "待发送" in row.inner_text()
    row.locator("[data-role=campaign-cancel]").click()
    console.cancel_dialog()
    assert admin_api(stack.base, "GET", f"/admin/campaigns/{campaign_id}")["status"] == "scheduled"
    row.locator("[data-role=campaign-cancel]").click()
    console.accept_dialog()
    page.locator(".toast-ok", has_text="已取消").wait_for()
    expect(row).to_contain_text("已取消")
    expect(row.locator("[data-role=campaign-cancel]")).to_have_count(0)
    assert admin_api(stack.base, "GET", f"/admin/campaigns/{campaign_id}")["status"] == "cancelled"
    console.screenshot("console-campaigns.png")


def test_build_and_publish_the_menu(console, stack):
    page = console.page
    console.sign_in()
    console.go("menu")
    page.locator("#menu-form").wait_for()
    buttons = page.locator("[data-role=menu-button]")
    while buttons.count():
        buttons.first.get_by_text("删除此菜单").click()

    page.click("[data-role=menu-add]")
    first = buttons.nth(0)
    first.locator("[data-role=menu-name]").fill("我的账户")
    first.locator("[data-role=menu-type]").select_option("click")
    first.locator("[data-role=menu-value]").fill("MENU_ACCOUNT")

    page.click("[data-role=menu-add]")
    second = buttons.nth(1)
    second.locator("[data-role=menu-name]").fill("服务")
    second.locator("[data-role=menu-has-sub]").check()
    sub = second.locator("[data-role=menu-sub]").nth(0)
    sub.locator("[data-role=menu-sub-name]").fill("网点查询")
    sub.locator("[data-role=menu-type]").select_option("view")
    sub.locator("[data-role=menu-value]").fill("https://bank.example.com/branches")
    second.locator("[data-role=menu-add-sub]").click()
    sub = second.locator("[data-role=menu-sub]").nth(1)
    sub.locator("[data-role=menu-sub-name]").fill("预约办卡")
    sub.locator("[data-role=menu-value]").fill("MENU_BROWSER_CARD")

    # A top-level name over WeChat's 16 bytes: the server names the field, nothing is sent.
    first.locator("[data-role=menu-name]").fill("我的账户与资产总览")
    page.click("#menu-publish")
    error = page.locator("#menu-form [data-role=form-error]")
    error.wait_for()
    assert "button[0].name" in error.inner_text()
    first.locator("[data-role=menu-name]").fill("我的账户")

    page.click("#menu-publish")
    page.locator(".toast-ok", has_text="菜单已发布").wait_for()
    console.screenshot("console-menu.png")
    # The demo rules answer MENU_ACCOUNT; nothing answers the new click key yet.
    hint = page.locator("[data-role=menu-unanswered]")
    hint.wait_for()
    assert "MENU_BROWSER_CARD" in hint.inner_text() and "MENU_ACCOUNT" not in hint.inner_text()
    live = admin_api(stack.base, "GET", "/admin/menu?live=true")
    wanted = [
        {"type": "click", "name": "我的账户", "key": "MENU_ACCOUNT"},
        {
            "name": "服务",
            "sub_button": [
                {"type": "view", "name": "网点查询", "url": "https://bank.example.com/branches"},
                {"type": "click", "name": "预约办卡", "key": "MENU_BROWSER_CARD"},
            ],
        },
    ]
    assert live["menu"]["button"] == wanted
    assert live["live"]["menu"]["button"] == wanted  # what the (fake) WeChat now holds

    # The JSON view carries the same menu; reloading the page shows what was published.
    page.click("[data-role=menu-toggle-json]")
    assert '"MENU_BROWSER_CARD"' in page.input_value("#menu-json")
    page.reload()
    page.locator("[data-role=menu-button]").nth(1).wait_for()
    assert "已于" in page.locator("[data-role=menu-state]").inner_text()
    assert page.locator("[data-role=menu-sub]").count() == 2


def _location(lat: float, lng: float) -> str:
    return wxsim.message_xml(
        {
            "ToUserName": wxsim.ACCOUNT,
            "FromUserName": "o_browser_geo",
            "CreateTime": int(time.time()),
            "MsgType": "location",
            "Location_X": lat,
            "Location_Y": lng,
            "Scale": 15,
            "Label": "乌鲁木齐市天山区",
            "MsgId": wxsim.next_msg_id(),
        }
    )


def test_add_a_point_and_a_location_message_finds_it(console, stack):
    page = console.page
    console.sign_in()
    console.go("points")
    page.locator("#points-settings").wait_for()
    # Far from the demo branches (Guangzhou): the only point within the default 50 km.
    page.fill("#point-name", "乌鲁木齐天山支行（浏览器）")
    page.fill("#point-address", "天山区人民路 1 号")
    page.fill("#point-lat", "43.7930")
    page.fill("#point-lng", "87.6271")
    page.fill("#point-tags", "branch, ATM")
    page.fill("#point-hours", "9:00-17:00")
    page.click("#point-save")
    row = page.locator("tr[data-name='乌鲁木齐天山支行（浏览器）']")
    row.wait_for()
    assert "ATM" in row.inner_text()

    # "What would a follower here get": the check uses the callback's own cached snapshot.
    page.fill("#nearest-lat", "43.80")
    page.fill("#nearest-lng", "87.62")
    results = page.locator("[data-role=nearest-results]")
    deadline = time.monotonic() + 15
    while "乌鲁木齐天山支行" not in results.inner_text() and time.monotonic() < deadline:
        page.click("#nearest-go")
        page.wait_for_timeout(500)
    assert "乌鲁木齐天山支行（浏览器）\t960 m" in results.inner_text()  # great-circle distance

    console.screenshot("console-points.png")
    reply = send_xml(stack.base, _location(43.80, 87.62))
    assert reply is not None and "乌鲁木齐天山支行（浏览器）" in reply["Content"]

    # Disabled, it is no longer offered; deleting asks first.
    row.locator("[data-role=point-enabled]").uncheck()
    page.locator(".toast-ok", has_text="已停用").wait_for()
    point_id = row.get_attribute("data-id")
    assert admin_api(stack.base, "GET", f"/admin/points/{point_id}")["enabled"] is False
    row.locator("[data-role=point-delete]").click()
    console.accept_dialog()
    row.wait_for(state="detached")
    status = admin_api(stack.base, "GET", "/admin/points?limit=1000")
    assert point_id not in [p["id"] for p in status["items"]]


def test_location_answer_settings(console, stack):
    page = console.page
    console.sign_in()
    console.go("points")
    page.locator("#points-settings").wait_for()
    before = admin_api(stack.base, "GET", "/admin/points/settings")
    page.fill("#points-radius", "30000")  # past the server's 20,000 km
    page.click("#points-settings-save")
    error = page.locator("#points-settings [data-role=form-error]")
    error.wait_for()
    assert "max_distance_km" in error.inner_text()
    assert admin_api(stack.base, "GET", "/admin/points/settings") == before

    page.fill("#points-radius", "50")
    page.fill("#points-count", "2")
    page.select_option("#points-format", "news")
    page.click("#points-settings-save")
    page.locator(".toast-ok", has_text="位置回复设置已保存").wait_for()
    after = admin_api(stack.base, "GET", "/admin/points/settings")
    assert after["count"] == 2 and after["format"] == "news"
    admin_api(stack.base, "PUT", "/admin/points/settings", {"count": 3, "format": "text"})


def test_a_campaign_sent_now_shows_its_counts(console, stack):
    page = console.page
    console.sign_in()
    console.go("campaigns/new")
    page.fill("#campaign-name", "浏览器测试：到账提醒")
    page.select_option("#campaign-audience", "openids")
    page.fill("#campaign-openids", "o_camp_1\no_camp_2\no_camp_3\no_camp_2")  # once each
    page.fill("#campaign-text", "您的理财产品已到期，本息已转入活期账户。")
    page.fill("#campaign-send-at", "")  # now
    page.click("#campaign-save")
    page.locator("[data-role=campaign-facts]").wait_for()
    # The runner's scheduler picks it up within ~15 s and sends it to the fake WeChat.
    deadline = time.monotonic() + 60
    while "已完成" not in page.locator("[data-role=campaign-facts]").inner_text():
        assert time.monotonic() < deadline, page.locator("[data-role=campaign-facts]").inner_text()
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="刷新").click()
        page.locator("[data-role=campaign-facts]").wait_for()
    assert page.locator("[data-stat='计划人数']").inner_text() == "3"
    assert page.locator("[data-stat='已发送']").inner_text() == "3"
    assert page.locator("[data-stat='失败']").first.inner_text() == "0"
    batches = page.locator("table", has_text="msg_id")
    assert batches.locator("tbody tr").count() == 1 and "3" in batches.inner_text()
    assert "null" not in page.locator(".view").inner_text()
    console.screenshot("console-campaign-sent.png")


def test_import_points_from_csv(console, stack):
    page = console.page
    console.sign_in()
    console.go("points")
    page.locator("#points-import-form").wait_for()
    rows = [
        "名称,纬度,经度,地址,标签,id",  # a spreadsheet's Chinese headers
        '"拉萨北京中路支行, 营业部",29.6525,91.1175,北京中路 8 号,branch;ATM,lhasa-1',
        "拉萨自助银行,北纬29,91.12,,ATM,lhasa-2",  # not a number: the whole file is refused
    ]
    page.fill("#points-csv", "\n".join(rows))
    page.click("#points-import")
    error = page.locator("#points-import-form [data-role=form-error]")
    error.wait_for()
    assert "lat" in error.inner_text() and "CSV 第 3 行" in error.inner_text()
    listed = admin_api(stack.base, "GET", "/admin/points?limit=1000")["items"]
    assert not [p for p in listed if p["id"].startswith("lhasa-")]  # nothing written

    rows[2] = "拉萨自助银行,29.655,91.12,,ATM,lhasa-2"
    page.fill("#points-csv", "\n".join(rows))
    page.click("#points-import")
    page.locator(".toast-ok", has_text="已导入 2 个网点").wait_for()
    row = page.locator("tr[data-id='lhasa-1']")
    row.wait_for()
    assert "拉萨北京中路支行, 营业部" in row.inner_text() and "ATM" in row.inner_text()
    stored = admin_api(stack.base, "GET", "/admin/points/lhasa-1")
    assert stored["tags"] == ["branch", "ATM"] and stored["lat"] == 29.6525
    for point_id in ("lhasa-1", "lhasa-2"):
        admin_api(stack.base, "DELETE", f"/admin/points/{point_id}")

"""The campaign form's template fields as typed inputs, and a protected send to all's
confirmation, in headless Chromium against the stack `make run` starts."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.conftest import admin_api

CARD = "tmpl_card_txn_0002"


def test_a_template_campaign_is_written_in_its_typed_fields(console, stack):
    page = console.page
    console.sign_in()
    console.go("campaigns/new")
    page.fill("#campaign-name", "浏览器测试：交易提醒")
    page.select_option("#campaign-type", "template")
    page.locator(f"#campaign-template option[value={CARD}]").wait_for(state="attached")
    page.select_option("#campaign-template", CARD)
    inputs = page.locator("[data-role=template-fields] input[data-field]")
    expect(inputs).to_have_count(4)
    keys = [inputs.nth(i).get_attribute("data-field") for i in range(4)]
    assert keys == ["character_string1", "thing2", "amount3", "time4"]
    assert page.locator("#campaign-field-thing2").get_attribute("data-type") == "thing"
    assert "20" in page.locator("[data-role=template-fields]").inner_text()

    # Over the thing field's 20 characters: said as typed, and refused by the server by name.
    page.fill("#campaign-field-thing2", "超" * 21)
    expect(page.locator("[data-role=field-warning]").nth(1)).to_contain_text("超过 20 字")
    page.click("#campaign-save")
    error = page.locator("#campaign-form [data-role=form-error]")
    expect(error).to_contain_text("thing2")
    assert "#/campaigns/new" in page.url

    page.fill("#campaign-field-thing2", "{remark}消费")
    page.fill("#campaign-field-amount3", "¥8.00")
    console.screenshot("console-campaign-template.png")
    page.click("#campaign-save")
    page.locator("[data-role=campaign-facts]").wait_for()
    campaign_id = page.url.rsplit("/", 1)[1]
    stored = admin_api(stack.base, "GET", f"/admin/campaigns/{campaign_id}")
    assert stored["template"]["template_id"] == CARD
    assert stored["template"]["data"] == {
        "thing2": {"value": "{remark}消费"},
        "amount3": {"value": "¥8.00"},
    }
    admin_api(stack.base, "POST", f"/admin/campaigns/{campaign_id}/cancel")


def test_a_protected_send_to_all_says_it_waits_for_wechat(console, stack):
    admin_api(stack.base, "PUT", "/admin/settings/wechat", {"mass_send_protection": True})
    try:
        created = admin_api(
            stack.base,
            "POST",
            "/admin/campaigns",
            {
                "name": "浏览器测试：全员问候",
                "type": "mass",
                "send_at": int(time.time()) + 300 * 86400,  # not sent while the test runs
                "audience": {"type": "all"},
                "content": {"type": "text", "content": "您好"},
            },
        )
    finally:
        admin_api(stack.base, "PUT", "/admin/settings/wechat", {"mass_send_protection": False})
    page = console.page
    console.sign_in()
    console.go(f"campaigns/{created['id']}")
    shown = page.locator("[data-role=campaign-confirmation]")
    expect(shown).to_have_attribute("data-state", "not_sent")
    expect(shown).to_contain_text("确认")
    admin_api(stack.base, "POST", f"/admin/campaigns/{created['id']}/cancel")


def test_the_dashboard_shows_wechats_own_statistics(console, stack):
    """`make run` syncs WeChat's statistics once at start; the dashboard shows them."""
    deadline = time.monotonic() + 60
    while not admin_api(stack.base, "GET", "/admin/stats/wechat")["items"]:
        assert time.monotonic() < deadline, "WeChat's statistics were not synced at start"
        time.sleep(0.5)
    page = console.page
    console.sign_in()
    official = page.locator("[data-panel='微信官方统计']")
    official.locator("svg").wait_for()
    assert int(official.locator("[data-stat='粉丝总数']").inner_text()) > 0
    assert "已同步至" in official.inner_text()

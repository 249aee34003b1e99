"""Team access in the console, in headless Chromium against `make run`: people sign in with
username and password, see their name and role, and only what their role may use; an admin
approves a campaign another person created; users, API keys and the audit log pages."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests import wxsim
from tests.browser.conftest import admin_api, http

PASSWORD = "browser-team-pw"


def person(base: str, username: str, role: str) -> None:
    status, _headers, raw = http(
        f"{base}/admin/users",
        method="POST",
        body=(f'{{"username": "{username}", "role": "{role}", "password": "{PASSWORD}"}}').encode(),
        headers={"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"},
    )
    assert status in (201, 409), raw


def sign_in_as(console, username: str) -> None:
    console.open()
    console.page.fill("#signin-username", username)
    console.page.fill("#signin-password", PASSWORD)
    console.page.click("#signin-user")
    console.page.locator("[data-role=whoami]").wait_for()


def pending_campaign(base: str, name: str) -> dict:
    """A campaign created while approvals are on, by the owner (not the admin who approves)."""
    admin_api(base, "PUT", "/admin/settings/approvals", {"campaigns": True})
    return admin_api(
        base,
        "POST",
        "/admin/campaigns",
        {
            "name": name,
            "type": "mass",
            "send_at": int(time.time()) + 3600,
            "audience": {"type": "openids", "openids": ["o_browser_1", "o_browser_2"]},
            "content": {"type": "text", "content": "浏览器审批测试"},
        },
    )


def test_an_editor_sees_their_role_and_no_campaign_actions(console, stack):
    person(stack.base, "browser.editor", "editor")
    campaign = pending_campaign(stack.base, "编辑看不到的操作")
    page = console.page
    console.open()
    page.fill("#signin-username", "browser.editor")
    page.fill("#signin-password", "not-the-password")
    page.click("#signin-user")
    expect(page.locator("[data-role=signin-error]")).to_contain_text("用户名或密码错误")
    sign_in_as(console, "browser.editor")
    expect(page.locator("[data-role=whoami-name]")).to_have_text("browser.editor")
    expect(page.locator("[data-role=whoami-role]")).to_have_text("内容编辑")
    assert page.evaluate("sessionStorage.getItem('wxless.adminToken')") != wxsim.ADMIN
    # No pages for users, keys or the audit log.
    for hidden in ("users", "keys", "audit"):
        expect(page.locator(f"nav a[data-page={hidden}]")).to_have_count(0)
    # Rules: the editor's to change.
    console.go("rules")
    expect(page.locator("[data-role=rule-new]")).to_be_visible()
    # Campaigns: read only; no new, cancel, approve or reject.
    console.go("campaigns")
    row = page.locator(f"tr[data-id='{campaign['id']}']")
    row.wait_for()
    expect(page.locator("[data-role=readonly-note]")).to_be_visible()
    expect(page.locator("[data-role=campaign-new]")).to_be_hidden()
    for role in ("campaign-cancel", "campaign-approve", "campaign-reject"):
        expect(row.locator(f"[data-role={role}]")).to_be_hidden()
    console.go(f"campaigns/{campaign['id']}")
    page.locator("[data-role=campaign-facts]").wait_for()
    expect(page.locator("[data-role=campaign-approve]")).to_be_hidden()
    expect(page.locator("[data-role=campaign-cancel]")).to_be_hidden()
    console.screenshot("team-editor-campaign.png")
    # The server refuses anyway: the editor's own token cannot approve.
    bearer = page.evaluate("sessionStorage.getItem('wxless.adminToken')")
    status, _h, _b = http(
        f"{stack.base}/admin/campaigns/{campaign['id']}/approve",
        method="POST",
        body=b"{}",
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    assert status == 403


def test_an_admin_approves_a_campaign_manages_people_keys_and_reads_the_audit(console, stack):
    person(stack.base, "browser.admin", "admin")
    campaign = pending_campaign(stack.base, "待管理员批准")
    page = console.page
    sign_in_as(console, "browser.admin")
    expect(page.locator("[data-role=whoami-role]")).to_have_text("管理员")

    console.go(f"campaigns/{campaign['id']}")
    approve = page.locator("[data-role=campaign-approve]")
    approve.wait_for()
    approve.click()
    page.fill("#approval-comment", "内容已核对")
    console.accept_dialog()
    expect(page.locator("[data-role=campaign-facts]")).to_contain_text("待发送")
    expect(page.locator("[data-role=campaign-facts]")).to_contain_text("browser.admin")
    assert (
        admin_api(stack.base, "GET", f"/admin/campaigns/{campaign['id']}")["status"] == "scheduled"
    )

    # A new person, from the users page.
    console.go("users")
    page.fill("#user-username", "made.in.browser")
    page.fill("#user-password", PASSWORD)
    page.select_option("#user-role-new", "analyst")
    page.click("[data-role=user-create]")
    page.locator("tr[data-username='made.in.browser']").wait_for()
    # A key, shown once.
    console.go("keys")
    page.fill("#key-name", "browser-notify")
    page.select_option("#key-role", "notifier")
    page.click("[data-role=key-create]")
    shown = page.locator("[data-role=new-key]")
    shown.wait_for()
    key = shown.inner_text()
    assert key.startswith("wxk_")
    status, _h, _b = http(f"{stack.base}/admin/rules", headers={"Authorization": f"Bearer {key}"})
    assert status == 403  # a notifier may not read rules
    # The audit log shows who did it.
    console.go("audit")
    page.fill("#audit-actor", "browser.admin")
    page.locator("form.toolbar button[type=submit]").click()
    rows = page.locator("#audit-results tr[data-actor='browser.admin']")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3  # the approval, the new user, the new key (and the sign-in)
    console.screenshot("team-admin-audit.png")
    console.page.click("[data-role=signout]")
    page.locator("#signin-username").wait_for()

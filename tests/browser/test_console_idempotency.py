"""The console sends an Idempotency-Key with each create and re-sends it when the admin retries
the same submission: an answer lost on the way back does not make a second rule."""

from __future__ import annotations

from tests.browser.conftest import admin_api


def test_a_retried_rule_form_creates_one_rule(console, stack):
    page = console.page
    sent: list[dict] = []

    def lose_the_first_answer(route):
        request = route.request
        if request.method != "POST":
            return route.continue_()
        sent.append(request.headers)
        if len(sent) == 1:
            route.fetch()  # the server creates the rule; its answer never reaches the page
            return route.abort("connectionreset")
        return route.continue_()

    console.sign_in()
    page.route("**/admin/rules", lose_the_first_answer)
    console.go("rules/new")
    page.fill("#rule-name", "重试只建一条")
    page.fill("#rule-keywords", "重试")
    page.fill("#rule-form [data-role=reply-text]", "一次")
    page.click("#rule-save")
    page.locator("#rule-form [data-role=form-error]").filter(has_text="无法连接").wait_for()
    page.click("#rule-save")  # the admin tries again
    page.locator("tr[data-name='重试只建一条']").wait_for()

    keys = [headers.get("idempotency-key") for headers in sent]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    names = [r["name"] for r in admin_api(stack.base, "GET", "/admin/rules")["items"]]
    assert names.count("重试只建一条") == 1

    # A new submission is a new key.
    console.go("rules/new")
    page.fill("#rule-name", "第二条")
    page.fill("#rule-keywords", "第二")
    page.fill("#rule-form [data-role=reply-text]", "二")
    page.click("#rule-save")
    page.locator("tr[data-name='第二条']").wait_for()
    assert len(sent) == 3 and sent[2].get("idempotency-key") not in (None, keys[0])

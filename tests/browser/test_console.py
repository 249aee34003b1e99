"""The admin console in headless Chromium, against the stack `make run` starts."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests import wxsim
from tests.browser.conftest import ARTIFACTS, admin_api, eventually, http, send_text


def test_sign_in_keeps_the_token_out_of_the_url(console):
    page = console.page
    console.sign_in("not-the-token", wait=False)
    error = page.locator("[data-role=signin-error]")
    error.wait_for()
    assert "令牌" in error.inner_text() or "401" in error.inner_text()
    assert page.evaluate("sessionStorage.getItem('wxless.adminToken')") is None

    page.fill("#token", wxsim.ADMIN)
    page.click("#signin")
    page.locator("nav a[data-page=rules]").wait_for()
    assert page.evaluate("sessionStorage.getItem('wxless.adminToken')") == wxsim.ADMIN
    assert wxsim.ADMIN not in page.url
    # The page is served with a CSP that allows no inline script.
    status, headers, _body = http(console.base + "/console")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]

    page.click("[data-role=signout]")
    page.locator("#token").wait_for()
    assert page.evaluate("sessionStorage.getItem('wxless.adminToken')") is None


def test_create_a_rule_and_the_callback_answers_with_it(console, stack):
    page = console.page
    console.sign_in()
    console.go("rules")
    page.click("[data-role=rule-new]")
    page.fill("#rule-name", "营业时间（浏览器）")
    page.select_option("#rule-match", "contains")
    page.fill("#rule-keywords", "几点开门")
    page.select_option("#rule-form [data-role=reply-type]", "text")
    page.fill("#rule-form [data-role=reply-text]", "网点营业时间 9:00-17:00，周末 10:00-16:00")
    page.click("#rule-save")
    row = page.locator("tr[data-name='营业时间（浏览器）']")
    row.wait_for()
    assert "几点开门" in row.inner_text()

    reply = eventually(lambda: send_text(stack.base, "请问几点开门？"), timeout=15)
    assert reply is not None and reply["Content"] == "网点营业时间 9:00-17:00，周末 10:00-16:00"

    # Disable it from the list: the callback stops answering with it.
    row.locator("[data-role=rule-enabled]").uncheck()
    page.locator(".toast-ok").first.wait_for()

    def answered_otherwise():
        got = send_text(stack.base, "请问几点开门？")
        return got is None or got.get("Content") != reply["Content"]

    assert eventually(answered_otherwise, timeout=15)


def test_api_errors_are_shown_not_swallowed(console):
    page = console.page
    console.sign_in()
    console.go("rules/new")
    page.fill("#rule-name", "坏正则")
    page.select_option("#rule-match", "regex")
    page.fill("#rule-keywords", "(unclosed")
    page.fill("#rule-form [data-role=reply-text]", "x")
    page.click("#rule-save")
    error = page.locator("#rule-form [data-role=form-error]")
    error.wait_for()
    assert "请求有误" in error.inner_text()  # the API's 400, with its message
    assert page.locator(".toast-error").count() >= 1
    assert "#/rules/new" in page.url  # still on the form, nothing lost


def test_publish_an_article_and_open_its_public_page(console, stack):
    page = console.page
    console.sign_in()
    console.go("articles/new")
    title = "浏览器测试：手机银行转账限额说明"
    page.fill("#article-title", title)
    page.fill("#article-digest", "单笔与日累计限额")
    page.select_option("#article-category", label="信用卡")
    body = page.locator("#article-body")
    body.click()
    page.keyboard.type("单笔限额 5 万元。")
    page.click("[data-role=toggle-html]")
    page.fill(
        "#article-html",
        '<p>单笔限额 5 万元。</p><script>alert(1)</script><p onclick="x()">日累计 20 万元。</p>',
    )
    page.click("[data-role=toggle-html]")
    page.click("#article-publish")
    view = page.locator("#article-view")
    view.wait_for(state="visible")
    # What the server kept after sanitizing is what the editor shows now.
    shown = body.inner_html()
    assert "<script" not in shown and "onclick" not in shown and "日累计 20 万元" in shown

    href = view.get_attribute("href")
    public = console.page.context.new_page()
    public.goto(href)
    assert public.title() == title
    assert public.locator("h1").inner_text() == title
    assert "日累计 20 万元" in public.locator(".content").inner_text()
    assert public.locator("meta[property='og:title']").get_attribute("content") == title
    public.close()

    # The list finds it with a typo-tolerant search, and unpublishing takes the page down.
    console.go("articles")
    page.fill("#articles-q", "手机银行转帐")  # 转帐 for 转账: Chinese matches substrings only...
    page.click("#articles-search")
    page.locator("#articles-results").get_by_text("没有符合条件的文章").wait_for()
    page.fill("#articles-q", "手机银行")  # ...so the admin searches the part they are sure of
    page.click("#articles-search")
    row = page.locator("#articles-results tr", has_text=title)
    row.wait_for()
    row.locator("[data-role=article-unpublish]").click()
    page.locator("#articles-results tr", has_text=title).locator(
        "[data-role=article-publish]"
    ).wait_for()
    status, _h, _b = http(href)
    assert status == 404


def test_batch_delete_asks_first(console, stack):
    ids = [
        admin_api(stack.base, "POST", "/admin/articles", {"title": f"批量删除测试 {i}"})["id"]
        for i in range(3)
    ]
    page = console.page
    console.sign_in()
    console.go("articles")
    page.fill("#articles-q", "批量删除测试")
    page.click("#articles-search")
    rows = page.locator("#articles-results tbody tr[data-id]")
    expect(rows).to_have_count(3)
    for i in range(2):
        rows.nth(i).locator("[data-role=article-select]").check()
    assert page.locator("[data-role=selected-count]").inner_text() == "已选 2 篇"

    page.click("[data-role=batch-delete]")
    assert "2 篇" in page.locator("dialog[open]").inner_text()
    console.cancel_dialog()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(rows).to_have_count(3)  # nothing happened

    page.click("[data-role=batch-delete]")
    console.accept_dialog()
    page.locator(".toast-ok", has_text="已删除 2 篇").wait_for()
    expect(rows).to_have_count(1)  # (wait_for_function would need eval: the CSP forbids it)
    remaining = admin_api(stack.base, "GET", "/admin/articles?q=%E6%89%B9%E9%87%8F")["items"]
    assert [a["id"] for a in remaining if a["id"] in ids] and len(remaining) == 1


def test_a_category_with_articles_asks_where_they_go(console, stack):
    cat = admin_api(stack.base, "POST", "/admin/categories", {"name": "待删栏目"})
    admin_api(
        stack.base, "POST", "/admin/articles", {"title": "待移文章", "category_id": cat["id"]}
    )
    page = console.page
    console.sign_in()
    console.go("categories")
    row = page.locator(f"tr[data-id='{cat['id']}']")
    row.locator("[data-role=category-delete]").click()
    console.accept_dialog()  # "delete?" -> the server says 409: it has an article
    dialog = page.locator("dialog[open]")
    dialog.get_by_text("还有 1 篇文章").wait_for()
    dialog.locator("[data-role=move-to]").select_option("none")
    console.accept_dialog()
    page.locator(".toast-ok", has_text="已移动 1 篇文章").wait_for()
    row.wait_for(state="detached")
    moved = admin_api(stack.base, "GET", "/admin/articles?q=%E5%BE%85%E7%A7%BB")["items"][0]
    assert moved["category_id"] is None


def test_create_and_rename_a_category(console, stack):
    page = console.page
    console.sign_in()
    console.go("categories")
    page.fill("#category-name", "理财")  # taken by the demo data: the API's 409 is shown
    page.click("#category-add")
    error = page.locator("#category-form [data-role=form-error]")
    error.wait_for()
    assert "冲突" in error.inner_text()
    page.fill("#category-name", "外汇")
    page.fill("#category-description", "购汇、结汇与跨境汇款")
    page.fill("#category-position", "9")
    page.click("#category-add")
    row = page.locator("tr[data-name='外汇']")
    row.wait_for()
    assert "购汇" in row.inner_text() and "0 / 0" in row.inner_text()
    row.locator("[data-role=category-edit]").click()
    row.locator("[data-role=edit-name]").fill("外汇业务")
    row.locator("[data-role=category-save]").click()
    page.locator(".toast-ok", has_text="分类已保存").wait_for()
    expect(row).to_contain_text("外汇业务")
    names = [c["name"] for c in admin_api(stack.base, "GET", "/admin/categories")["items"]]
    assert "外汇业务" in names and "外汇" not in names
    # Its public page exists (empty until an article is published in it).
    status, _h, html = http(row.get_by_text("公开页面").get_attribute("href"))
    assert status == 200 and "暂无文章" in html.decode()


def test_a_rule_can_answer_with_library_articles(console, stack):
    article = admin_api(
        stack.base,
        "POST",
        "/admin/articles",
        {"title": "外汇业务办理须知", "digest": "购汇、结汇与汇款", "status": "published"},
    )
    page = console.page
    console.sign_in()
    console.go("rules/new")
    page.fill("#rule-name", "外汇")
    page.select_option("#rule-match", "contains")
    page.fill("#rule-keywords", "外汇")
    page.select_option("#rule-form [data-role=reply-type]", "articles")
    page.fill("#rule-form [data-role=article-search]", "外汇业务")
    page.locator(f"[data-role=article-option][data-id='{article['id']}']").click()
    page.locator(f"[data-role=article-picked][data-id='{article['id']}']").wait_for()
    page.click("#rule-save")
    page.locator("tr[data-name='外汇']").wait_for()

    reply = eventually(lambda: send_text(stack.base, "外汇怎么办理"), timeout=15)
    assert reply["MsgType"] == "news"
    assert reply["Articles"][0]["Title"] == "外汇业务办理须知"
    url = reply["Articles"][0]["Url"]
    assert urlsplit(url).path == f"/p/articles/{article['id']}"
    status, _h, html = http(url)
    assert status == 200 and "<title>外汇业务办理须知</title>" in html.decode()


def test_dashboard_charts_and_screenshot(console, stack):
    for text in ("余额", "余额", "信用卡", "我要开户", "理财产品有哪些"):
        send_text(stack.base, text, openid="o_dashboard")
    page = console.page
    console.sign_in()
    page.locator("[data-panel='每日消息'] svg").wait_for()
    page.locator("[data-panel='规则命中排行'] svg").wait_for()
    messages = page.locator("[data-stat='消息']")
    messages.wait_for()
    assert int(messages.inner_text()) >= 5
    assert page.locator("figure[data-chart] svg").count() >= 4
    assert page.locator("[data-panel='时段分布'] svg rect").count() == 24  # a bar per hour
    assert page.locator("[data-panel='规则命中排行'] svg rect").count() >= 1
    assert page.locator("[data-panel] .form-error").count() == 0  # every stats route answered
    page.wait_for_timeout(300)  # let the last panel paint
    shot = console.screenshot("console.png")
    assert shot.stat().st_size > 20_000

    console.go("articles")
    page.locator("#articles-results tbody tr[data-id]").first.wait_for()
    console.screenshot("console-articles.png")  # docs/console.png is a copy of this one


def test_every_page_renders(console):
    page = console.page
    console.sign_in()
    pages = ("rules", "replies", "messages", "articles", "categories", "flows", "followers")
    for name in (*pages, "campaigns", "menu", "points"):
        console.go(name)
        page.locator(f"nav a[data-page={name}].active").wait_for()
        page.locator(".view .page-head h1").wait_for()
        page.wait_for_load_state("networkidle")
        assert page.locator(".view .page > .form-error").count() == 0, name
    assert re.search(r"/console#/points$", page.url)


WX_SDK_STANDIN = """
window.__wx = {};
window.wx = {
  config: function (c) { window.__wx.config = c; },
  ready: function (f) { f(); },
  updateAppMessageShareData: function (d) { window.__wx.share = d; },
  updateTimelineShareData: function (d) { window.__wx.timeline = d; }
};
"""
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701 NetType/WIFI Language/zh_CN"
)


def test_public_pages_on_a_phone(browser, stack):
    """What a follower sees in WeChat's browser: a phone-width page that fits without sideways
    scrolling, with its cover (a redirect to a presigned S3 URL) actually loaded."""
    found = admin_api(
        stack.base, "GET", "/admin/articles?q=%E4%BF%A1%E7%94%A8%E5%8D%A1%E5%8A%9E%E7%90%86"
    )
    article = found["items"][0]  # the demo "信用卡办理指南", published with a cover
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, user_agent=WECHAT_UA, is_mobile=True, locale="zh-CN"
    )
    # WeChat's JS-SDK (res.wx.qq.com: no internet here) as a stand-in that keeps what the page
    # hands it, so the share card is checked too.
    context.route(
        "https://res.wx.qq.com/**",
        lambda route: route.fulfill(content_type="application/javascript", body=WX_SDK_STANDIN),
    )
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(article["url"])
        page.wait_for_load_state("networkidle")
        page.wait_for_function("window.__wx && window.__wx.share", timeout=10_000)
        shared = page.evaluate("window.__wx")
        assert shared["config"]["signature"] and shared["share"]["title"] == article["title"]
        assert shared["share"]["link"] == article["url"]
        assert page.title() == article["title"]
        assert page.locator("h1.title").inner_text() == article["title"]
        assert page.locator(".meta .category").inner_text() == "信用卡"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", page.locator(".meta time").inner_text())
        cover = page.locator("img.cover")
        natural, shown = cover.evaluate(
            "(img) => [img.naturalWidth, img.getBoundingClientRect().width]"
        )
        assert natural > 0 and 300 <= shown <= 375  # loaded, and as wide as the screen allows
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375  # no sideways scroll
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "17px"
        page.screenshot(path=str(ARTIFACTS / "public-article-mobile.png"), full_page=True)

        page.click(".meta .category")  # the category page, phone-width too
        page.locator("ul.list li.item").first.wait_for()
        assert page.title() == "信用卡"
        titles = page.locator(".item-title").all_inner_texts()
        assert article["title"] in titles and all("草稿" not in t for t in titles)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    finally:
        context.close()
    # No CSP refusal of the page's own stylesheet, no failed load (not even /favicon.ico: the
    # page names an empty icon, so browsers do not ask the API for one).
    assert problems == [], problems


def test_edit_and_delete_a_rule_and_set_the_default_reply(console, stack):
    admin_api(
        stack.base,
        "POST",
        "/admin/rules",
        {
            "name": "挂失（浏览器）",
            "match": "exact",
            "keywords": ["浏览器测试词"],
            "reply": {"type": "text", "content": "旧答复"},
        },
    )
    page = console.page
    console.sign_in()
    console.go("rules")
    row = page.locator("tr[data-name='挂失（浏览器）']")
    row.get_by_text("编辑").click()
    page.locator("#rule-form").wait_for()
    assert page.input_value("#rule-keywords") == "浏览器测试词"
    page.fill("#rule-form [data-role=reply-text]", "银行卡挂失请拨打 95588 转 2。")
    page.click("#rule-save")
    row.wait_for()
    assert eventually(
        lambda: (
            (send_text(stack.base, "浏览器测试词") or {}).get("Content")
            == "银行卡挂失请拨打 95588 转 2。"
        ),
        timeout=15,
    )

    row.locator("[data-role=rule-delete]").click()
    console.accept_dialog()
    row.wait_for(state="detached")
    rules = admin_api(stack.base, "GET", "/admin/rules")["items"]
    assert "挂失（浏览器）" not in [r["name"] for r in rules]

    # The special replies: a text nobody's rule matches gets the default reply set here.
    console.go("replies")
    form = page.locator("#reply-default")
    form.locator("[data-role=reply-type]").select_option("text")
    form.locator("[data-role=reply-text]").fill("没听懂您的问题，回复「人工」转客服（浏览器）")
    form.locator("[data-role=save]").click()
    page.locator(".toast-ok", has_text="默认回复已保存").wait_for()
    assert eventually(
        lambda: (
            (send_text(stack.base, "浏览器测试词") or {}).get("Content")
            == "没听懂您的问题，回复「人工」转客服（浏览器）"
        ),
        timeout=15,
    )


def test_create_a_flow_and_walk_through_it(console, stack):
    page = console.page
    console.sign_in()
    console.go("flows")
    page.get_by_text("新建对话").click()
    page.fill("#flow-name", "业务咨询（浏览器）")
    page.fill("#flow-keywords", "业务咨询")
    # The node graph is prefilled with a two-level sample; a dangling reference is refused.
    nodes = page.input_value("#flow-nodes")
    page.fill("#flow-nodes", nodes.replace('"next": "card"', '"next": "nowhere"'))
    page.click("#flow-save")
    error = page.locator("#flow-form [data-role=form-error]")
    error.wait_for()
    assert "nowhere" in error.inner_text()
    page.fill("#flow-nodes", nodes)
    page.click("#flow-save")
    page.locator("tr", has_text="业务咨询（浏览器）").wait_for()

    def entered():
        reply = send_text(stack.base, "业务咨询", openid="o_flow")  # enabled within ~2 s
        return reply if reply and "请选择业务" in reply["Content"] else None

    assert eventually(entered, timeout=15)
    step = send_text(stack.base, "1", openid="o_flow")  # option 1: 信用卡 -> the card node
    assert step is not None and "办卡进度" in step["Content"]
    done = send_text(stack.base, "账单", openid="o_flow")
    assert done is not None and done["Content"] == "账单请在手机银行查看。"

    row = page.locator("tr", has_text="业务咨询（浏览器）")
    row.get_by_text("数据").click()
    page.locator(".page-head h1", has_text="数据").wait_for()
    page.locator("figure[data-chart] svg").wait_for()


def test_tag_a_follower(console, stack):
    send_text(stack.base, "你好", openid="o_browser_tag")
    page = console.page
    console.sign_in()
    console.go("followers/o_browser_tag")
    page.locator("h2", has_text="最近消息").wait_for()
    assert "你好" in page.locator(".view table").last.inner_text()
    tags = page.locator("form.card input").nth(1)
    tags.fill("vip, 理财意向")
    page.locator("form.card").get_by_text("保存").click()
    page.locator(".toast-ok", has_text="已保存").wait_for()
    follower = admin_api(stack.base, "GET", "/admin/followers/o_browser_tag")["follower"]
    assert follower["tags"] == sorted(["vip", "理财意向"])

    # The page's first (unfiltered) load answers only after the search: its late answer must
    # not be mixed into the search results (it once was: a flaky duplicate row).
    held = []
    page.route(
        "**/admin/followers?*",
        lambda route: route.continue_() if "q=" in route.request.url else held.append(route),
    )
    console.go("followers")
    page.fill("#followers-q", "o_browser_tag")
    page.locator("form.toolbar").get_by_text("查询").click()
    row = page.locator("tr", has_text="o_browser_tag")
    row.wait_for()
    assert "vip" in row.inner_text()
    assert held, "the first load was not held back"
    with page.expect_response(lambda r: "/admin/followers" in r.url and "q=" not in r.url):
        for route in held:
            route.continue_()
    page.wait_for_timeout(300)  # time for the late answer to be (wrongly) drawn
    assert page.locator(".view tbody tr").count() == 1
    assert "已显示 1 位" in page.locator(".view").inner_text()
    page.unroute("**/admin/followers?*")


def test_article_list_pages_and_filters_by_publish_date(console, stack):
    for i in range(22):
        admin_api(
            stack.base,
            "POST",
            "/admin/articles",
            {"title": f"分页测试 {i:02d}", "status": "published" if i % 11 else "draft"},
        )
    page = console.page
    console.sign_in()
    console.go("articles")
    page.fill("#articles-q", "分页测试")
    page.click("#articles-search")
    rows = page.locator("#articles-results tbody tr[data-id]")
    expect(page.locator("#articles-results")).to_contain_text("共 22 篇")
    expect(rows).to_have_count(20)
    page.click("[data-role=next]")
    expect(rows).to_have_count(2)
    assert page.locator(".pager").inner_text().count("第 2 页") == 1
    page.click("[data-role=prev]")
    expect(rows).to_have_count(20)

    # A publish-date range lists published articles only (the two drafts drop out).
    today = dt.date.today()
    page.fill("#articles-from", (today - dt.timedelta(days=2)).isoformat())
    page.fill("#articles-to", (today + dt.timedelta(days=2)).isoformat())
    page.click("#articles-search")
    expect(page.locator("#articles-results")).to_contain_text("共 20 篇")
    assert page.locator("#articles-status").input_value() == "published"
    page.fill("#articles-to", (today - dt.timedelta(days=1)).isoformat())
    page.fill("#articles-from", (today - dt.timedelta(days=3)).isoformat())
    page.click("#articles-search")
    page.locator("#articles-results").get_by_text("没有符合条件的文章").wait_for()

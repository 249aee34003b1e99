"""Public article and category pages, and the console's static files, over chalice.test.Client."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.functional import test_cms
from tests.functional.helpers import admin, body_json
from tests.functional.test_cms import PNG, category, create

HOST = "wx.bank.example"
clock = test_cms.clock  # the publish-date fixture
_module_store = test_cms._module_store  # one moto per module, emptied per test
client = test_cms.client


def without_share_card(html: str) -> str:
    """The page without the two scripts of WeChat's share card (the JSON data block and our
    share.js, which fetches the JS-SDK inside WeChat only): what is left must hold no script."""
    from chalicelib.handlers.pages import JWEIXIN, TEMPLATES

    share_js = (TEMPLATES / "share.js").read_text(encoding="utf-8")
    found = re.findall(r'<script id="wx-share" type="application/json">[^<]*</script>\n', html)
    assert len(found) == 1, html
    assert JWEIXIN not in html.replace(found[0], "")  # no script tag for it outside WeChat
    for script in (found[0], f"<script>{share_js}</script>"):
        assert html.count(script) == 1, script
        html = html.replace(script, "")
    return html


def page(client, path: str, **headers):
    return client.http.get(path, headers={"Host": HOST, **headers})


def text(response) -> str:
    return response.body.decode("utf-8")


@pytest.fixture
def published(client):
    cat = category(client, "信用卡", description="用卡资讯")
    article = create(
        client,
        title="信用卡 <还款> 指南 & 说明",
        digest="三种还款方式",
        author="信用卡中心",
        category_id=cat["id"],
        status="published",
        body_html="<h2>一、自动还款</h2><p>绑定借记卡。</p><script>alert(1)</script>"
        '<img src="https://img.bank.example/a.png" onerror="alert(2)">',
    )
    admin(
        client,
        "PUT",
        f"/admin/articles/{article['id']}/cover",
        {"data": base64.b64encode(PNG).decode()},
    )
    return article, cat


def test_article_page(client, published):
    article, cat = published
    response = page(client, f"/p/articles/{article['id']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = text(response)
    # Title escaped (autoescape), in <title>, <h1> and the share tags.
    escaped = "信用卡 &lt;还款&gt; 指南 &amp; 说明"
    assert f"<title>{escaped}</title>" in html
    assert f'<h1 class="title">{escaped}</h1>' in html
    assert f'<meta property="og:title" content="{escaped}">' in html
    assert '<meta property="og:description" content="三种还款方式">' in html
    url = f"http://{HOST}/p/articles/{article['id']}"
    assert f'<meta property="og:url" content="{url}">' in html
    assert f'<meta property="og:image" content="{url}/cover">' in html
    assert f'<img class="cover" src="{url}/cover"' in html
    assert '<meta name="viewport" content="width=device-width' in html
    # Publish date (China time), category link, author, sanitized body.
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+\+08:00">\d{4}-\d\d-\d\d</time>', html)
    assert f'href="http://{HOST}/p/categories/{cat["id"]}">信用卡</a>' in html
    assert "信用卡中心" in html
    assert "<h2>一、自动还款</h2><p>绑定借记卡。</p>" in html
    from chalicelib.handlers import pages

    bare = without_share_card(html)
    assert "<script" not in bare and "onerror" not in html and "alert" not in html
    # The share card's data: the escaped title in JSON, the canonical link and the cover.
    share = json.loads(re.search(r'id="wx-share" type="application/json">([^<]*)<', html).group(1))
    assert share == {
        "jssdk": f"http://{HOST}/p/jssdk",
        "jweixin": pages.JWEIXIN,
        "title": "信用卡 <还款> 指南 & 说明",
        "desc": "三种还款方式",
        "link": url,
        "imgUrl": f"{url}/cover",
    }
    # Security and caching headers: scripts only by hash and from WeChat's JS-SDK host.
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    (script_src,) = [d.strip() for d in csp.split(";") if d.strip().startswith("script-src")]
    assert re.fullmatch(r"script-src 'sha256-[A-Za-z0-9+/=]+' https://res\.wx\.qq\.com", script_src)
    assert "connect-src 'self'" in csp
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_inline_style_matches_the_csp_hash(client, published):
    import hashlib

    article, _cat = published
    response = page(client, f"/p/articles/{article['id']}")
    style = re.search(r"<style>(.*?)</style>", text(response), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]


def test_etag_and_304(client, published):
    article, _cat = published
    first = page(client, f"/p/articles/{article['id']}")
    etag = first.headers["ETag"]
    again = page(client, f"/p/articles/{article['id']}", **{"If-None-Match": etag})
    assert again.status_code == 304 and again.body == b""
    assert again.headers["ETag"] == etag
    admin(client, "PUT", f"/admin/articles/{article['id']}", {"title": "新标题"})
    changed = page(client, f"/p/articles/{article['id']}", **{"If-None-Match": etag})
    assert changed.status_code == 200 and "新标题" in text(changed)
    assert changed.headers["ETag"] != etag


def test_a_body_stored_behind_the_api_is_still_sanitized_when_shown(client, published):
    from chalicelib.store.articles import ArticleItem, article_key

    article, _cat = published
    item = ArticleItem.get(article_key(article["id"]))
    item.body_html = '<p>hi</p><script>alert("x")</script><a href="javascript:evil()">x</a>'
    item.save()
    html = without_share_card(text(page(client, f"/p/articles/{article['id']}")))
    assert "<p>hi</p>" in html and "<script" not in html and "javascript:" not in html


def test_unpublished_deleted_and_unknown_are_404(client, published):
    article, _cat = published
    aid = article["id"]
    draft = create(client, title="机密草稿", body_html="<p>内部</p>")
    for path in (f"/p/articles/{draft['id']}", "/p/articles/nope", "/p/categories/nope"):
        response = page(client, path)
        assert response.status_code == 404, path
        assert "机密草稿" not in text(response) and response.headers["Cache-Control"] == "no-store"
    assert page(client, f"/p/articles/{aid}/cover").status_code == 302
    admin(client, "POST", f"/admin/articles/{aid}/unpublish")
    for path in (f"/p/articles/{aid}", f"/p/articles/{aid}/cover"):
        assert page(client, path).status_code == 404, path
    admin(client, "POST", f"/admin/articles/{aid}/publish")
    assert page(client, f"/p/articles/{aid}").status_code == 200
    admin(client, "DELETE", f"/admin/articles/{aid}")
    assert page(client, f"/p/articles/{aid}").status_code == 404


def test_cover_redirects_to_a_presigned_url(client, published):
    article, _cat = published
    response = page(client, f"/p/articles/{article['id']}/cover")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "X-Amz-Signature=" in location and article["id"] in location
    assert response.headers["Cache-Control"] == "public, max-age=600"
    no_cover = create(client, title="无封面", status="published")
    assert page(client, f"/p/articles/{no_cover['id']}/cover").status_code == 404


def test_category_page_lists_published_only_and_pages(client, clock):
    cat = category(client, "网点公告", description="营业时间与网点变更")
    for i in range(13):
        clock.now += 60
        create(client, title=f"公告{i:02d}", category_id=cat["id"], status="published")
    create(client, title="未发布公告", category_id=cat["id"])
    first = page(client, f"/p/categories/{cat['id']}")
    assert first.status_code == 200
    html = text(first)
    assert "<title>网点公告</title>" in html and "营业时间与网点变更" in html
    shown = re.findall(r'<span class="item-title">([^<]+)</span>', html)
    assert shown == [f"公告{i:02d}" for i in range(12, 2, -1)]  # 10 per page, newest first
    assert "未发布公告" not in html
    next_url = re.search(r'<a href="([^"]+)">更早 ›</a>', html).group(1)
    assert next_url.startswith(f"http://{HOST}/p/categories/{cat['id']}?cursor=")
    second = page(client, next_url.removeprefix(f"http://{HOST}"))
    assert re.findall(r'<span class="item-title">([^<]+)</span>', text(second)) == [
        "公告02",
        "公告01",
        "公告00",
    ]
    assert "更早" not in text(second) and "‹ 最新" in text(second)
    assert page(client, f"/p/categories/{cat['id']}?cursor=garbage").status_code == 404

    empty = category(client, "空栏目")
    assert "暂无文章" in text(page(client, f"/p/categories/{empty['id']}"))


def test_public_base_url_wins_over_the_host(client, published, monkeypatch):
    monkeypatch.setenv("WXLESS_PUBLIC_BASE_URL", "https://m.bank.example/")
    article, _cat = published
    html = text(page(client, f"/p/articles/{article['id']}"))
    assert f'content="https://m.bank.example/p/articles/{article["id"]}"' in html
    got = body_json(admin(client, "GET", f"/admin/articles/{article['id']}"))
    assert got["url"] == f"https://m.bank.example/p/articles/{article['id']}"


def test_base_url_behind_api_gateway_keeps_the_stage():
    from types import SimpleNamespace

    from chalicelib.cms.links import base_url_from_request

    request = SimpleNamespace(
        headers={"host": "abc.execute-api.ap-east-1.amazonaws.com", "x-forwarded-proto": "https"},
        context={"stage": "api"},
    )
    assert base_url_from_request(request) == "https://abc.execute-api.ap-east-1.amazonaws.com/api"


# -- the console's files -----------------------------------------------------------------------


def test_console_page_and_assets(client):
    response = client.http.get("/console")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    html = text(response)
    assert "<script" in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline
    scripts = re.findall(r'src="(console/static/[^"]+)"', html)
    styles = re.findall(r'href="(console/static/[^"]+\.css)"', html)
    assert scripts and styles
    for path in scripts + styles:
        asset = client.http.get("/" + path)
        assert asset.status_code == 200, path
        expected = "text/javascript" if path.endswith(".js") else "text/css"
        assert asset.headers["Content-Type"].startswith(expected)
        again = client.http.get("/" + path, headers={"If-None-Match": asset.headers["ETag"]})
        assert again.status_code == 304


def test_console_with_a_trailing_slash_redirects(client):
    response = client.http.get("/console/")
    assert response.status_code == 301 and response.headers["Location"] == "../console"


def test_console_modules_import_only_shipped_files(client):
    """Every ES module import resolves to a file the console route serves."""
    from chalicelib.handlers.console import ASSETS

    for module in ASSETS.glob("*.js"):
        for target in re.findall(r"""from\s+["']\./([^"']+)["']""", module.read_text()):
            assert (ASSETS / target).is_file(), (module.name, target)
            assert client.http.get(f"/console/static/{target}").status_code == 200


@pytest.mark.parametrize("name", ["..%2Fapp.py", "index.html", "missing.js", "a.py", ".hidden.js"])
def test_console_serves_nothing_else(client, name):
    assert client.http.get(f"/console/static/{name}").status_code == 404


def test_inline_share_script_matches_the_csp_hash(client, published):
    import hashlib

    article, _cat = published
    response = page(client, f"/p/articles/{article['id']}")
    inline = re.findall(r"<script>(.*?)</script>", text(response), re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]

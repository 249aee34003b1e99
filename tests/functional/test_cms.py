"""The CMS admin API (articles, covers, categories, batch actions), article-id news replies and
the admin API's cross-origin rules, over chalice.test.Client on moto."""

from __future__ import annotations

import base64
import itertools
import json

import pytest

from tests import stream, wxsim
from tests.functional.helpers import (
    admin,
    body_json,
    follower_writes,
    make_rule,
    post_xml,
    refresh_rules,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def _module_store():
    """One moto and one set of tables for the whole module: creating ~15 tables costs seconds per
    test on a loaded 2-core machine, emptying them costs milliseconds (see `client` below)."""
    from moto import mock_aws

    from chalicelib.store.tables import create_all
    from tests.conftest import _reset_process_state

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WXLESS_TABLE_PREFIX", "wxtest")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            _reset_process_state()
            create_all()
            stream.forget()  # this module's own moto: a new stream
            yield
    _reset_process_state()


def empty_store() -> None:
    """Delete every item of every table and every object of the media bucket."""
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.models import all_models

    for model in all_models():
        key_attrs = [model._hash_key_attribute(), model._range_key_attribute()]
        keys = [attr.attr_name for attr in key_attrs if attr is not None]
        items = list(model.scan(attributes_to_get=keys))
        with model.batch_write() as batch:
            for item in items:
                batch.delete(item)
    s3 = aws_client("s3")
    listed = s3.list_objects_v2(Bucket=config.media_bucket()).get("Contents", [])
    if listed:
        s3.delete_objects(
            Bucket=config.media_bucket(), Delete={"Objects": [{"Key": o["Key"]} for o in listed]}
        )


@pytest.fixture
def client(_module_store, settings):
    """Overrides conftest's `client` here: same app and settings, a store emptied per test."""
    from chalice.test import Client

    from app import app
    from tests.conftest import _reset_process_state

    _reset_process_state()
    empty_store()
    stream.pump().skip_to_end()
    _reset_process_state()
    with Client(app) as test_client:
        yield test_client
    _reset_process_state()


@pytest.fixture
def clock(monkeypatch):
    """Publish dates under test control: articles.now() reads `clock.now`."""
    from chalicelib.store import articles

    class Clock:
        now = 1_767_225_600  # 2026-01-01 00:00 UTC

    monkeypatch.setattr(articles, "now", lambda: Clock.now)
    return Clock


def create(client, **fields) -> dict:
    body = {"title": "t", **fields}
    response = admin(client, "POST", "/admin/articles", body)
    assert response.status_code == 201, response.body
    return body_json(response)


def category(client, name: str, **extra) -> dict:
    response = admin(client, "POST", "/admin/categories", {"name": name, **extra})
    assert response.status_code == 201, response.body
    return body_json(response)


def listing(client, query: str = "") -> dict:
    response = admin(client, "GET", "/admin/articles" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.body
    return body_json(response)


def titles(client, query: str = "") -> list[str]:
    return [a["title"] for a in listing(client, query)["items"]]


# -- auth --------------------------------------------------------------------------------------

CMS_ROUTES = [
    ("GET", "/admin/articles"),
    ("POST", "/admin/articles"),
    ("POST", "/admin/articles/batch"),
    ("GET", "/admin/articles/a1"),
    ("PUT", "/admin/articles/a1"),
    ("PATCH", "/admin/articles/a1"),
    ("DELETE", "/admin/articles/a1"),
    ("POST", "/admin/articles/a1/publish"),
    ("POST", "/admin/articles/a1/unpublish"),
    ("PUT", "/admin/articles/a1/cover"),
    ("DELETE", "/admin/articles/a1/cover"),
    ("GET", "/admin/categories"),
    ("POST", "/admin/categories"),
    ("GET", "/admin/categories/c1"),
    ("PUT", "/admin/categories/c1"),
    ("PATCH", "/admin/categories/c1"),
    ("DELETE", "/admin/categories/c1"),
]


def test_every_cms_route_needs_the_admin_token(client):
    # One test over every route: each moto setup costs seconds on a loaded machine.
    for (method, path), token in itertools.product(CMS_ROUTES, (None, "wrong")):
        response = admin(client, method, path, {"title": "x"}, token=token)
        assert response.status_code == 401, (method, path, token)


# -- articles ---------------------------------------------------------------------------------


def test_create_sanitizes_the_body(client):
    dirty = (
        '<p onclick="steal()">Hello <b>world</b></p><script>alert(1)</script>'
        '<img src="https://img.example.com/a.png" onerror="alert(2)" alt="a">'
        '<a href="javascript:alert(3)">bad</a><a href="https://bank.example.com/x">ok</a>'
        '<iframe src="https://evil.example.com"></iframe><style>body{display:none}</style>'
        '<svg onload="alert(4)"></svg><p style="position:fixed">styled</p>'
    )
    article = create(client, title="  安全 ", body_html=dirty, digest="摘要", author="总行")
    body = article["body_html"]
    for bad in ("<script", "alert", "onerror", "onclick", "javascript:", "<iframe", "<style",
                "<svg", "onload", "style="):  # fmt: skip
        assert bad not in body, (bad, body)
    assert "<b>world</b>" in body
    assert '<img src="https://img.example.com/a.png" alt="a">' in body
    assert 'href="https://bank.example.com/x"' in body and "noopener" in body
    assert article["title"] == "安全" and article["status"] == "draft"
    assert article["digest"] == "摘要" and article["author"] == "总行"
    assert article["published_at"] is None and article["cover_url"] is None
    assert article["url"].endswith(f"/p/articles/{article['id']}")
    stored = body_json(admin(client, "GET", f"/admin/articles/{article['id']}"))
    assert stored["body_html"] == body


def test_update_sanitizes_too(client):
    article = create(client)
    response = admin(
        client,
        "PUT",
        f"/admin/articles/{article['id']}",
        {"body_html": '<img src=x onerror="alert(1)"><script>x()</script><p>ok</p>'},
    )
    assert response.status_code == 200
    assert body_json(response)["body_html"] == '<img src="x"><p>ok</p>'


@pytest.mark.parametrize(
    "dirty",
    [
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',  # entity-encoded scheme
        '<a href="java\tscript:alert(1)">x</a>',  # browsers drop the tab
        '<a href=" javascript:alert(1)">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        "<IMG SRC=x OnErRoR=alert(1)>",
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<form action="javascript:alert(1)"><button formaction="javascript:1">x</button></form>',
        '<div onmouseover="alert(1)">x</div>',
    ],
)
def test_sanitizer_evasions_are_stripped(client, dirty):
    stored = create(client, body_html=dirty)["body_html"]
    for bad in ("script", "alert", "data:", "onerror", "onmouseover", "<form", "formaction"):
        assert bad not in stored.lower(), (dirty, stored)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "title is required"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 101}, "at most 100"),
        ({"title": "t", "status": "live"}, "status"),
        ({"title": "t", "colour": "red"}, "unknown field"),
        ({"title": "t", "body_html": 42}, "body_html"),
        ({"title": "t", "category_id": "no-such"}, "unknown category"),
        ({"title": "t", "category_id": "a/b"}, "category_id"),
        ({"title": 5}, "title must be a string"),
    ],
)
def test_article_validation(client, body, needle):
    response = admin(client, "POST", "/admin/articles", body)
    assert response.status_code == 400
    assert needle in body_json(response)["error"]


def test_article_crud_and_404s(client, clock):
    article = create(client, title="第一版", digest="d1")
    aid = article["id"]
    clock.now += 10
    updated = admin(client, "PUT", f"/admin/articles/{aid}", {"title": "第二版"})
    assert updated.status_code == 200
    got = body_json(updated)
    assert got["title"] == "第二版" and got["digest"] == "d1"  # left-out fields kept
    assert got["updated_at"] == article["updated_at"] + 10
    assert got["created_at"] == article["created_at"]
    # A client may PUT back what it read: read-only fields are ignored.
    assert admin(client, "PUT", f"/admin/articles/{aid}", got).status_code == 200
    patched = body_json(admin(client, "PATCH", f"/admin/articles/{aid}", {"digest": ""}))
    assert patched["digest"] == "" and patched["title"] == "第二版"

    assert admin(client, "DELETE", f"/admin/articles/{aid}").status_code == 204
    for method in ("GET", "PUT", "DELETE"):
        response = admin(client, method, f"/admin/articles/{aid}", {"title": "x"})
        assert response.status_code == 404, method
    assert admin(client, "POST", f"/admin/articles/{aid}/publish").status_code == 404


def test_stale_rev_is_a_conflict(client):
    article = create(client)
    aid, rev = article["id"], article["rev"]
    assert (
        admin(client, "PUT", f"/admin/articles/{aid}", {"title": "a", "rev": rev}).status_code
        == 200
    )
    stale = admin(client, "PUT", f"/admin/articles/{aid}", {"title": "b", "rev": rev})
    assert stale.status_code == 409
    assert body_json(admin(client, "GET", f"/admin/articles/{aid}"))["title"] == "a"


def test_publish_and_unpublish(client, clock):
    article = create(client)
    aid = article["id"]
    clock.now += 100
    published = body_json(admin(client, "POST", f"/admin/articles/{aid}/publish"))
    assert published["status"] == "published" and published["published_at"] == clock.now
    clock.now += 100
    again = body_json(admin(client, "POST", f"/admin/articles/{aid}/publish"))
    assert again["published_at"] == published["published_at"]  # publishing twice changes nothing
    draft = body_json(admin(client, "POST", f"/admin/articles/{aid}/unpublish"))
    assert draft["status"] == "draft" and draft["published_at"] is None
    # Created published directly.
    direct = create(client, status="published")
    assert direct["status"] == "published" and direct["published_at"] == clock.now


def test_list_pages_with_opaque_cursors(client, clock):
    for i in range(7):
        clock.now += 1
        create(client, title=f"文章{i}")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = listing(client, query)
        assert page["total"] == 7
        seen += [a["title"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"文章{i}" for i in range(6, -1, -1)]  # newest first, nothing twice

    first = listing(client, "limit=3")
    other = admin(client, "GET", f"/admin/articles?limit=3&q=x&cursor={first['next_cursor']}")
    assert other.status_code == 400 and "another query" in body_json(other)["error"]
    assert admin(client, "GET", "/admin/articles?cursor=%%%").status_code == 400
    garbage = base64.urlsafe_b64encode(b'{"m":"idx","f":"x","k":[1,2]}').decode()
    assert admin(client, "GET", f"/admin/articles?cursor={garbage}").status_code == 400
    for bad in ("limit=0", "limit=x", "status=live", "sort=title"):
        assert admin(client, "GET", f"/admin/articles?{bad}").status_code == 400, bad
    assert admin(client, "GET", "/admin/articles?limit=101").status_code == 200  # the largest page


def test_fuzzy_title_search(client):
    for title in ("Credit Card Guide 信用卡指南", "Mortgage rates 2026", "理财产品周报",
                  "网点营业时间调整公告", "Travel plan"):  # fmt: skip
        create(client, title=title)
    assert titles(client, "q=credit") == ["Credit Card Guide 信用卡指南"]
    assert titles(client, "q=CREDIT%20guide") == ["Credit Card Guide 信用卡指南"]  # all terms
    assert titles(client, "q=credt") == ["Credit Card Guide 信用卡指南"]  # one typo
    assert titles(client, "q=morgage") == ["Mortgage rates 2026"]  # one typo
    assert titles(client, "q=mortgaeg%20rates") == ["Mortgage rates 2026"]  # 8 letters: two
    assert titles(client, "q=%E4%BF%A1%E7%94%A8%E5%8D%A1") == [
        "Credit Card Guide 信用卡指南"
    ]  # 信用卡
    assert titles(client, "q=%E7%90%86%E8%B4%A2") == ["理财产品周报"]  # 理财: substring
    assert titles(client, "q=%E7%90%86%E5%B8%81") == []  # 理币: no typo tolerance for Chinese
    assert titles(client, "q=loan") == []  # "plan" is two edits away
    assert titles(client, "q=%EF%BC%A3%EF%BC%B2%EF%BC%A5%EF%BC%A4%EF%BC%A9%EF%BC%B4") == [
        "Credit Card Guide 信用卡指南"
    ]  # full-width ＣＲＥＤＩＴ
    assert listing(client, "q=credit")["total"] == 1
    assert admin(client, "GET", "/admin/articles?q=" + "x" * 101).status_code == 400


def test_publish_date_range_uses_the_gsi_and_pages(client, clock):
    clock.now = 1_767_196_800  # 2025-12-31 16:00 UTC = 2026-01-01 00:00 China time
    ids = {}
    for day in range(5):
        a = create(client, title=f"day{day}", status="published")
        ids[day] = a["id"]
        clock.now += 86400
    create(client, title="draft")  # never in a publish-date range

    jan2 = "published_from=2026-01-02&published_to=2026-01-04"  # dates: China time, inclusive
    assert titles(client, jan2) == ["day3", "day2", "day1"]
    page = listing(client, jan2)
    assert "total" not in page  # answered from the GSI, not the index
    epoch = f"published_from={1_767_196_800 + 86400}&published_to={1_767_196_800 + 3 * 86400}"
    assert titles(client, epoch) == ["day3", "day2", "day1"]
    assert titles(client, "published_from=2026-01-04T00:00:00%2B08:00") == ["day4", "day3"]
    assert titles(client, "published_to=2026-01-01") == ["day0"]

    # Paging through the GSI.
    first = listing(client, "published_from=2026-01-01&limit=2")
    assert [a["title"] for a in first["items"]] == ["day4", "day3"]
    second = listing(client, f"published_from=2026-01-01&limit=2&cursor={first['next_cursor']}")
    assert [a["title"] for a in second["items"]] == ["day2", "day1"]
    third = listing(client, f"published_from=2026-01-01&limit=2&cursor={second['next_cursor']}")
    assert [a["title"] for a in third["items"]] == ["day0"] and third["next_cursor"] is None

    # With a text query the index answers, same filter semantics ("day2" is one typo from
    # "day1" and "day3": all three match).
    assert titles(client, f"{jan2}&q=day2") == ["day3", "day2", "day1"]
    assert titles(client, "published_from=2026-01-03&q=day0") == ["day4", "day3", "day2"]
    assert listing(client, f"{jan2}&q=day2")["total"] == 3
    # Status published without a range: the GSI again, newest publication first.
    assert titles(client, "status=published&sort=published") == [f"day{d}" for d in (4, 3, 2, 1, 0)]
    assert titles(client, "status=draft") == ["draft"]

    for bad in (
        "published_from=2026-13-01",
        "published_from=yesterday",
        "published_from=2026-01-05&published_to=2026-01-01",
        "published_from=2026-01-01&status=draft",
    ):
        assert admin(client, "GET", f"/admin/articles?{bad}").status_code == 400, bad


def test_filter_by_category_and_status(client):
    news = category(client, "网点公告")
    cards = category(client, "信用卡")
    create(client, title="n1", category_id=news["id"], status="published")
    create(client, title="n2", category_id=news["id"])
    create(client, title="c1", category_id=cards["id"], status="published")
    assert sorted(titles(client, f"category_id={news['id']}")) == ["n1", "n2"]
    assert titles(client, f"category_id={news['id']}&status=published") == ["n1"]
    assert titles(client, f"category_id={news['id']}&status=published&sort=published") == ["n1"]
    assert titles(client, f"category_id={cards['id']}&status=draft") == []
    assert sorted(titles(client, "status=all")) == ["c1", "n1", "n2"]


def test_batch_actions(client):
    ids = [create(client, title=f"b{i}")["id"] for i in range(4)]
    published = admin(
        client, "POST", "/admin/articles/batch", {"action": "publish", "ids": [*ids[:3], "ghost"]}
    )
    assert published.status_code == 200
    assert body_json(published) == {"done": ids[:3], "missing": ["ghost"], "failed": []}
    assert sorted(titles(client, "status=published")) == ["b0", "b1", "b2"]
    unpublished = body_json(
        admin(client, "POST", "/admin/articles/batch", {"action": "unpublish", "ids": ids[:1]})
    )
    assert unpublished["done"] == ids[:1]
    deleted = admin(client, "POST", "/admin/articles/batch", {"action": "delete", "ids": ids[1:]})
    assert body_json(deleted)["done"] == ids[1:]
    assert titles(client) == ["b0"]
    for bad in (
        {"action": "archive", "ids": ids[:1]},
        {"action": "delete", "ids": []},
        {"action": "delete", "ids": "x"},
        {"action": "delete", "ids": ["../x"]},
        {"action": "delete", "ids": [f"a{i}" for i in range(101)]},
    ):
        assert admin(client, "POST", "/admin/articles/batch", bad).status_code == 400, bad


def _s3_keys(prefix: str = "articles/") -> list[str]:
    """The covers in the media bucket, named by their keys inside the account (the bucket's
    keys start with the account: asserted here)."""
    from chalicelib import config
    from chalicelib.store import keys
    from chalicelib.store.aws import client as aws_client

    scope = keys.s3_key("")
    listed = aws_client("s3").list_objects_v2(Bucket=config.media_bucket(), Prefix=scope + prefix)
    return [obj["Key"].removeprefix(scope) for obj in listed.get("Contents", [])]


def test_cover_upload_replace_remove(client):
    aid = create(client)["id"]
    data = base64.b64encode(PNG).decode()
    response = admin(client, "PUT", f"/admin/articles/{aid}/cover", {"data": data})
    assert response.status_code == 200, response.body
    article = body_json(response)
    key = article["cover_key"]
    assert key.startswith(f"articles/{aid}/cover-") and key.endswith(".png")
    assert "X-Amz-Signature=" in article["cover_url"]  # presigned: drafts' covers stay private
    assert _s3_keys() == [key]

    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    replaced = body_json(
        admin(
            client,
            "PUT",
            f"/admin/articles/{aid}/cover",
            {"data": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()},
        )
    )
    assert replaced["cover_key"].endswith(".jpg") and _s3_keys() == [replaced["cover_key"]]

    for bad in ({"data": base64.b64encode(b"<svg/>").decode()}, {"data": "!!"}, {}):
        assert admin(client, "PUT", f"/admin/articles/{aid}/cover", bad).status_code == 400, bad
    too_big = base64.b64encode(PNG + b"\x00" * (2 * 1024 * 1024)).decode()
    assert (
        admin(client, "PUT", f"/admin/articles/{aid}/cover", {"data": too_big}).status_code == 400
    )

    removed = body_json(admin(client, "DELETE", f"/admin/articles/{aid}/cover"))
    assert removed["cover_key"] is None and _s3_keys() == []
    admin(client, "PUT", f"/admin/articles/{aid}/cover", {"data": data})
    assert admin(client, "DELETE", f"/admin/articles/{aid}").status_code == 204
    assert _s3_keys() == []  # deleting the article deletes its cover


# -- categories --------------------------------------------------------------------------------


def test_category_crud(client):
    first = category(client, "理财", description="理财资讯", position=2)
    second = category(client, "信用卡", position=1)
    assert first["article_count"] == 0 and first["url"].endswith(f"/p/categories/{first['id']}")
    items = body_json(admin(client, "GET", "/admin/categories"))["items"]
    assert [c["name"] for c in items] == ["信用卡", "理财"]  # by position
    dup = admin(client, "POST", "/admin/categories", {"name": " 理财 "})
    assert dup.status_code == 409
    renamed = admin(client, "PUT", f"/admin/categories/{second['id']}", {"name": "信用卡中心"})
    assert renamed.status_code == 200 and body_json(renamed)["position"] == 1
    clash = admin(client, "PATCH", f"/admin/categories/{second['id']}", {"name": "理财"})
    assert clash.status_code == 409
    got = body_json(admin(client, "GET", f"/admin/categories/{first['id']}"))
    assert got["description"] == "理财资讯"
    assert admin(client, "POST", "/admin/categories", {"name": ""}).status_code == 400
    assert (
        admin(client, "POST", "/admin/categories", {"name": "x", "position": "1"}).status_code
        == 400
    )
    assert admin(client, "GET", "/admin/categories/nope").status_code == 404
    assert admin(client, "PUT", "/admin/categories/nope", {"name": "y"}).status_code == 404
    assert admin(client, "DELETE", "/admin/categories/nope").status_code == 404
    deleted = admin(client, "DELETE", f"/admin/categories/{second['id']}")
    assert deleted.status_code == 200 and body_json(deleted)["moved"] == 0


def test_a_category_with_articles_is_not_deleted_silently(client):
    old = category(client, "旧栏目")
    new = category(client, "新栏目")
    a1 = create(client, title="p", category_id=old["id"], status="published")
    a2 = create(client, title="d", category_id=old["id"])
    listed = body_json(admin(client, "GET", "/admin/categories"))["items"]
    counts = {c["name"]: (c["article_count"], c["published_count"]) for c in listed}
    assert counts == {"旧栏目": (2, 1), "新栏目": (0, 0)}

    refused = admin(client, "DELETE", f"/admin/categories/{old['id']}")
    assert refused.status_code == 409
    assert body_json(refused)["article_count"] == 2 and "move_to" in body_json(refused)["error"]
    assert (
        admin(client, "DELETE", f"/admin/categories/{old['id']}?move_to=ghost").status_code == 400
    )
    same = admin(client, "DELETE", f"/admin/categories/{old['id']}?move_to={old['id']}")
    assert same.status_code == 400

    moved = admin(client, "DELETE", f"/admin/categories/{old['id']}?move_to={new['id']}")
    assert moved.status_code == 200 and body_json(moved)["moved"] == 2
    for article in (a1, a2):
        got = body_json(admin(client, "GET", f"/admin/articles/{article['id']}"))
        assert got["category_id"] == new["id"]
    # The moved published article now lists on the new category's public page.
    assert titles(client, f"category_id={new['id']}&status=published&sort=published") == ["p"]

    uncategorize = admin(client, "DELETE", f"/admin/categories/{new['id']}?move_to=none")
    assert uncategorize.status_code == 200
    assert body_json(admin(client, "GET", f"/admin/articles/{a1['id']}"))["category_id"] is None


# -- accounts --------------------------------------------------------------------------------------


def test_every_key_starts_with_the_account(client, monkeypatch):
    """Items, index keys, the version counter and cover objects are written under the account
    (WXLESS_ACCOUNT_ID); an account never sees another's content; the API shows natural ids."""
    from chalicelib import config, wiring
    from chalicelib.store.articles import ArticleItem, CategoryItem
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.models import ConfigItem

    theirs = create(client, title="别家的文章", category_id=category(client, "理财")["id"])
    admin(client, "POST", f"/admin/articles/{theirs['id']}/publish")

    monkeypatch.setenv("WXLESS_ACCOUNT_ID", "bank2")
    wiring.reset()
    assert listing(client)["items"] == [] and titles(client, "status=published") == []
    assert body_json(admin(client, "GET", "/admin/categories"))["items"] == []
    assert admin(client, "GET", f"/admin/articles/{theirs['id']}").status_code == 404
    assert client.http.get(f"/p/articles/{theirs['id']}").status_code == 404

    cat = category(client, "理财")  # the name is taken in the other account only
    ours = create(client, title="本行文章", category_id=cat["id"], status="published")
    png = base64.b64encode(PNG).decode()
    got = body_json(admin(client, "PUT", f"/admin/articles/{ours['id']}/cover", {"data": png}))
    assert got["id"] == ours["id"] and got["cover_key"].startswith(f"articles/{ours['id']}/")
    assert titles(client) == ["本行文章"]  # the index
    assert titles(client, "status=published&sort=published") == ["本行文章"]  # the GSI
    assert titles(client, f"category_id={cat['id']}&status=published&sort=published") == [
        "本行文章"
    ]

    item = ArticleItem.get(f"bank2#article#{ours['id']}")
    assert item.pub_status == "bank2#published"
    assert item.pub_category == f"bank2#category#{cat['id']}"
    assert CategoryItem.get(f"bank2#category#{cat['id']}").name == "理财"
    assert ConfigItem.get("bank2#articles#version").version >= 3
    listed = aws_client("s3").list_objects_v2(Bucket=config.media_bucket())["Contents"]
    assert [o["Key"] for o in listed] == ["bank2/" + got["cover_key"]]


# -- news replies built from articles -----------------------------------------------------------


def _news(client, text: str, **settings) -> dict | None:
    refresh_rules()
    from chalicelib import wiring

    wiring.reset()  # the published snapshot re-reads at once (normally: within ~2 s)
    response = post_xml(client, wxsim.text(text, openid="o_cms"))
    if response.body == b"success":
        return None
    return wxsim.parse(response.body.decode())


def test_rule_reply_by_article_id_follows_the_article(client, monkeypatch):
    monkeypatch.setenv("WXLESS_PUBLIC_BASE_URL", "https://wx.bank.example")
    a = create(client, title="信用卡还款指南", digest="三种还款方式", status="published")
    draft = create(client, title="草稿")
    rule = {
        "name": "还款",
        "match": "contains",
        "keywords": ["还款"],
        "reply": {"type": "news", "article_ids": [draft["id"], a["id"]]},
    }
    made = make_rule(client, rule)
    assert made["reply"] == {"type": "news", "article_ids": [draft["id"], a["id"]]}

    reply = _news(client, "怎么还款")
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"
    assert reply["Articles"][0]["Title"] == "信用卡还款指南"  # the draft is skipped
    assert reply["Articles"][0]["Description"] == "三种还款方式"
    assert reply["Articles"][0]["Url"] == f"https://wx.bank.example/p/articles/{a['id']}"

    admin(client, "PUT", f"/admin/articles/{a['id']}", {"title": "还款指南（新版）"})
    admin(
        client, "PUT", f"/admin/articles/{a['id']}/cover", {"data": base64.b64encode(PNG).decode()}
    )
    reply = _news(client, "还款")
    assert reply["Articles"][0]["Title"] == "还款指南（新版）"
    assert reply["Articles"][0]["PicUrl"] == f"https://wx.bank.example/p/articles/{a['id']}/cover"

    admin(client, "POST", f"/admin/articles/{a['id']}/unpublish")
    assert _news(client, "还款") is None  # none published: no empty news reply, just success


def test_article_links_use_the_callbacks_host_without_a_configured_base(client, monkeypatch):
    # No WXLESS_PUBLIC_BASE_URL: links are absolute on the host WeChat called, even though the
    # page routes are registered lazily (their Blueprint is never registered on the app).
    monkeypatch.delenv("WXLESS_PUBLIC_BASE_URL", raising=False)
    a = create(client, title="网点查询指南", status="published")
    rule = {"name": "网点", "match": "contains", "keywords": ["网点指南"]}
    make_rule(client, {**rule, "reply": {"type": "news", "article_ids": [a["id"]]}})
    refresh_rules()
    from chalicelib import wiring

    wiring.reset()
    response = client.http.post(
        f"/wechat?{wxsim.qs(wxsim.signed_query())}",
        headers={"Content-Type": "text/xml", "Host": "wx.callback.example"},
        body=wxsim.text("网点指南", openid="o_cms").encode(),
    )
    reply = wxsim.parse(response.body.decode())
    assert reply["Articles"][0]["Url"] == f"http://wx.callback.example/p/articles/{a['id']}"


def test_subscribe_reply_by_article_ids_carries_up_to_eight(client):
    ids = [create(client, title=f"欢迎{i}", status="published")["id"] for i in range(8)]
    put = admin(client, "PUT", "/admin/replies/subscribe", {"type": "news", "article_ids": ids})
    assert put.status_code in (200, 204), put.body
    refresh_rules()
    from chalicelib import wiring

    wiring.reset()
    response = post_xml(client, wxsim.event("subscribe", openid="o_new"))
    reply = wxsim.parse(response.body.decode())
    assert reply["ArticleCount"] == "8"
    assert [item["Title"] for item in reply["Articles"]] == [f"欢迎{i}" for i in range(8)]


def test_unknown_or_malformed_article_ids_are_refused(client):
    rule = {"name": "x", "match": "exact", "keywords": ["x"]}
    for reply, needle in [
        ({"type": "news", "article_ids": ["ghost"]}, "unknown article"),
        ({"type": "news", "article_ids": []}, "article_ids"),
        ({"type": "news", "article_ids": ["a b"]}, "article_ids"),
        ({"type": "news", "article_ids": ["a"], "articles": [{"title": "t"}]}, "not both"),
    ]:
        response = admin(client, "POST", "/admin/rules", {**rule, "reply": reply})
        assert response.status_code == 400 and needle in body_json(response)["error"], reply
    special = admin(client, "PUT", "/admin/replies/default", {"type": "news", "article_ids": ["x"]})
    assert special.status_code == 400


# -- cross-origin use of the admin API -----------------------------------------------------------


def _get(client, origin: str | None, host: str = "console.bank.example", method: str = "GET"):
    headers = {"Authorization": f"Bearer {wxsim.ADMIN}", "Host": host}
    if origin:
        headers["Origin"] = origin
    return client.http.request(method, "/admin/categories", headers=headers, body=b"")


def test_admin_api_refuses_foreign_origins_unless_configured(client, monkeypatch):
    assert _get(client, None).status_code == 200  # curl, scripts
    assert _get(client, "https://console.bank.example").status_code == 200  # same origin
    foreign = _get(client, "https://evil.example")
    assert foreign.status_code == 403 and "WXLESS_ALLOWED_ORIGINS" in body_json(foreign)["error"]
    assert "access-control-allow-origin" not in {k.lower() for k in foreign.headers}
    assert _get(client, "null").status_code == 403

    monkeypatch.setenv("WXLESS_ALLOWED_ORIGINS", "https://ops.bank.example, https://x.example")
    allowed = _get(client, "https://ops.bank.example")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ops.bank.example"
    assert allowed.headers["Vary"] == "Origin"
    assert _get(client, "https://evil.example").status_code == 403


def test_preflight(client, monkeypatch):
    def preflight(origin: str):
        return client.http.request(
            "OPTIONS",
            "/admin/articles/abc",
            headers={
                "Origin": origin,
                "Host": "api.bank.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
            body=b"",
        )

    assert preflight("https://ops.bank.example").status_code == 403
    monkeypatch.setenv("WXLESS_ALLOWED_ORIGINS", "https://ops.bank.example")
    response = preflight("https://ops.bank.example")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://ops.bank.example"
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= methods
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert preflight("https://evil.example").status_code == 403


def test_every_admin_path_answers_preflight():
    from app import app

    missing = [p for p, m in app.routes.items() if p.startswith("/admin") and "OPTIONS" not in m]
    assert missing == [], "register Blueprints before add_admin_preflight(app) in app.py"


def test_openapi_describes_the_cms(client):
    doc = body_json(admin(client, "GET", "/admin/openapi.json"))
    for path in ("/admin/articles", "/admin/articles/{article_id}/cover", "/admin/categories"):
        assert path in doc["paths"]
    params = {p["name"] for p in doc["paths"]["/admin/articles"]["get"]["parameters"]}
    assert {"q", "published_from", "published_to", "cursor", "limit"} <= params
    assert json.dumps(doc, ensure_ascii=False)


def test_admin_list_counts_a_few_thousand_articles_quickly(client):
    """The index is built from one scan and searched in memory (bank scale: thousands)."""
    from chalicelib.store import articles

    now = 1_767_225_600
    with articles.ArticleItem.batch_write() as batch:
        for i in range(2000):
            batch.save(
                articles.ArticleItem(
                    articles.article_key(f"bulk{i:05d}"),
                    title=f"理财周报 第{i}期 Wealth weekly {i}",
                    status="draft",
                    created_at=now + i,
                    updated_at=now + i,
                )
            )
    articles.bump_version()
    page = listing(client, "q=welth%20weekly&limit=5")
    assert page["total"] == 2000 and len(page["items"]) == 5
    assert page["items"][0]["id"] == "bulk01999"
    assert listing(client, "q=%E7%AC%AC1999%E6%9C%9F")["total"] == 1  # 第1999期
    assert list(itertools.islice(titles(client, "limit=1"), 1)) == [
        "理财周报 第1999期 Wealth weekly 1999"
    ]


def test_a_flow_can_answer_with_articles_by_id(client):
    article = create(client, title="开户所需材料", status="published")
    flow = {
        "name": "开户向导",
        "entry": {"keywords": ["开户"]},
        "nodes": [{"id": "start", "prompt": {"type": "news", "article_ids": [article["id"]]}}],
    }
    ghost = {
        **flow,
        "nodes": [{"id": "start", "prompt": {"type": "news", "article_ids": ["nope"]}}],
    }
    refused = admin(client, "POST", "/admin/flows", ghost)
    assert refused.status_code == 400 and "unknown article" in body_json(refused)["error"]
    assert admin(client, "POST", "/admin/flows", flow).status_code == 201
    reply = _news(client, "开户")
    assert reply["MsgType"] == "news" and reply["Articles"][0]["Title"] == "开户所需材料"


def test_a_customer_service_message_can_carry_an_article_by_id(client, fake_wechat, monkeypatch):
    monkeypatch.setenv("WXLESS_PUBLIC_BASE_URL", "https://wx.bank.example")
    article = create(client, title="理财周报", digest="本周要点", status="published")
    from chalicelib import wiring

    wiring.reset()
    follower_writes(client, "o_1")
    message = {"type": "news", "article_ids": [article["id"]]}
    response = admin(
        client, "POST", "/admin/messages/custom", {"openid": "o_1", "message": message}
    )
    assert response.status_code == 200, response.body
    (delivered,) = fake_wechat.custom_messages
    sent = delivered["news"]["articles"][0]
    assert sent["title"] == "理财周报" and sent["description"] == "本周要点"
    assert sent["url"] == f"https://wx.bank.example/p/articles/{article['id']}"
    admin(client, "POST", f"/admin/articles/{article['id']}/unpublish")
    wiring.reset()
    response = admin(
        client, "POST", "/admin/messages/custom", {"openid": "o_1", "message": message}
    )
    assert response.status_code == 400 and "published" in body_json(response)["error"]

"""Security properties the other test files do not already pin down (RELIABILITY.md lists where
each one is proved):

- logs: a scripted run through every path that logs (callback, flows, storage faults and the
  replay, admin auth failures and faults, token refresh failures, 40001 recovery, media and
  campaign faults, a refused connection) never writes an openid, a follower's words, an
  access_token / jsapi_ticket, the AES key, the AppSecret, the callback token or the admin
  token, at any level the app or its libraries log at;
- the admin token is compared in constant time, whatever is presented;
- public routes (article and category pages, covers, the console's files) serve nothing from
  the admin side: drafts, rules, media, campaigns, flows, followers or messages;
- a known evil regex is refused as a flow option too, not only in rules, and is bounded at
  match time.
"""

from __future__ import annotations

import logging
import time

import pytest

from chalicelib.wechat.api import StaticTokenProvider, TransportError, WeChatClient
from infra.seed_flows import DEMO_FLOW
from tests import wxsim
from tests.faults import injected
from tests.functional.helpers import (
    admin,
    body_json,
    make_rule,
    post_xml,
    refresh_rules,
    text_rule,
)
from tests.functional.test_media import PNG, upload

STABLE = "/cgi-bin/stable_token"
FOLLOWERS = ("o_secretAlice_0001", "o_secretBob_0002", "o_secretCarol_003")
WORDS = ("我的卡号6222020200112233", "密码是778899怎么办", "住在天河路385号")


class Capture(logging.Handler):
    """Every record, formatted as a log shipper would (message, then any traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    """The app's loggers at DEBUG, every library at INFO (Lambda runs at WARNING or INFO),
    urllib3's connection pool at DEBUG (it prints request URLs). Chalice's app logger `wxless`
    does not propagate to the root (it writes to stdout itself), so it gets the handler too."""
    capture = Capture()
    loud = ("wxless", "chalicelib", "urllib3.connectionpool")
    levels = {name: logging.getLogger(name).level for name in ("", *loud)}
    hooks = (logging.getLogger(), logging.getLogger("wxless"))
    for logger in hooks:
        logger.addHandler(capture)
    logging.getLogger().setLevel(logging.INFO)
    for name in loud:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for logger in hooks:
            logger.removeHandler(capture)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _say(client, openid: str, words: str, *, aes: bool = False) -> None:
    xml = wxsim.text(words, openid=openid)
    if aes:
        query, body = wxsim.Crypto().envelope(xml)
        response = post_xml(client, body, query)
    else:
        response = post_xml(client, xml)
    assert response.status_code == 200


def _scripted_run(client, fake_wechat, capture: Capture) -> list[str]:
    """Everything that logs, once; returns the secrets it handled."""
    from chalicelib.campaigns import admin as services
    from chalicelib.jobs import campaigns, token_refresh
    from chalicelib.jobs.replay import replay
    from chalicelib.store import tokens

    # Token refresh: WeChat busy (failure logged), then a success; later a 40001 recovery.
    fake_wechat.inject_error(STABLE, -1, "system error")
    assert token_refresh.run()["access"]["outcome"] == "failed"
    later = time.time() + tokens.LEASE_SECONDS + 1
    assert token_refresh.run(clock=lambda: later)["access"]["outcome"] == "refreshed"
    fake_wechat.revoke_tokens()
    assert admin(client, "GET", "/admin/tags").status_code == 200  # 40001 -> refresh -> retry

    # Admin: wrong tokens, a storage fault, a WeChat fault.
    for guess in ("guess-1", "guess-2"):
        assert admin(client, "GET", "/admin/rules", token=guess).status_code == 401
    with injected() as faults:
        faults.fail("PutItem", "InternalServerError")
        assert admin(client, "POST", "/admin/rules", text_rule("余额", "x")).status_code == 503
    fake_wechat.inject_error("/cgi-bin/media/upload", -1, "system error")
    assert upload(client, "image", PNG).status_code == 502

    # The callback: rules, a flow, plain and AES mode, events, then a storage outage + replay.
    make_rule(client, text_rule("余额", "您的余额请登录手机银行查询"))
    assert admin(client, "POST", "/admin/flows", DEMO_FLOW).status_code == 201
    refresh_rules()
    alice, bob, carol = FOLLOWERS
    _say(client, alice, WORDS[0])
    _say(client, alice, "办卡")
    _say(client, alice, "2")
    _say(client, bob, WORDS[1], aes=True)
    assert post_xml(client, wxsim.event("subscribe", "qrscene_7", openid=carol)).status_code == 200
    with injected() as faults:
        faults.fail("PutItem", "ProvisionedThroughputExceededException")
        faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException")
        _say(client, carol, WORDS[2])
        _say(client, bob, "余额")
        assert post_xml(client, wxsim.event("unsubscribe", openid=carol)).status_code == 200
    stored_failed = [line for line in capture.lines if "callback.store_failed" in line]
    assert replay(stored_failed) == {"replayed": 3, "already_logged": 0, "unreadable": 0}

    # A campaign to these followers, WeChat busy on the first send.
    token = fake_wechat.issue_token()
    wx = WeChatClient(fake_wechat.url, token_provider=StaticTokenProvider(token))
    body = {
        "name": "问候",
        "type": "mass",
        "send_at": time.time(),
        "audience": {"type": "openids", "openids": list(FOLLOWERS)},
        "content": {"type": "text", "content": "新春快乐"},
    }
    created = services.create(body, now=time.time())
    fake_wechat.inject_error("/cgi-bin/message/mass/send", -1, "system error")
    campaigns.dispatch(wx, budget=10)
    campaigns.dispatch(wx, clock=lambda: time.time() + 600, budget=10)
    assert services.detail(created["id"])["status"] == "completed"

    # A refused connection (urllib3 logs the URL it retries).
    dead = WeChatClient(f"http://127.0.0.1:{wxsim.free_port()}", timeout=0.5)
    dead.token_provider = StaticTokenProvider(token)
    with pytest.raises(TransportError):
        dead.tags.list()

    return [
        token,
        tokens.read(tokens.ACCESS).value,
        tokens.read(tokens.JSAPI).value,
        *fake_wechat._tokens,
    ]


def test_logs_never_carry_openids_words_or_secrets(client, fake_wechat, captured):
    from chalicelib import config, logsafe

    handled = _scripted_run(client, fake_wechat, captured)
    text = "\n".join(captured.lines)
    # The run did go through every path that logs.
    for marker in (
        "token_refresh.failed",
        "tokens.refreshed",
        "admin.bad_token",
        "admin.store_unavailable",
        "admin.wechat_error",
        "callback.store_failed",
        "campaigns.completed",
        "Retrying",
    ):
        assert marker in text, marker
    # A follower is named by a keyed hash only, the same in every line.
    assert logsafe.follower(FOLLOWERS[2]) in text
    secrets = {
        *FOLLOWERS,
        *WORDS,
        *(s for s in handled if s),
        wxsim.AES_KEY,
        wxsim.ADMIN,
        wxsim.TOKEN,
        config.get(config.WECHAT_APP_SECRET),
    }
    leaks = sorted(s for s in secrets if s in text)
    assert leaks == [], [line for line in captured.lines if any(s in line for s in leaks)][:5]


def test_the_replay_line_opens_only_with_this_deployments_key(client, caplog, monkeypatch):
    from chalicelib import logsafe

    with injected() as faults, caplog.at_level(logging.ERROR, logger="wxless.callback"):
        faults.fail("PutItem", "ProvisionedThroughputExceededException")
        faults.fail("TransactWriteItems", "ProvisionedThroughputExceededException")
        _say(client, FOLLOWERS[0], WORDS[0])
    (line,) = [r.getMessage() for r in caplog.records if "store_failed" in r.getMessage()]
    sealed = line.split('"sealed": "', 1)[1].split('"', 1)[0]
    assert logsafe.unseal(sealed)["raw"]["Content"] == WORDS[0]
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(ValueError):
        logsafe.unseal(tampered)
    monkeypatch.setenv("WECHAT_TOKEN", "another-deployment")
    with pytest.raises(ValueError):
        logsafe.unseal(sealed)
    from chalicelib.jobs.replay import replay

    assert replay([line]) == {"replayed": 0, "already_logged": 0, "unreadable": 1}


# --------------------------------------------------------------------------- admin token


@pytest.mark.parametrize(
    "presented", [wxsim.ADMIN, "wrong", wxsim.ADMIN[:-1], wxsim.ADMIN + "x", "", "é" * 20]
)
def test_admin_token_is_compared_in_constant_time(client, monkeypatch, presented):
    """Every presented token reaches hmac.compare_digest as bytes (no early-exit ==), so the
    answer time does not reveal how much of a guess was right."""
    import hmac

    from chalicelib.access import credentials  # where a bearer credential is resolved

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", recording)
    response = admin(client, "GET", "/admin/rules", token=presented or None)
    if not presented:
        assert response.status_code == 401 and calls == []  # nothing to compare
        return
    assert calls == [(presented.encode(), wxsim.ADMIN.encode())]
    assert response.status_code == (200 if presented == wxsim.ADMIN else 401)


# --------------------------------------------------------------------------- public routes


def test_public_routes_serve_nothing_from_the_admin_side(client, fake_wechat):
    """Admin data of every kind exists; each public route, given every id there is (and a few
    path tricks), answers 404 or a public page that shows none of it."""
    draft = body_json(
        admin(
            client, "POST", "/admin/articles", {"title": "未发布草稿XYZ", "body_html": "<p>d</p>"}
        )
    )
    category = body_json(admin(client, "POST", "/admin/categories", {"name": "内部分类QQQ"}))
    rule = make_rule(client, text_rule("内部关键词", "内部规则回复RRR"))
    flow = body_json(admin(client, "POST", "/admin/flows", DEMO_FLOW))
    media = body_json(upload(client, "image", PNG))
    point = body_json(
        admin(client, "POST", "/admin/points", {"name": "内部网点PPP", "lat": 23.1, "lng": 113.3})
    )
    post_xml(client, wxsim.text("私密消息MMM", openid="o_private_follower"))
    ids = [draft["id"], category["id"], rule["id"], flow["id"], media["id"], point["id"]]
    secret_bits = [
        "未发布草稿XYZ",
        "内部规则回复RRR",
        "内部网点PPP",
        "私密消息MMM",
        "o_private_follower",
    ]

    from app import app

    public = [p for p in app.routes if not p.startswith("/admin") and p != "/wechat"]
    assert public  # /console, /console/static/{name}, /health, /p/...
    tried = 0
    for path in public:
        tricks = ["..%2Fadmin%2Frules", "%2E%2E", "rules", "*"]
        candidates = [*ids, *tricks] if "{" in path else [""]
        for value in candidates:
            url = path.split("{", 1)[0] + value if "{" in path else path
            if path.endswith("/cover"):
                url = path.replace("{article_id}", value)
            response = client.http.get(url)
            tried += 1
            body = response.body.decode("utf-8", "replace") if response.body else ""
            assert not any(bit in body for bit in secret_bits), (url, response.status_code)
            if "{article_id}" in path:
                assert response.status_code == 404, url  # a draft or a non-article id
    assert tried > 20
    # The category page of an existing (empty) category is public, and shows no drafts.
    page = client.http.get(f"/p/categories/{category['id']}")
    assert page.status_code in (200, 404) and "未发布草稿XYZ" not in page.body.decode()


# --------------------------------------------------------------------------- evil regex


def test_a_known_evil_regex_is_refused_as_a_flow_option(client):
    flow = {
        **DEMO_FLOW,
        "nodes": [
            {**node, "options": [{**node["options"][0], "pattern": "(a+)+$"}, *node["options"][1:]]}
            if node.get("options")
            else node
            for node in DEMO_FLOW["nodes"]
        ],
    }
    response = admin(client, "POST", "/admin/flows", flow)
    assert response.status_code == 400, response.body
    assert "backtracking" in body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/flows"))["items"] == []


def test_operator_warnings_are_not_dropped_by_chalices_default_level():
    """Chalice sets its app logger to ERROR outside debug mode; app.py raises it to INFO so the
    lines an operator needs (guessed admin tokens, token refreshes, campaign outcomes) ship."""
    from app import app

    assert app.log.name == "wxless"
    for name in ("wxless.admin", "wxless.jobs.token_refresh", "wxless.tokens", "wxless.callback"):
        assert logging.getLogger(name).getEffectiveLevel() <= logging.INFO, name

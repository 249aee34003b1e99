"""Contract audit (sections 5 and 7), round F: what a careful outside tester found over HTTP.

Section 5: off-topic chatter that shares an everyday word with a banking entry ("我忘了带伞",
"快递什么时候到") must get the default reply, not the entry's answer.
Section 7: OAuth's callback redirects to a `next` holding Chinese (a page's own address,
percent-decoded on the way in) with a Location a browser and an HTTP server can carry."""

from __future__ import annotations

import pytest

from tests.functional.helpers import messages
from tests.functional.test_faq import DEFAULT, say, setup_faq
from tests.functional.test_pages_auth import HOST, _callback, _start

PASSWORD = {
    "question": "银行卡密码忘了怎么办",
    "alternatives": ["重置密码", "忘记取款密码"],
    "answer": {"type": "text", "content": "忘记密码：请本人携带身份证到网点重置。"},
}
TRANSFER_TIME = {
    "question": "转账多久到账",
    "alternatives": ["转账没到账怎么办"],
    "answer": {"type": "text", "content": "本行转账实时到账；跨行一般实时。"},
}


@pytest.mark.parametrize(
    "chatter",
    ["我忘了带伞", "忘了", "我忘了今天是几号", "快递什么时候到", "我的快递没收到", "外卖多久能到"],
)
def test_everyday_chatter_is_not_answered_from_the_knowledge_base(client, chatter):
    setup_faq(client, PASSWORD, TRANSFER_TIME)
    assert say(client, chatter) == DEFAULT["content"]
    assert messages(client, "o_faq")[0]["outcome"] == "default"


def test_the_same_entries_still_answer_their_own_questions(client):
    _password, transfer = setup_faq(client, PASSWORD, TRANSFER_TIME)
    assert say(client, "取款密码忘记了咋整") == PASSWORD["answer"]["content"]
    assert say(client, "汇款多久能到账", openid="o_2") == TRANSFER_TIME["answer"]["content"]
    assert messages(client, "o_2")[0]["rule_id"] == transfer["id"]


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("/p/文章?from=微信", "/p/%E6%96%87%E7%AB%A0?from=%E5%BE%AE%E4%BF%A1"),
        ("/p/articles/42?q=%E4%BD%A0#分享", "/p/articles/42?q=%E4%BD%A0#%E5%88%86%E4%BA%AB"),
    ],
)
def test_oauth_sends_the_browser_back_to_a_next_with_chinese(
    client, fake_wechat, next_path, location
):
    _location, query = _start(client, next_path)
    code = fake_wechat.oauth_code("oREADER_CN")
    response = _callback(client, query["redirect_uri"], code=code, state=query["state"])
    assert response.status_code == 302, response.body
    assert response.headers["Location"] == f"http://{HOST}{location}"
    assert response.headers["Set-Cookie"].startswith("wxf=oREADER_CN.")
    # A follower who declines reaches the same page.
    _location, query = _start(client, next_path, scope="snsapi_userinfo")
    declined = _callback(client, query["redirect_uri"], state=query["state"])
    assert declined.headers["Location"] == f"http://{HOST}{location}"

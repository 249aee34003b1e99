"""Contract audit (sections 5 and 7), round F: what a careful outside tester found over HTTP.

Section 5: off-topic chatter that shares an everyday word with a banking entry ("我忘了带伞",
"快递什么时候到") must get the default reply, not the entry's answer."""

from __future__ import annotations

import pytest

from tests.functional.helpers import messages
from tests.functional.test_faq import DEFAULT, say, setup_faq

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

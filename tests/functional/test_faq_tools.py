"""Knowledge-base tools over HTTP: CSV / XLSX import and export, the unanswered questions
grouped and turned into an entry, and each entry's quality summed from the stream."""

from __future__ import annotations

import base64
import csv
import io

from tests import stream
from tests.functional.helpers import admin, body_json
from tests.functional.test_faq import CREDIT_LOST, DEFAULT, LOST, OPEN, create, say, setup_faq

CSV = (
    "问题,相似问法,答案,分类\n"
    "银行卡丢了怎么挂失,借记卡挂失|储蓄卡丢失怎么办,拨打 95588 挂失,借记卡\n"
    '怎么办理借记卡,"办卡需要什么材料\n开户",携带身份证到网点,\n'
)


def test_csv_import_then_answers_and_exports_back(client):
    response = admin(client, "POST", "/admin/faq/import", {"csv": CSV})
    assert response.status_code == 200, response.body
    assert body_json(response) == {"imported": 2, "deleted": 0}
    entries = body_json(admin(client, "GET", "/admin/faq"))["items"]
    assert [e["question"] for e in entries] == ["银行卡丢了怎么挂失", "怎么办理借记卡"]
    assert entries[1]["alternatives"] == ["办卡需要什么材料", "开户"]
    assert entries[0]["answer"] == {"type": "text", "content": "拨打 95588 挂失"}
    assert entries[0]["category"] == "借记卡"
    admin(client, "PUT", "/admin/replies/default", DEFAULT)
    from tests.functional.test_faq import refresh_faq

    refresh_faq()
    assert say(client, "我想办卡") == "携带身份证到网点"

    exported = body_json(admin(client, "GET", "/admin/faq/export?format=csv"))
    assert exported["entries"] == 2 and exported["filename"].endswith(".csv")
    text = base64.b64decode(exported["base64"]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["question", "alternatives", "answer", "category"]
    assert rows[2] == ["怎么办理借记卡", "办卡需要什么材料|开户", "携带身份证到网点", ""]
    # The export imports back, replacing what is there.
    response = admin(client, "POST", "/admin/faq/import", {"csv": text, "replace": True})
    assert body_json(response) == {"imported": 2, "deleted": 2}
    again = body_json(admin(client, "GET", "/admin/faq"))["items"]
    strip = [{k: e[k] for k in ("question", "alternatives", "answer", "category")} for e in again]
    assert strip == [{k: e[k] for k in strip[0]} for e in entries]


def test_xlsx_import_and_export(client):
    from openpyxl import Workbook, load_workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["question", "alternatives", "answer", "category"])
    sheet.append(["信用卡怎么提额", "提高信用卡额度", "手机银行「额度管理」", "信用卡"])
    sheet.append(["怎么查余额", None, "首页「我的账户」", None])
    data = io.BytesIO()
    book.save(data)
    encoded = base64.b64encode(data.getvalue()).decode()
    response = admin(client, "POST", "/admin/faq/import", {"xlsx": encoded})
    assert body_json(response) == {"imported": 2, "deleted": 0}
    entries = body_json(admin(client, "GET", "/admin/faq"))["items"]
    assert entries[0]["alternatives"] == ["提高信用卡额度"] and entries[1]["category"] == ""

    exported = body_json(admin(client, "GET", "/admin/faq/export?format=xlsx"))
    sheet = load_workbook(io.BytesIO(base64.b64decode(exported["base64"]))).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[1] == ["信用卡怎么提额", "提高信用卡额度", "手机银行「额度管理」", "信用卡"]


def test_bad_imports_are_400_and_write_nothing(client):
    create(client, LOST)
    bad = [
        {},
        {"csv": "question,answer\n"},  # no rows
        {"csv": "标题,内容\n一,二\n"},  # no question / answer columns
        {"csv": "question,answer\n好问题,\n"},  # row 2: empty answer
        {"csv": "question,answer\n,答案\n"},  # row 2: empty question
        {"xlsx": "not base64!"},
        {"xlsx": base64.b64encode(b"PK not a zip").decode()},
        {"csv": "question,answer\na,b\n", "xlsx": ""},
        {"csv": "question,answer\na,b\n", "replace": "yes"},
    ]
    for body in bad:
        response = admin(client, "POST", "/admin/faq/import", body)
        assert response.status_code == 400, (body, response.body)
    message = body_json(admin(client, "POST", "/admin/faq/import", bad[3]))["error"]
    assert message.startswith("row 2:")
    assert len(body_json(admin(client, "GET", "/admin/faq"))["items"]) == 1
    assert admin(client, "GET", "/admin/faq/export?format=pdf").status_code == 400


def test_unanswered_questions_are_grouped_and_turned_into_an_entry(client):
    setup_faq(client, LOST)
    asked = {
        "信用卡怎么提额": 3,
        "信用卡额度怎么提高": 2,
        "怎么提升信用卡额度": 1,
        "大额存单起存金额": 2,
        "大额存单多少钱起存": 1,
    }
    n = 0
    for text, times in asked.items():
        for _ in range(times):
            n += 1
            assert say(client, text, openid=f"o_{n}") == DEFAULT["content"]
    stream.drain()
    response = admin(client, "GET", "/admin/faq/unanswered")
    assert response.status_code == 200
    groups = body_json(response)["items"]
    assert [g["count"] for g in groups] == [6, 3]
    assert {t["text"] for t in groups[0]["texts"]} == {
        "信用卡怎么提额",
        "信用卡额度怎么提高",
        "怎么提升信用卡额度",
    }
    top_text = {"text": "信用卡怎么提额", "sample": "信用卡怎么提额", "count": 3}
    assert groups[0]["texts"][0] == top_text

    # Two clicks: a new entry from the group (its texts as question and alternatives) ...
    top = groups[0]["texts"]
    entry = create(
        client,
        {
            "question": top[0]["sample"],
            "alternatives": [t["sample"] for t in top[1:]],
            "answer": {"type": "text", "content": "提额：手机银行「额度管理」"},
        },
    )
    # ... or attach a group to an entry.
    cd = create(client, {"question": "大额存单怎么买", "answer": {"type": "text", "content": "CD"}})
    texts = [t["sample"] for t in groups[1]["texts"]]
    response = admin(client, "POST", f"/admin/faq/{cd['id']}/alternatives", {"texts": texts})
    assert set(body_json(response)["alternatives"]) == set(texts)
    from tests.functional.test_faq import refresh_faq

    refresh_faq()
    assert say(client, "信用卡额度怎么提高", openid="o_new") == "提额：手机银行「额度管理」"
    assert say(client, "大额存单多少钱起存", openid="o_new2") == "CD"
    # Groups now covered by entries are gone from the list.
    remaining = body_json(admin(client, "GET", "/admin/faq/unanswered"))["items"]
    assert all(t["text"] not in asked for g in remaining for t in g["texts"])
    assert entry["alternatives"] == ["信用卡额度怎么提高", "怎么提升信用卡额度"]


def _stream_position() -> dict:
    return dict(stream.pump().positions)


def _redeliver_since(positions: dict) -> None:
    """Deliver every record since `positions` once more, as Lambda may after a failure."""
    from chalicelib.jobs import aggregate
    from chalicelib.store import stream as stream_store
    from chalicelib.store.messages import table_name

    arn = stream_store.stream_arn(table_name())
    (shard,) = list(stream_store.shards(arn))
    records, _ = stream_store.read_shard(arn, shard, positions.get((arn, shard)), 10_000)
    event = {"Records": records, "shardId": shard, "eventSourceARN": arn}
    assert aggregate.handle(event)["batchItemFailures"] == []


def test_quality_counts_answers_asking_again_and_asking_for_a_human(client):
    lost, credit = setup_faq(client, LOST, CREDIT_LOST)
    stream.drain()
    started = _stream_position()
    # A: answered, then thanks (fine).
    say(client, "我的储蓄卡找不到了", openid="o_a")
    say(client, "谢谢", openid="o_a")
    # B: answered, then asks again in other words (a default reply): a sign of a bad answer.
    say(client, "储蓄卡丢失怎么办", openid="o_b")
    say(client, "我刚问的你没回答清楚", openid="o_b")
    # C: answered, then wants a person; D: answered, the follow-up in a later stream batch.
    say(client, "信用卡挂失", openid="o_c")
    say(client, "转人工", openid="o_c")
    say(client, "信用卡丢了怎么办", openid="o_d")
    stream.drain()  # the answer's batch ends here: the follow-up comes in the next one
    say(client, "还是不明白", openid="o_d")
    stream.drain()

    rows = {r["id"]: r for r in body_json(admin(client, "GET", "/admin/faq/quality"))["items"]}
    assert rows[lost["id"]] == {
        "id": lost["id"],
        "question": LOST["question"],
        "enabled": True,
        "answered": 2,
        "asked_again": 1,
        "human": 0,
        "bad_rate": 0.5,
    }
    assert rows[credit["id"]]["answered"] == 2
    assert rows[credit["id"]]["asked_again"] == 1 and rows[credit["id"]]["human"] == 1
    assert rows[credit["id"]]["bad_rate"] == 1.0
    # Every record delivered once more (Lambda's retry): nothing is counted twice.
    _redeliver_since(started)
    again = {r["id"]: r for r in body_json(admin(client, "GET", "/admin/faq/quality"))["items"]}
    assert again == rows


def test_open_opening_is_counted_for_its_entry(client):
    (opened,) = setup_faq(client, OPEN)
    say(client, "我想办卡", openid="o_x")
    stream.drain()
    rows = body_json(admin(client, "GET", "/admin/faq/quality"))["items"]
    assert rows == [
        {
            "id": opened["id"],
            "question": OPEN["question"],
            "enabled": True,
            "answered": 1,
            "asked_again": 0,
            "human": 0,
            "bad_rate": 0.0,
        }
    ]

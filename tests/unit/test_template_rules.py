"""WeChat's template rules since 2023 (chalicelib.wechat.templates): fields parsed from a
template's content, each value checked against its field type, colour and first/remark refused
where WeChat no longer shows them."""

from __future__ import annotations

import re

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.wechat.templates import (
    check_data,
    check_value,
    field_of,
    is_category,
    parse_fields,
    template_view,
)

CARD = (
    "交易卡号：{{character_string1.DATA}}\n交易类型：{{thing2.DATA}}\n"
    "交易金额：{{amount3.DATA}}\n交易时间：{{time4.DATA}}"
)
INDUSTRY = (
    "{{first.DATA}}\n交易时间：{{keyword1.DATA}}\n交易金额：{{keyword2.DATA}}\n{{remark.DATA}}"
)


def test_fields_come_from_the_content_in_order_with_type_and_limit():
    fields = [f.to_dict() for f in parse_fields(CARD)]
    assert fields == [
        {"key": "character_string1", "type": "character_string", "max": 32},
        {"key": "thing2", "type": "thing", "max": 20},
        {"key": "amount3", "type": "amount", "max": None},
        {"key": "time4", "type": "time", "max": None},
    ]
    assert is_category(parse_fields(CARD))
    assert not is_category(parse_fields(INDUSTRY))
    assert [f.type for f in parse_fields(INDUSTRY)] == ["first", "keyword", "keyword", "remark"]
    # a field used twice is one field; spaces inside the braces are WeChat's too
    assert [f.key for f in parse_fields("{{thing1.DATA}} {{ thing1.DATA }}")] == ["thing1"]


@pytest.mark.parametrize(
    ("key", "kind", "limit"),
    [
        ("thing12", "thing", 20),
        ("phone_number3", "phone_number", 17),
        ("car_number1", "car_number", 8),
        ("phrase9", "phrase", 5),
        ("name2", "name", 20),
        ("keyword4", "keyword", 20),
        ("something1", "text", None),
    ],
)
def test_the_type_is_the_key_without_its_number(key, kind, limit):
    field = field_of(key)
    assert (field.type, field.max) == (kind, limit)


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("thing1", "信用卡消费" * 4, "信用卡消费" * 4 + "!"),
        ("number1", "-12.50", "12,50"),
        ("letter1", "ABCdef", "ABC1"),
        ("symbol1", "+-*/", "abc"),
        ("character_string1", "6222****1234", "卡号1234"),
        ("time1", "2019年10月1日 15:01", "下午三点"),
        ("time1", "15:01~16:30", "25:00"),
        ("date1", "2019年10月1日", "明天"),
        ("date1", "2024-01-02~2024-01-05", "2024-01-02 到期"),
        ("amount1", "¥1280.00", "1,280.00"),
        ("amount1", "100元", "一百元"),
        ("phone_number1", "+86-0766-66888866", "95588 转人工"),
        ("car_number1", "粤A8Z888挂", "粤A-8Z888"),
        ("name1", "张三丰", "张" * 11),
        ("name1", "Zhang San", "Agent 007"),
        ("phrase1", "配送中", "配送中的包裹"),
        ("keyword1", "2025-01-02", "x" * 21),
    ],
)
def test_values_are_checked_against_their_type(key, good, bad):
    field = field_of(key)
    assert check_value(field, good) is None
    assert check_value(field, bad) is not None


def test_no_field_takes_a_line_break():
    assert "line breaks" in check_value(field_of("thing1"), "第一行\n第二行")
    assert "line breaks" in check_value(field_of("first"), "您好\r\n")


def test_a_partial_value_is_judged_by_its_fixed_part():
    thing = field_of("thing1")
    assert check_value(thing, "尊敬的客户", partial=True) is None
    assert check_value(thing, "尊" * 21, partial=True) is not None  # already too long
    # the shape waits for the whole value; the characters do not
    assert check_value(field_of("amount1"), "¥", partial=True) is None
    assert check_value(field_of("phrase1"), "ok", partial=True) is not None


def _view(content: str) -> dict:
    return template_view({"template_id": "t1", "title": "交易提醒", "content": content})


def test_check_data_names_the_field_at_fault():
    with pytest.raises(InvalidInput) as caught:
        check_data(_view(CARD), {"thing2": "超" * 21}, where="template.data")
    assert "template.data.thing2" in str(caught.value)
    assert caught.value.extra["field"] == "thing2"
    check_data(_view(CARD), {"thing2": "消费", "amount3": {"value": "¥12.00"}})


@pytest.mark.parametrize(
    ("content", "data", "needle"),
    [
        (CARD, {"thing2": {"value": "消费", "color": "#173177"}}, "dropped them in 2023"),
        (INDUSTRY, {"keyword1": {"value": "x", "color": "#173177"}}, "dropped them in 2023"),
        (CARD, {"first": "您好"}, "stopped showing first and remark"),
        (CARD, {"remark": "谢谢"}, "stopped showing first and remark"),
        (CARD, {"keyword1": "x"}, "has no field 'keyword1'"),
        (CARD, {"thing2": {"text": "x"}}, "unknown field(s) text"),
        (CARD, {"thing2": 12}, "text"),
        (CARD, {}, "an object"),
    ],
)
def test_check_data_refusals(content, data, needle):
    with pytest.raises(InvalidInput, match=re.escape(needle)):
        check_data(_view(content), data)


def test_an_industry_template_still_takes_first_and_remark():
    check_data(_view(INDUSTRY), {"first": "尊敬的客户，您好：" * 3, "keyword1": "2025-01-02"})


def test_template_view_shape():
    view = template_view(
        {"template_id": "t9", "title": "还款提醒", "content": "{{amount1.DATA}}", "example": "e"}
    )
    assert view == {
        "template_id": "t9",
        "title": "还款提醒",
        "content": "{{amount1.DATA}}",
        "fields": [{"key": "amount1", "type": "amount", "max": None}],
        "category": True,
        "example": "e",
    }

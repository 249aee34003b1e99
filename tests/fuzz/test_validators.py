"""Property tests over every admin JSON validator (rules have theirs in test_properties.py):
any JSON body, and any mutation of a valid one (a field replaced by arbitrary JSON, deleted, or
an unknown one added), yields a cleaned value or a ValueError, which the admin API answers 400.
Never another exception, which would be a 500."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.campaigns.spec import validate_campaign
from chalicelib.cms.validate import validate_article, validate_category
from chalicelib.engine.flow_definitions import validate_flow
from chalicelib.engine.geo import validate_point, validate_settings
from chalicelib.store.followers import check_local_fields
from chalicelib.wechat.api.menu import validate_menu
from infra.seed_flows import DEMO_FLOW
from tests.functional.test_campaigns import mass_body, template_body

NOW = 1_800_000_000.0

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

CLICK = {"type": "click", "name": "余额", "key": "K"}
# name -> (validator, a valid body to mutate)
VALIDATORS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "flow": (validate_flow, DEMO_FLOW),
    "point": (validate_point, {"name": "天河支行", "lat": 23.13, "lng": 113.32, "tags": ["atm"]}),
    "point-settings": (validate_settings, {"count": 3}),
    "article": (
        validate_article,
        {"title": "还款", "body_html": "<p>x</p>", "digest": "d", "author": "a"},
    ),
    "category": (validate_category, {"name": "理财", "position": 1}),
    "campaign-mass": (lambda b: validate_campaign(b, NOW), mass_body({"type": "all"}, NOW + 60)),
    "campaign-template": (
        lambda b: validate_campaign(b, NOW),
        template_body({"type": "tag", "tag_id": 2}, NOW + 60),
    ),
    "menu": (validate_menu, {"button": [CLICK, {"name": "更多", "sub_button": [CLICK]}]}),
    "follower-fields": (check_local_fields, {"remark": "VIP", "tags": ["a"]}),
}


def _containers(node: Any) -> list[Any]:
    """Every dict and list inside `node`, `node` included."""
    if isinstance(node, dict):
        return [node, *(c for value in node.values() for c in _containers(value))]
    if isinstance(node, list):
        return [node, *(c for value in node for c in _containers(value))]
    return []


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """`seed` with one to three random edits somewhere inside it."""
    body = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        containers = _containers(body)
        if not containers:
            return draw(json_values)
        target = draw(st.sampled_from(containers))
        if isinstance(target, dict):
            key = draw(st.sampled_from(sorted(target)) | st.text(max_size=8)) if target else "x"
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "delete":
                target.pop(key, None)
            else:
                target[key] = draw(json_values)
        elif target:
            target[draw(st.integers(0, len(target) - 1))] = draw(json_values)
        else:
            target.append(draw(json_values))
    return body


def _check(name: str, body: Any) -> None:
    validate, _ = VALIDATORS[name]
    if name == "follower-fields" and not isinstance(body, dict):
        return  # the handler hands it a JSON object only (read_object)
    with contextlib.suppress(ValueError):  # a ValueError is the 400
        validate(body)


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_a_valid_body_is_cleaned_or_a_value_error(name, data):
    _, seed = VALIDATORS[name]
    _check(name, data.draw(mutated(seed)))


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=100, deadline=None)
@given(body=json_values)
def test_any_json_is_cleaned_or_a_value_error(name, body):
    _check(name, body)


def test_the_seeds_are_valid():
    """The mutations start from bodies the validators accept (else they would test little)."""
    for name, (validate, seed) in VALIDATORS.items():
        assert validate(copy.deepcopy(seed)) is not None or name == "follower-fields", name
    assert time.time() < NOW  # the campaign seeds are in the future

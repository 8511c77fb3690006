"""Label selectors (text and dict forms) and field selectors."""

from __future__ import annotations

import pytest

from schemas.errors import BadRequest
from schemas.labels import (
    Selector,
    matches_fields,
    parse_field_selector,
    parse_selector,
    selector_from_dict,
    selector_from_map,
)

LABELS = {"app": "web", "tier": "front", "env": "prod"}

# (selector, labels, matches)
SELECTOR_TABLE = [
    ("", LABELS, True),
    ("app=web", LABELS, True),
    ("app==web", LABELS, True),
    ("app=db", LABELS, False),
    ("app!=db", LABELS, True),
    ("app!=web", LABELS, False),
    ("missing!=x", LABELS, True),
    ("app=web,tier=front", LABELS, True),
    ("app=web,tier=back", LABELS, False),
    ("env in (prod,staging)", LABELS, True),
    ("env in (dev)", LABELS, False),
    ("env notin (dev,staging)", LABELS, True),
    ("env notin (prod)", LABELS, False),
    ("missing notin (a)", LABELS, True),
    ("missing in (a)", LABELS, False),
    ("app", LABELS, True),
    ("missing", LABELS, False),
    ("!missing", LABELS, True),
    ("!app", LABELS, False),
    ("app=web, env in (prod, qa), !canary", LABELS, True),
    ("example.com/team=a", {"example.com/team": "a"}, True),
    ("app=", {"app": ""}, True),
    ("app=", LABELS, False),
    ("app=web", {}, False),
]


@pytest.mark.parametrize(("text", "labels", "expected"), SELECTOR_TABLE)
def test_parse_selector(text: str, labels: dict, expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("a b=c", "a b"),
        ("app=web,", "empty requirement"),
        ("app in (a,b", "unbalanced"),
        ("app in ()", "app in ()"),
        ("-bad=x", "-bad"),
        ("app=" + "x" * 64, "x" * 64),
        ("app=(x)", "(x)"),
    ],
)
def test_parse_selector_errors_name_the_token(text: str, token: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_selector(text)
    assert token in info.value.message


# (label selector dict, labels, matches)
DICT_TABLE = [
    (None, LABELS, False),
    ({}, LABELS, True),
    ({"matchLabels": {"app": "web"}}, LABELS, True),
    ({"matchLabels": {"app": "db"}}, LABELS, False),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}, LABELS, True),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, LABELS, False),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, LABELS, True),
    ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, LABELS, False),
    (
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}],
        },
        LABELS,
        False,
    ),
]


@pytest.mark.parametrize(("sel", "labels", "expected"), DICT_TABLE)
def test_selector_from_dict(sel: dict | None, labels: dict, expected: bool) -> None:
    assert selector_from_dict(sel).matches(labels) is expected


def test_selector_from_dict_rejects_bad_operator() -> None:
    with pytest.raises(BadRequest, match="Near"):
        selector_from_dict({"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]})


def test_empty_and_str() -> None:
    assert Selector.everything().empty
    assert parse_selector("").empty
    assert not parse_selector("a=b").empty
    assert not selector_from_dict(None).empty
    assert str(parse_selector("b=2,a in (y,x),!c")) == "a in (x,y),b=2,!c"
    assert parse_selector(str(parse_selector("x notin (1,2),y"))) == parse_selector("x notin (1,2),y")
    assert selector_from_map({"app": "web"}).matches(LABELS)
    assert selector_from_map({}).empty


POD = {
    "metadata": {"name": "p1", "namespace": "default"},
    "spec": {"nodeName": "n1", "hostNetwork": True},
    "status": {"phase": "Running"},
}

# (field selector, object, matches)
FIELD_TABLE = [
    ("", POD, True),
    ("metadata.name=p1", POD, True),
    ("metadata.name==p1", POD, True),
    ("metadata.name!=p1", POD, False),
    ("metadata.namespace=default,spec.nodeName=n1", POD, True),
    ("spec.nodeName=n1,status.phase!=Running", POD, False),
    ("spec.nodeName=", {"spec": {}}, True),
    ("spec.nodeName!=", POD, True),
    ("status.phase!=Running", {"metadata": {"name": "x"}}, True),
    ("spec.hostNetwork=true", POD, True),
    ("spec.nodeName=n2", POD, False),
]


@pytest.mark.parametrize(("text", "obj", "expected"), FIELD_TABLE)
def test_field_selectors(text: str, obj: dict, expected: bool) -> None:
    assert matches_fields(obj, parse_field_selector(text)) is expected


@pytest.mark.parametrize("text", ["spec.nodeName", "spec.nodeName~n1", "=n1"])
def test_field_selector_errors(text: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_field_selector(text)
    assert text in info.value.message

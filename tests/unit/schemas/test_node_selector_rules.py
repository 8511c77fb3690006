"""One node-selector rule set, held by every place that evaluates a NodeSelector.

The rows are Kubernetes' (``k8s.io/component-helpers/scheduling/corev1/nodeaffinity`` and
``apimachinery/pkg/labels``): Gt/Lt need exactly one value, both it and the node's label value must
parse as ``strconv.ParseInt(s, 10, 64)`` does, else the requirement (and so its term) matches no
node. The reference is :func:`schemas.affinity.node_selector_matches`; the DaemonSet's eligibility
and the scheduler's columnar masks must agree with it row for row (they once disagreed on Gt/Lt).
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.daemonset.eligibility import affinity_matches
from actors.scheduler.selectors import LabelColumns, freeze_term, term_mask
from schemas import affinity

ROWS: list[tuple[str, str, list[Any], dict[str, str], bool]] = [
    # (why, operator, values, node labels, matches)
    ("In, value listed", "In", ["a", "b"], {"k": "b"}, True),
    ("In, value not listed", "In", ["a"], {"k": "c"}, False),
    ("In, key absent", "In", ["a"], {}, False),
    ("NotIn, value listed", "NotIn", ["a"], {"k": "a"}, False),
    ("NotIn, key absent matches", "NotIn", ["a"], {}, True),
    ("Exists", "Exists", [], {"k": ""}, True),
    ("Exists, key absent", "Exists", [], {}, False),
    ("DoesNotExist", "DoesNotExist", [], {}, True),
    ("DoesNotExist, key present", "DoesNotExist", [], {"k": "x"}, False),
    ("Gt, greater", "Gt", ["5"], {"k": "7"}, True),
    ("Gt, equal is not greater", "Gt", ["5"], {"k": "5"}, False),
    ("Lt, less", "Lt", ["5"], {"k": "3"}, True),
    ("Lt, negative label", "Lt", ["0"], {"k": "-3"}, True),
    ("Gt, explicit plus sign parses", "Gt", ["+5"], {"k": "+6"}, True),
    ("Gt, key absent", "Gt", ["5"], {}, False),
    ("Gt, label not an integer", "Gt", ["5"], {"k": "x"}, False),
    ("Gt, bound not an integer", "Gt", ["x"], {"k": "7"}, False),
    ("Gt, two values: exactly one is required", "Gt", ["1", "9"], {"k": "7"}, False),
    ("Lt, no value", "Lt", [], {"k": "7"}, False),
    ("Gt, spaces are not ParseInt's", "Gt", ["5"], {"k": " 7"}, False),
    ("Gt, underscores are not ParseInt's", "Gt", ["5"], {"k": "1_000"}, False),
    ("Gt, non-ASCII digits are not ParseInt's", "Gt", ["5"], {"k": "٧"}, False),
    ("Gt, a label past int64 does not parse", "Gt", ["5"], {"k": str(2**63)}, False),
    ("Lt, int64's minimum parses", "Lt", ["0"], {"k": str(-(2**63))}, True),
    ("unknown operator", "Near", ["a"], {"k": "a"}, False),
]


def _node(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "n1", "labels": labels}}


def _term(op: str, values: list[Any]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": "k", "operator": op, "values": values}]}


def _columns_match(term: dict[str, Any], labels: dict[str, str]) -> bool:
    cols, fields = LabelColumns(1), LabelColumns(1)
    cols.set(0, labels)
    fields.set(0, {"metadata.name": "n1"})
    return bool(term_mask(cols, fields, freeze_term(term), slice(None), 1)[0])


@pytest.mark.parametrize(("why", "op", "values", "labels", "ok"), ROWS, ids=[r[0] for r in ROWS])
def test_every_matcher_follows_kubernetes(
    why: str, op: str, values: list[Any], labels: dict, ok: bool
) -> None:
    term = _term(op, values)
    selector = {"nodeSelectorTerms": [term]}
    pod_spec = {"affinity": {"nodeAffinity": {affinity.REQUIRED: selector}}}
    assert affinity.node_selector_matches(selector, _node(labels)) is ok
    assert affinity_matches(pod_spec, _node(labels)) is ok
    assert _columns_match(term, labels) is ok


def test_a_bad_requirement_fails_only_its_own_term() -> None:
    selector = {"nodeSelectorTerms": [_term("Gt", ["1", "2"]), _term("Exists", [])]}
    assert affinity.node_selector_matches(selector, _node({"k": "7"}))
    pod_spec = {"affinity": {"nodeAffinity": {affinity.REQUIRED: selector}}}
    assert affinity_matches(pod_spec, _node({"k": "7"}))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("-12", -12),
        ("+7", 7),
        (str(2**63 - 1), 2**63 - 1),
        ("", None),
        ("1.5", None),
        ("0x10", None),
        (" 1", None),
        ("1_0", None),
        (str(2**63), None),
        (7, None),
    ],
)
def test_parse_int64_reads_as_go_does(text: Any, value: int | None) -> None:
    assert affinity.parse_int64(text) == value

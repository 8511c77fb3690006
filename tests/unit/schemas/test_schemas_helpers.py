"""status, fields and affinity helpers."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest

from schemas import affinity, fields, status


def test_now_rfc3339_format() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status.now_rfc3339())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T17:00:00Z", dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)),
        ("2026-11-25T17:00:00.123456Z", dt.datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=dt.UTC)),
        ("2026-11-25T18:00:00+01:00", dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)),
        ("2026-11-25T17:00:00.123456789Z", dt.datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=dt.UTC)),
        ("2026-11-25T17:00:00z", dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 25, 17, 0), dt.datetime(2026, 11, 25, 17, 0, tzinfo=dt.UTC)),
        ("yesterday", None),
        (17, None),
        (None, None),
        ("", None),
    ],
)
def test_parse_time(text: object, expected: dt.datetime | None) -> None:
    assert status.parse_time(text) == expected


def test_format_time_round_trip() -> None:
    t = "2026-11-25T17:00:00Z"
    assert status.format_time(status.parse_time(t)) == t  # type: ignore[arg-type]


def pod(ready: str | None = None, phase: str | None = None) -> dict:
    st: dict = {}
    if phase:
        st["phase"] = phase
    if ready:
        st["conditions"] = [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": ready}]
    return {"metadata": {"name": "p"}, "status": st}


@pytest.mark.parametrize(
    ("obj", "ready", "phase"),
    [
        (pod(), False, "Pending"),
        (pod("True", "Running"), True, "Running"),
        (pod("False", "Running"), False, "Running"),
        ({"metadata": {}}, False, "Pending"),
    ],
)
def test_pod_ready_and_phase(obj: dict, ready: bool, phase: str) -> None:
    assert status.is_pod_ready(obj) is ready
    assert status.pod_phase(obj) == phase


def test_get_condition() -> None:
    assert status.get_condition(pod("True"), "Ready") == {"type": "Ready", "status": "True"}
    assert status.get_condition(pod(), "Ready") is None


def test_set_condition_moves_transition_time_only_on_change() -> None:
    conds = [
        {"type": "Ready", "status": "False", "lastTransitionTime": "2020-01-01T00:00:00Z", "reason": "A"}
    ]
    frozen = copy.deepcopy(conds)
    same = status.set_condition(
        conds, {"type": "Ready", "status": "False", "reason": "B"}, now="2030-01-01T00:00:00Z"
    )
    assert same == [
        {"type": "Ready", "status": "False", "reason": "B", "lastTransitionTime": "2020-01-01T00:00:00Z"}
    ]
    changed = status.set_condition(conds, {"type": "Ready", "status": "True"}, now="2030-01-01T00:00:00Z")
    assert changed[0]["lastTransitionTime"] == "2030-01-01T00:00:00Z"
    added = status.set_condition(conds, {"type": "Initialized", "status": "True"}, now="2030-01-01T00:00:00Z")
    assert [c["type"] for c in added] == ["Ready", "Initialized"]
    assert conds == frozen, "the input list must not change"


def test_owner_controller() -> None:
    refs = [
        {"apiVersion": "v1", "kind": "X", "name": "a", "uid": "1"},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "2", "controller": True},
    ]
    assert status.owner_controller({"metadata": {"ownerReferences": refs}})["name"] == "rs"  # type: ignore[index]
    assert status.owner_controller({"metadata": {}}) is None


@pytest.mark.parametrize(
    ("kind", "has"),
    [
        ("Pod", True),
        ("Node", True),
        ("Deployment", True),
        ("Namespace", True),
        ("ConfigMap", False),
        ("Secret", False),
    ],
)
def test_split_status(kind: str, has: bool) -> None:
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "spec": {"a": 1}, "status": {"b": 2}}
    rest, st = fields.split_status(kind, obj)
    if has:
        assert st == {"b": 2}
        assert "status" not in rest
        assert fields.with_status(kind, rest, st) == obj
    else:
        assert st is None
    assert fields.has_status(kind) is has


def test_spec_fields() -> None:
    assert fields.spec_fields("Pod") == ("spec",)
    assert "data" in fields.spec_fields("ConfigMap")


ALPHA = (
    '{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": '
    '[{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}'
)
SPEC_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "Exists"}]}]
        },
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "preference": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}
        ],
    }
}


def apod(annotation: str | None = None, spec_affinity: dict | None = None) -> dict:
    meta: dict = {"name": "p"}
    if annotation is not None:
        meta["annotations"] = {affinity.ALPHA_AFFINITY_ANNOTATION: annotation}
    spec: dict = {"containers": []}
    if spec_affinity:
        spec["affinity"] = spec_affinity
    return {"metadata": meta, "spec": spec}


def node(**labels: str) -> dict:
    return {"metadata": {"name": "n1", "labels": labels}}


def test_effective_node_affinity_sources() -> None:
    assert affinity.effective_node_affinity(apod()) is None
    assert affinity.effective_node_affinity(apod("not json")) is None
    only_ann = affinity.effective_node_affinity(apod(ALPHA))
    assert (
        only_ann["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
            "matchExpressions"
        ][0]["key"]
        == "zone"
    )
    assert affinity.effective_node_affinity(apod(None, SPEC_AFFINITY)) == SPEC_AFFINITY["nodeAffinity"]
    both = affinity.effective_node_affinity(apod(ALPHA, SPEC_AFFINITY))
    terms = both["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert len(terms) == 1 and len(terms[0]["matchExpressions"]) == 2
    assert len(both["preferredDuringSchedulingIgnoredDuringExecution"]) == 1


@pytest.mark.parametrize(
    ("pod_", "node_", "fits"),
    [
        (apod(ALPHA), node(zone="a"), True),
        (apod(ALPHA), node(zone="c"), False),
        (apod(ALPHA, SPEC_AFFINITY), node(zone="a"), False),
        (apod(ALPHA, SPEC_AFFINITY), node(zone="a", disk="ssd"), True),
        (apod("garbage"), node(), True),
    ],
)
def test_required_node_affinity_matches(pod_: dict, node_: dict, fits: bool) -> None:
    assert affinity.required_node_affinity_matches(pod_, node_) is fits


@pytest.mark.parametrize(
    ("op", "values", "labels", "ok"),
    [
        ("In", ["a"], {"k": "a"}, True),
        ("NotIn", ["a"], {"k": "a"}, False),
        ("NotIn", ["a"], {}, True),
        ("Exists", [], {"k": "x"}, True),
        ("DoesNotExist", [], {"k": "x"}, False),
        ("Gt", ["5"], {"k": "7"}, True),
        ("Gt", ["5"], {"k": "3"}, False),
        ("Lt", ["5"], {"k": "3"}, True),
        ("Lt", ["5"], {"k": "x"}, False),
    ],
)
def test_term_operators(op: str, values: list, labels: dict, ok: bool) -> None:
    term = {"matchExpressions": [{"key": "k", "operator": op, "values": values}]}
    assert affinity.term_matches(term, labels) is ok


def test_match_fields_on_node_name() -> None:
    sel = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]
    }
    assert affinity.node_selector_matches(sel, node())
    assert not affinity.node_selector_matches({"nodeSelectorTerms": [{}]}, node())

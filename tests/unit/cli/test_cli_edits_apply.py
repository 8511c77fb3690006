"""label/annotate edits, apply plans, manifests and resource arguments, as tables."""

from __future__ import annotations

import json

import pytest

from cli.apply import LAST_APPLIED, annotated, plan_apply
from cli.edits import edit_patch, parse_edits, split_args
from cli.manifests import parse_documents
from cli.resources import parse_targets
from schemas.errors import BadRequest


@pytest.mark.parametrize(
    ("current", "args", "overwrite", "patch"),
    [
        ({}, ["a=1"], False, {"metadata": {"labels": {"a": "1"}}}),
        ({"a": "1"}, ["a=1"], False, None),
        ({"a": "1"}, ["a=2"], True, {"metadata": {"labels": {"a": "2"}}}),
        ({"a": "1"}, ["a-"], False, {"metadata": {"labels": {"a": None}}}),
        ({}, ["a-"], False, None),
        ({"a": "1"}, ["b=2", "a-"], False, {"metadata": {"labels": {"b": "2", "a": None}}}),
    ],
)
def test_edit_patch(current, args, overwrite, patch):
    assert edit_patch(current, parse_edits(args), "labels", overwrite) == patch


def test_edit_needs_overwrite():
    with pytest.raises(BadRequest, match="--overwrite is false"):
        edit_patch({"a": "1"}, parse_edits(["a=2"]), "labels", False)


@pytest.mark.parametrize(
    ("args", "resources", "edits"),
    [
        (["pods", "x", "a=b"], ["pods", "x"], ["a=b"]),
        (["pod/x", "a-"], ["pod/x"], ["a-"]),
        (["pods", "a=1", "b-"], ["pods"], ["a=1", "b-"]),
    ],
)
def test_split_args(args, resources, edits):
    assert split_args(args) == (resources, edits)


def test_plan_apply_create_unchanged_patch():
    config = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
        "spec": {"x": 1},
    }
    plan = plan_apply(config, None)
    assert plan.action == "create"
    live = {**plan.body, "status": {"phase": "Running"}}
    live["metadata"] = {**live["metadata"], "uid": "u", "resourceVersion": "5", "namespace": "default"}
    assert plan_apply(config, live).action == "unchanged"
    smaller = {**config, "metadata": {"name": "p", "labels": {"a": "1"}}}
    again = plan_apply(smaller, live)
    assert again.action == "patch"
    assert again.body["metadata"]["labels"] == {"b": None}
    assert json.loads(again.body["metadata"]["annotations"][LAST_APPLIED]) == smaller


def test_plan_apply_warns_without_annotation():
    config = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    plan = plan_apply(config, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    assert plan.missing_annotation and plan.action == "patch"


def test_annotated_is_stable():
    once = annotated({"kind": "Pod", "metadata": {"name": "p"}})
    assert annotated(once) == once


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "kind: Pod\napiVersion: v1\nmetadata: {name: a}\n---\n---\n"
            "kind: Pod\napiVersion: v1\nmetadata: {name: b}\n",
            ["a", "b"],
        ),
        (
            '{"kind": "List", "apiVersion": "v1", '
            '"items": [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "c"}}]}',
            ["c"],
        ),
        (
            "kind: PodList\napiVersion: v1\nitems:\n- {kind: Pod, apiVersion: v1, metadata: {name: d}}\n",
            ["d"],
        ),
    ],
)
def test_parse_documents(text, names):
    assert [o["metadata"]["name"] for o in parse_documents(text, "f")] == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1", "error parsing f"),
        ("- 1", "must be a mapping"),
        ("apiVersion: v1\nmetadata: {}", "kind not set"),
        ("kind: Pod", "apiVersion not set"),
    ],
)
def test_parse_documents_errors(text, message):
    with pytest.raises(BadRequest, match=message):
        parse_documents(text, "f")


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["po"], [("pods", [])]),
        (["pods,svc", "a"], [("pods", ["a"]), ("services", ["a"])]),
        (["pod/a", "deploy/b", "pods/c"], [("pods", ["a", "c"]), ("deployments", ["b"])]),
        (["no", "n1"], [("nodes", ["n1"])]),
        (
            ["all"],
            [
                ("pods", []),
                ("replicationcontrollers", []),
                ("services", []),
                ("daemonsets", []),
                ("deployments", []),
                ("replicasets", []),
                ("statefulsets", []),
                ("horizontalpodautoscalers", []),
                ("cronjobs", []),
                ("jobs", []),
            ],
        ),
    ],
)
def test_parse_targets(args, expect):
    assert [(t.info.plural, t.names) for t in parse_targets(args)] == expect


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "must specify the type"),
        (["bogus"], "doesn't have a resource type"),
        (["pods", "pod/x"], "resource/name form"),
    ],
)
def test_parse_targets_errors(args, message):
    with pytest.raises(BadRequest, match=message):
        parse_targets(args)

"""``wait --for``: the conditions as a table, and the command's words over the in-memory api."""

from __future__ import annotations

import pytest

from cli.waitfor import WaitFor, met, parse_for
from schemas.errors import BadRequest

READY = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
NOT_READY = {"status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}}


@pytest.mark.parametrize(
    ("flag", "parsed"),
    [
        ("delete", WaitFor("delete")),
        ("create", WaitFor("create")),
        ("condition=Ready", WaitFor("condition", "Ready", None)),
        ("condition=Available=false", WaitFor("condition", "Available", "false")),
        ("jsonpath={.status.phase}=Running", WaitFor("jsonpath", "{.status.phase}", "Running")),
        ("jsonpath='{.status.phase}'=Running", WaitFor("jsonpath", "{.status.phase}", "Running")),
        ("jsonpath={.status.readyReplicas}", WaitFor("jsonpath", "{.status.readyReplicas}", None)),
    ],
)
def test_parse_for(flag, parsed):
    assert parse_for(flag) == parsed


@pytest.mark.parametrize("flag", ["", "ready", "condition=", "jsonpath={.a}x"])
def test_bad_for(flag):
    with pytest.raises(BadRequest):
        parse_for(flag)


@pytest.mark.parametrize(
    ("flag", "obj", "expected"),
    [
        ("condition=Ready", READY, True),
        ("condition=ready=TRUE", READY, True),
        ("condition=Ready", NOT_READY, False),
        ("condition=Ready=false", NOT_READY, True),
        ("condition=Ready", {}, False),
        ("condition=Ready", None, False),
        ("jsonpath={.status.phase}=Running", READY, True),
        ("jsonpath={.status.phase}=Running", NOT_READY, False),
        ("jsonpath={.status.phase}", NOT_READY, True),
        ("jsonpath={.status.podIP}", NOT_READY, False),
        ("delete", None, True),
        ("delete", READY, False),
        ("create", READY, True),
    ],
)
def test_met(flag, obj, expected):
    assert met(parse_for(flag), obj) is expected


def pod(name: str, status: dict) -> dict:
    return {
        "metadata": {"name": name, "labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c"}]},
        **status,
    }


def test_wait_prints_condition_met_or_times_out(cli, fake_api):
    fake_api.put("pods", pod("a", READY))
    fake_api.put("pods", pod("b", NOT_READY))
    res = cli("wait", "pod/a", "--for=condition=Ready")
    assert (res.exit_code, res.stdout) == (0, "pod/a condition met\n")
    res = cli("wait", "pods", "-l", "app=w", "--for=condition=Ready", "--timeout=0")
    assert (res.exit_code, res.stdout) == (1, "pod/a condition met\n")
    assert res.stderr == "error: timed out waiting for the condition on pods/b\n"
    res = cli("wait", "pod", "gone", "--for=delete", "--timeout=1s")
    assert (res.exit_code, res.stdout) == (0, "pod/gone condition met\n")
    res = cli("wait", "pod", "gone", "--for=condition=Ready")
    assert (res.exit_code, res.stderr) == (1, 'Error from server (NotFound): pods "gone" not found\n')
    res = cli("wait", "pods", "-l", "app=nothing", "--for=delete")
    assert (res.exit_code, res.stderr) == (1, "error: no matching resources found\n")
    res = cli("wait", "pod/a", "--for=jsonpath={.status.phase}=Running")
    assert (res.exit_code, res.stdout) == (0, "pod/a condition met\n")

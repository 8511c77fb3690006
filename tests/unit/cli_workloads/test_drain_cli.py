"""``jetkube drain``: cordon, the plan's errors and warnings, evictions, as kubectl prints them."""

from __future__ import annotations

from typing import Any

import pytest

from cli.commands import drain as cmd
from tests.unit.cli.fakeapi import FakeApi


def node(api: FakeApi, name: str = "n1", unschedulable: bool = False) -> None:
    api.put("nodes", {"metadata": {"name": name}, "spec": {"unschedulable": True} if unschedulable else {}})


def pod(
    api: FakeApi, name: str, node_name: str = "n1", owner: str | None = "ReplicaSet", **spec: Any
) -> None:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "o", "uid": "u", "controller": True}]
    api.put(
        "pods", {"metadata": meta, "spec": {"nodeName": node_name, "containers": [{"name": "c"}], **spec}}
    )


def test_failure_block_formats() -> None:
    assert cmd.failure_block("n1", ["a"]).splitlines() == [
        'error: unable to drain node "n1" due to error: a, continuing command...',
        "There are pending nodes to be drained:",
        " n1",
        "a",
    ]
    assert cmd.failure_block("n1", ["a", "b"]).splitlines()[0] == (
        'error: unable to drain node "n1" due to error: [a, b], continuing command...'
    )


@pytest.mark.parametrize(("seconds", "text"), [(10, "10s"), (90, "1m30s"), (3600, "1h0m0s"), (0.5, "0.5s")])
def test_format_seconds(seconds: float, text: str) -> None:
    assert cmd.format_seconds(seconds) == text


def test_drain_evicts_managed_pods(cli, fake_api) -> None:
    node(fake_api)
    pod(fake_api, "web-1")
    pod(fake_api, "elsewhere", node_name="n2")
    pod(fake_api, "mirror", owner=None)
    fake_api.objects[("pods", "default", "mirror")]["metadata"]["annotations"] = {
        "kubernetes.io/config.mirror": "x"
    }
    res = cli("drain", "n1", "--grace-period", "5")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [
        "node/n1 cordoned",
        "evicting pod default/web-1",
        "pod/web-1 evicted",
        "node/n1 drained",
    ]
    assert fake_api.objects[("nodes", None, "n1")]["spec"]["unschedulable"] is True
    assert ("delete", "pods", "web-1", "5", "None") in fake_api.calls
    assert ("delete-subresource", "pods", "web-1", "eviction", "") in fake_api.calls  # create pods/eviction
    assert ("pods", "default", "elsewhere") in fake_api.objects and (
        "pods",
        "default",
        "mirror",
    ) in fake_api.objects


def test_drain_refuses_daemonset_and_unmanaged_pods(cli, fake_api) -> None:
    node(fake_api)
    pod(fake_api, "ds-1", owner="DaemonSet")
    pod(fake_api, "bare", owner=None)
    pod(fake_api, "web-1")
    res = cli("drain", "n1")
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines[0] == "node/n1 cordoned"
    assert lines[1].startswith(
        'error: unable to drain node "n1" due to error: [cannot delete DaemonSet-managed Pods'
    )
    assert lines[2:4] == ["There are pending nodes to be drained:", " n1"]
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds-1" in lines
    assert (
        "cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet "
        "(use --force to override): default/bare"
    ) in lines
    assert not [c for c in fake_api.calls if c[0] == "delete"], "nothing is evicted when the plan has errors"


def test_drain_with_flags_warns_and_goes_on(cli, fake_api) -> None:
    node(fake_api, unschedulable=True)
    pod(fake_api, "ds-1", owner="DaemonSet")
    pod(fake_api, "bare", owner=None)
    pod(fake_api, "scratch", volumes=[{"name": "v", "emptyDir": {}}])
    res = cli("drain", "n1", "--ignore-daemonsets", "--force", "--delete-emptydir-data")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "node/n1 already cordoned"
    assert "Warning: ignoring DaemonSet-managed Pods: default/ds-1" in lines
    assert "Warning: deleting Pods with local storage: default/scratch" in lines
    assert "evicting pod default/bare" in lines and "pod/bare evicted" in lines
    assert "pod/scratch evicted" in lines and lines[-1] == "node/n1 drained"
    assert ("pods", "default", "ds-1") in fake_api.objects


def test_drain_timeout(cli, fake_api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:  # a pod that never goes away
        return {}

    monkeypatch.setattr(fake_api, "delete", keep)
    monkeypatch.setattr(cmd, "POLL", 0.02)
    node(fake_api)
    pod(fake_api, "stuck")
    res = cli("drain", "n1", "--timeout", "100ms")
    assert res.exit_code == 1
    assert (
        'error when waiting for pod "stuck" in namespace "default" to terminate: global timeout reached: 0.1s'
        in res.output
    )


def test_drain_unknown_node(cli, fake_api) -> None:
    res = cli("drain", "nope")
    assert res.exit_code == 1 and 'Error from server (NotFound): nodes "nope" not found' in res.output

"""``jetkube rollout``: kubectl's lines and exit codes over the in-memory api."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bus.store import WatchEvent
from cli.commands import rollout as cmd
from schemas.errors import BadRequest, Timeout
from tests.unit.cli.fakeapi import FakeApi

REVISION = "deployment.kubernetes.io/revision"


def deployment(name: str = "web", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "generation": 2, "uid": "d-uid", "annotations": {REVISION: "2"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:2"}]},
            },
        },
        "status": {"observedGeneration": 2, **status},
    }


def replicaset(name: str, revision: int, image: str, cause: str | None = None) -> dict[str, Any]:
    anns = {REVISION: str(revision)}
    if cause:
        anns["kubernetes.io/change-cause"] = cause
    return {
        "metadata": {
            "name": name,
            "annotations": anns,
            "ownerReferences": [{"uid": "d-uid", "controller": True, "kind": "Deployment", "name": "web"}],
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": name[-3:]}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            }
        },
    }


class ScriptedApi(FakeApi):
    """A fake whose watch plays a list of Deployment states, then ends."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        super().__init__()
        self.script = script

    async def watch(self, *args: Any, **kwargs: Any) -> AsyncIterator[WatchEvent]:
        yield WatchEvent("BOOKMARK", {}, 0)
        while self.script:
            obj = self.put("deployments", self.script.pop(0))
            yield WatchEvent("MODIFIED", obj, int(obj["metadata"]["resourceVersion"]))


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    from cli import context
    from tests.unit.cli.fakeapi import connector_for

    def install(script: list[dict[str, Any]]) -> ScriptedApi:
        api = ScriptedApi(script)
        monkeypatch.setattr(context, "connector", connector_for(api))
        return api

    return install


# ------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("status", "line", "done"),
    [
        (
            {"updatedReplicas": 1},
            'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
            False,
        ),
        (
            {"updatedReplicas": 3, "replicas": 4},
            'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
            False,
        ),
        (
            {"updatedReplicas": 3, "replicas": 3, "availableReplicas": 2},
            'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
            False,
        ),
        (
            {"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            'deployment "web" successfully rolled out',
            True,
        ),
    ],
)
def test_deployment_status_lines(status: dict[str, Any], line: str, done: bool) -> None:
    assert cmd.status_line("deployments", deployment(**status)) == (line, done)


def test_status_past_deadline_raises_timeout() -> None:
    d = deployment(
        conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    )
    with pytest.raises(Timeout, match='deployment "web" exceeded its progress deadline'):
        cmd.status_line("deployments", d)


def test_daemonset_status_lines() -> None:
    ds = {"metadata": {"name": "agent", "generation": 1}, "spec": {}, "status": {"observedGeneration": 1}}
    ds["status"].update(desiredNumberScheduled=3, updatedNumberScheduled=2)
    assert cmd.status_line("daemonsets", ds)[0] == (
        'Waiting for daemon set "agent" rollout to finish: 2 out of 3 new pods have been updated...'
    )
    ds["status"].update(updatedNumberScheduled=3, numberAvailable=3)
    assert cmd.status_line("daemonsets", ds) == ('daemon set "agent" successfully rolled out', True)
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(BadRequest, match="only available for RollingUpdate"):
        cmd.status_line("daemonsets", ds)


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2", 2)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert cmd.parse_duration(text) == seconds


def test_parse_duration_refuses_garbage() -> None:
    with pytest.raises(BadRequest, match='invalid argument "soon" for "--timeout" flag'):
        cmd.parse_duration("soon")


# ------------------------------------------------------------------- commands


def test_status_follows_the_rollout_until_done(cli, scripted) -> None:
    start = deployment(updatedReplicas=1, replicas=3)
    steps = [
        deployment(updatedReplicas=1, replicas=3),  # same line: not printed twice
        deployment(updatedReplicas=3, replicas=4, availableReplicas=2),
        deployment(updatedReplicas=3, replicas=3, availableReplicas=2),
        deployment(updatedReplicas=3, replicas=3, availableReplicas=3),
    ]
    api = scripted(steps)
    api.put("deployments", start)
    res = cli("rollout", "status", "deployment/web")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
        'deployment "web" successfully rolled out',
    ]


def test_status_watch_false_prints_once(cli, scripted) -> None:
    api = scripted([deployment(updatedReplicas=3, replicas=3, availableReplicas=3)])
    api.put("deployments", deployment(updatedReplicas=1))
    res = cli("rollout", "status", "deploy", "web", "--watch=false")
    assert res.exit_code == 0
    assert (
        res.output
        == 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...\n'
    )


def test_status_progress_deadline_exits_one(cli, scripted) -> None:
    stuck = deployment(
        conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    )
    api = scripted([stuck])
    api.put("deployments", deployment(updatedReplicas=1))
    res = cli("rollout", "status", "deploy/web")
    assert res.exit_code == 1
    assert res.output.splitlines()[-1] == 'error: deployment "web" exceeded its progress deadline'


def test_status_timeout(cli, scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    class Forever(ScriptedApi):
        async def watch(self, *args: Any, **kwargs: Any) -> AsyncIterator[WatchEvent]:
            import asyncio

            await asyncio.Event().wait()
            yield WatchEvent("BOOKMARK", {}, 0)  # pragma: no cover

    from cli import context
    from tests.unit.cli.fakeapi import connector_for

    api = Forever([])
    monkeypatch.setattr(context, "connector", connector_for(api))
    api.put("deployments", deployment(updatedReplicas=1))
    res = cli("rollout", "status", "deploy/web", "--timeout", "200ms")
    assert res.exit_code == 1
    assert res.output.splitlines()[-1] == "error: timed out waiting for the condition"


def test_status_errors(cli, fake_api) -> None:
    res = cli("rollout", "status", "deploy/nope")
    assert (
        res.exit_code == 1 and 'Error from server (NotFound): deployments.apps "nope" not found' in res.output
    )
    res = cli("rollout", "status", "rc/x")
    assert res.exit_code == 1 and "status is not supported for replicationcontrollers" in res.output


def test_history_table_and_revision(cli, fake_api) -> None:
    fake_api.put("deployments", deployment())
    fake_api.put("replicasets", replicaset("web-aaa", 1, "nginx:1", cause="jetkube set image"))
    fake_api.put("replicasets", replicaset("web-bbb", 2, "nginx:2"))
    res = cli("rollout", "history", "deploy/web")
    assert res.exit_code == 0
    assert res.output.splitlines() == [
        "deployment.apps/web",
        "REVISION   CHANGE-CAUSE",
        "1          jetkube set image",
        "2          <none>",
        "",
    ]
    res = cli("rollout", "history", "deploy/web", "--revision", "1")
    assert res.exit_code == 0
    assert res.output.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert "nginx:1" in res.output and "pod-template-hash" not in res.output
    res = cli("rollout", "history", "deploy/web", "--revision", "7")
    assert res.exit_code == 1 and "error: unable to find the specified revision" in res.output


def test_undo_to_previous_and_to_revision(cli, fake_api) -> None:
    fake_api.put("deployments", deployment())
    fake_api.put("replicasets", replicaset("web-aaa", 1, "nginx:1"))
    fake_api.put("replicasets", replicaset("web-bbb", 2, "nginx:2"))
    res = cli("rollout", "undo", "deploy/web")
    assert res.exit_code == 0 and res.output == "deployment.apps/web rolled back\n"
    image = fake_api.objects[("deployments", "default", "web")]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == "nginx:1"
    res = cli("rollout", "undo", "deploy/web", "--to-revision", "9")
    assert res.exit_code == 1 and "unable to find specified revision 9 in history" in res.output


def test_undo_refuses_a_paused_deployment(cli, fake_api) -> None:
    d = deployment()
    d["spec"]["paused"] = True
    fake_api.put("deployments", d)
    res = cli("rollout", "undo", "deploy/web")
    assert res.exit_code == 1 and "you cannot rollback a paused deployment" in res.output


def test_pause_resume(cli, fake_api) -> None:
    fake_api.put("deployments", deployment())
    assert cli("rollout", "pause", "deploy/web").output == "deployment.apps/web paused\n"
    assert fake_api.objects[("deployments", "default", "web")]["spec"]["paused"] is True
    assert cli("rollout", "pause", "deploy/web").output == "deployment.apps/web already paused\n"
    res = cli("rollout", "restart", "deploy/web")
    assert res.exit_code == 1 and "can't restart paused deployment (run rollout resume first)" in res.output
    assert cli("rollout", "resume", "deploy/web").output == "deployment.apps/web resumed\n"
    assert "paused" not in fake_api.objects[("deployments", "default", "web")]["spec"]
    assert cli("rollout", "resume", "deploy/web").output == "deployment.apps/web already resumed\n"


def test_restart_stamps_the_template(cli, fake_api) -> None:
    fake_api.put("deployments", deployment())
    before = copy.deepcopy(fake_api.objects[("deployments", "default", "web")])
    res = cli("rollout", "restart", "deployment", "web")
    assert res.exit_code == 0 and res.output == "deployment.apps/web restarted\n"
    after = fake_api.objects[("deployments", "default", "web")]
    anns = after["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in anns
    assert after["spec"]["template"]["spec"] == before["spec"]["template"]["spec"]


def test_history_lists_each_replicaset_once(cli, fake_api) -> None:
    """A rolled-back-to ReplicaSet keeps its old numbers in revision-history; kubectl shows the latest."""
    fake_api.put("deployments", deployment())
    old = replicaset("web-aaa", 3, "nginx:1")
    old["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "1"
    fake_api.put("replicasets", old)
    fake_api.put("replicasets", replicaset("web-bbb", 2, "nginx:2"))
    res = cli("rollout", "history", "deploy/web")
    assert [line.split()[0] for line in res.output.splitlines()[2:] if line] == ["2", "3"]

"""Which container logs/exec mean: kubectl's defaults and error texts, as tables."""

from __future__ import annotations

import pytest

from actors.kubelet import labels as L
from actors.kubelet.server import keep_tail
from actors.kubelet.server_select import (
    check_container,
    default_container,
    logs_precheck,
    pick_instance,
    pod_instances,
    since_epoch,
)
from schemas.errors import BadRequest
from tests.unit.kubelet_services.factories import T0, pod, summary


def test_default_container_is_the_only_one() -> None:
    assert default_container(pod(containers=("web",))) == "web"


def test_default_container_annotation_wins() -> None:
    p = pod(containers=("a", "b"))
    p["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "b"}
    assert default_container(p) == "b"


def test_several_containers_need_a_name() -> None:
    with pytest.raises(BadRequest) as err:
        default_container(pod("p", containers=("a", "b")))
    assert err.value.message == "a container name must be specified for pod p, choose one of: [a b]"


def test_init_containers_are_listed_too() -> None:
    p = pod("p", containers=("a", "b"))
    p["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    with pytest.raises(BadRequest) as err:
        default_container(p)
    assert err.value.message.endswith("choose one of: [a b] or one of the init containers: [init]")
    assert check_container(p, "init") == "init"


def test_unknown_container_is_the_api_servers_error() -> None:
    with pytest.raises(BadRequest) as err:
        check_container(pod("p"), "nope")
    assert err.value.message == "container nope is not valid for pod p"


def _status(state: dict, last: dict | None = None) -> dict:
    return {"containerStatuses": [{"name": "app", "state": state, "lastState": last or {}}]}


@pytest.mark.parametrize(
    ("state", "last", "previous", "message"),
    [
        ({"running": {}}, None, False, None),
        (
            {"waiting": {"reason": "ContainerCreating"}},
            None,
            False,
            'container "app" in pod "p" is waiting to start: ContainerCreating',
        ),
        (
            {"waiting": {"reason": "ErrImagePull"}},
            None,
            False,
            'container "app" in pod "p" is waiting to start: image can\'t be pulled',
        ),
        (
            {"waiting": {"reason": "ImagePullBackOff"}},
            None,
            False,
            'container "app" in pod "p" is waiting to start: trying and failing to pull image',
        ),
        ({"waiting": {"reason": "CrashLoopBackOff"}}, {"terminated": {"exitCode": 1}}, False, None),
        ({"running": {}}, None, True, 'previous terminated container "app" in pod "p" not found'),
        ({"running": {}}, {"terminated": {"exitCode": 1}}, True, None),
    ],
)
def test_logs_precheck(state: dict, last: dict | None, previous: bool, message: str | None) -> None:
    got = logs_precheck(pod("p", status=_status(state, last)), "app", previous=previous)
    assert (got.message if got else None) == message


def test_no_status_yet_asks_the_node() -> None:
    assert logs_precheck(pod("p"), "app") is None


def test_pick_current_and_previous_attempts() -> None:
    items = [
        summary("c0", attempt=0, created=0),
        summary("c2", attempt=2, created=20),
        summary("c1", attempt=1, created=10),
        summary("o", "other", attempt=5),
    ]
    assert pick_instance(items, "p", "app").id == "c2"
    assert pick_instance(items, "p", "app", previous=True).id == "c1"


def test_pick_errors() -> None:
    with pytest.raises(BadRequest) as err:
        pick_instance([], "p", "app")
    assert err.value.message == 'container "app" in pod "p" is waiting to start: ContainerCreating'
    with pytest.raises(BadRequest) as err:
        pick_instance([summary("c0")], "p", "app", previous=True)
    assert err.value.message == 'previous terminated container "app" in pod "p" not found'


def test_pod_instances_take_the_newest_pod_of_a_name_and_skip_sandboxes() -> None:
    items = [
        summary("old", uid="u-old", created=0),
        summary("new", uid="u-new", created=100),
        summary("sb", uid="u-new", created=99, type_=L.TYPE_SANDBOX),
        summary("elsewhere", pod="q", created=200),
    ]
    assert [c.id for c in pod_instances(items, "default", "p")] == ["new"]
    assert [c.id for c in pod_instances(items, "default", "p", "u-old")] == ["old"]
    assert pod_instances(items, "kube-system", "p") == []


def test_since_and_tail_helpers() -> None:
    assert since_epoch(None, T0) is None and since_epoch(0, T0) is None
    assert since_epoch(5, T0) == T0 - 5
    assert keep_tail(["a", "b", "c"], 100) == (["a", "b", "c"], False)
    assert keep_tail(["aaaa", "bb", "cc"], 6) == (["bb", "cc"], True)

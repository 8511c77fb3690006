from datetime import UTC, datetime

import aiodocker
import aiohttp

from actors.kubelet.docker_errors import ImagePullError, translate
from actors.kubelet.image_gc import ImageUsage, bytes_to_free, images_to_remove
from actors.kubelet.state import container_state, container_summary, parse_docker_time, runtime_event
from actors.kubelet.types import ImageInfo
from schemas.errors import AlreadyExists, DockerError, NotFound, ServiceUnavailable, Timeout


def test_parse_docker_time():
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("") is None
    t = parse_docker_time("2024-05-01T10:00:00.123456789Z")
    assert t == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_docker_time("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)


def test_container_state_exited_oom():
    st = container_state(
        {
            "Id": "abc",
            "Name": "/jk_x",
            "Image": "sha256:1",
            "Config": {"Image": "busybox", "Labels": {"a": "b"}},
            "State": {
                "Status": "exited",
                "Running": False,
                "ExitCode": 137,
                "OOMKilled": True,
                "StartedAt": "2024-05-01T10:00:00Z",
                "FinishedAt": "2024-05-01T10:00:01Z",
                "Error": "",
            },
        }
    )
    assert st.name == "jk_x" and st.exit_code == 137 and st.oom_killed and not st.running
    assert st.finished_at is not None and st.labels == {"a": "b"}


def test_container_state_created_has_no_exit_code():
    st = container_state(
        {"Id": "x", "State": {"Status": "created", "ExitCode": 0, "FinishedAt": "0001-01-01T00:00:00Z"}}
    )
    assert st.exit_code is None and st.started_at is None


def test_container_summary_from_labels():
    s = container_summary(
        {
            "Id": "i",
            "Names": ["/jk_n_ns_p_c_u_1"],
            "State": "running",
            "Created": 1700000000,
            "Labels": {
                "io.jetkube.node": "n",
                "io.jetkube.pod.uid": "u",
                "io.jetkube.container.name": "c",
                "io.jetkube.container.attempt": "1",
                "io.jetkube.type": "container",
            },
        }
    )
    assert (s.node, s.pod_uid, s.container_name, s.attempt, s.running) == ("n", "u", "c", 1, True)


def test_runtime_event():
    ev = runtime_event(
        {
            "Type": "container",
            "Action": "die",
            "Actor": {
                "ID": "cid",
                "Attributes": {"exitCode": "1", "io.jetkube.node": "n", "image": "busybox"},
            },
            "timeNano": 1700000000000000000,
        }
    )
    assert (
        ev is not None and ev.action == "die" and ev.exit_code == 1 and ev.labels == {"io.jetkube.node": "n"}
    )
    assert runtime_event({"Type": "network", "Action": "connect"}) is None
    assert (
        runtime_event({"Type": "container", "Action": "exec_start: sh", "Actor": {"ID": "c"}}).action
        == "exec_start"
    )


def test_translate_errors():
    eng = "unix:///var/run/docker.sock"
    err = translate(aiodocker.DockerError(900, "Cannot connect to Docker Engine via x"), "list", eng)
    assert isinstance(err, ServiceUnavailable) and eng in err.message and "unreachable" in err.message
    assert isinstance(translate(aiohttp.ClientConnectionError("boom"), "list", eng), ServiceUnavailable)
    assert isinstance(translate(aiodocker.DockerError(404, "No such container: x"), "inspect", eng), NotFound)
    assert isinstance(
        translate(aiodocker.DockerError(409, "name in use"), "create", eng, on_create=True), AlreadyExists
    )
    other = translate(aiodocker.DockerError(500, "port is already allocated"), "start", eng)
    assert type(other) is DockerError and "port is already allocated" in other.message
    assert other.details["status"] == 500
    assert isinstance(translate(TimeoutError(), "x", eng), Timeout)
    pull = ImagePullError("nope", "pull access denied")
    assert isinstance(pull, DockerError) and pull.message == 'Failed to pull image "nope": pull access denied'


def test_bytes_to_free():
    assert bytes_to_free(100, 20, 90, 80) == 0  # 80% used < 90%
    assert bytes_to_free(100, 5, 90, 80) == 15  # 95% used -> down to 80%
    assert bytes_to_free(0, 0, 90, 80) == 0


def _img(i, size, tags=()):
    return ImageInfo(id=i, tags=tuple(tags), size=size, created=None)


def test_images_to_remove_lru_first_never_in_use_or_kept():
    images = [_img("a", 10), _img("b", 10), _img("c", 10), _img("p", 10, ["jetkube/pause:latest"])]
    last = {"a": 300.0, "b": 100.0, "c": 200.0, "p": 0.0}
    got = images_to_remove(images, {"b"}, last, 15, now=1000.0, keep=["jetkube/pause:latest"])
    assert [i.id for i in got] == ["c", "a"]
    assert images_to_remove(images, set(), last, 0, now=1000.0) == []
    # too recently used to be a candidate
    assert [i.id for i in images_to_remove(images, set(), last, 100, now=350.0, min_age_seconds=100)] == [
        "p",
        "b",
        "c",
    ]


def test_image_usage_tracks_latest_use():
    u = ImageUsage()
    u.observe(["a"], now=10)
    u.mark_used("a", 5)
    u.mark_used("a", 20)
    u.observe(["a"], now=30)
    assert u.last_used == {"a": 20}

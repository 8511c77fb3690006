"""What a fake container does, read from its command as a shell would run it (hollow nodes)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.kubelet.fake_runtime import Behaviour, behaviour_of


@pytest.mark.parametrize(
    ("container", "behaviour"),
    [
        ({}, Behaviour()),  # the image's entrypoint: runs until stopped
        ({"command": ["nginx", "-g", "daemon off;"]}, Behaviour()),
        ({"command": ["sleep", "3600"]}, Behaviour(3600.0, 0)),
        ({"command": ["sh", "-c", "sleep 2; exit 3"]}, Behaviour(2.0, 3)),
        ({"command": ["sh", "-c"], "args": ["exit 1"]}, Behaviour(0.0, 1)),
        ({"command": ["true"]}, Behaviour(0.0, 0)),
        ({"command": ["false"]}, Behaviour(0.0, 1)),
        ({"command": ["sh", "-c", "while true; do sleep 1; done"]}, Behaviour()),
        ({"command": ["sh", "-c", "echo hi; sleep 0.5"]}, Behaviour(0.5, 0)),
    ],
)
def test_behaviour_from_the_command(container: dict[str, Any], behaviour: Behaviour) -> None:
    assert behaviour_of(container) == behaviour


async def test_containers_exit_on_the_clock_and_on_command() -> None:
    from actors.kubelet.fake_runtime import FakeRuntime

    now = [1000.0]
    rt = FakeRuntime(clock=lambda: now[0])
    events: list[tuple[str, int | None]] = []
    rt.on_event = lambda ev: events.append((ev.action, ev.exit_code))
    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}}
    sb = await rt.create_sandbox("default/p", "u1", "n1", "p")
    timed = await rt.create_container(
        sb, pod, {"name": "a", "image": "busybox", "command": ["sleep", "5"]}, 0
    )
    forever = await rt.create_container(sb, pod, {"name": "b", "image": "busybox"}, 0)
    await rt.start(timed)
    await rt.start(forever)
    now[0] = 1004.0
    assert (await rt.inspect(timed)).running
    now[0] = 1006.0
    st = await rt.inspect(timed)
    assert (st.running, st.exit_code, st.finished_at and st.finished_at.timestamp()) == (False, 0, 1005.0)
    rt.exit(forever, 2)
    st = await rt.inspect(forever)
    assert (st.status, st.exit_code) == ("exited", 2)
    assert ("die", 0) in events and ("die", 2) in events
    listed = {s.container_name: s.state for s in await rt.list("n1", "u1")}
    assert listed == {"POD": "running", "a": "exited", "b": "exited"}
    assert await rt.list("n2") == []  # another node's view of the same runtime

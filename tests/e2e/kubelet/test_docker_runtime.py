"""The kubelet's Docker runtime against the real engine: pods, ports, limits, exec, logs, errors."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from actors.kubelet.runtime import (
    ContainerState,
    DockerRuntime,
    ImageNeverPull,
    ImagePullError,
    PortMapping,
    RuntimeEvent,
    SandboxInfo,
)
from schemas.errors import AlreadyExists, DockerError, NotFound, ServiceUnavailable, Timeout
from tests.e2e.kubelet.kubelet_e2e_helpers import free_port, pod
from tests.waiting import wait_for

BUSYBOX = "gcr.io/google_containers/busybox"


async def exited(rt: DockerRuntime, cid: str, timeout: float = 20.0) -> ContainerState:
    async def check() -> ContainerState | None:
        st = await rt.inspect(cid)
        return st if st.exit_code is not None else None

    return await wait_for(check, timeout, what=f"container {cid[:12]} to exit")  # type: ignore[return-value]


async def run_pod(
    rt: DockerRuntime, node: str, containers: list[dict], ports: list[PortMapping] | None = None
) -> tuple[dict, SandboxInfo, list[str]]:
    p = pod("p" + str(len(containers)), node=node)
    meta = p["metadata"]
    sb = await rt.create_sandbox(
        f"{meta['namespace']}/{meta['name']}", meta["uid"], node, meta["name"], ports or []
    )
    ids = []
    for c in containers:
        cid = await rt.create_container(sb, p, c, attempt=0)
        await rt.start(cid)
        ids.append(cid)
    return p, sb, ids


async def test_info_reports_capacity(runtime: DockerRuntime) -> None:
    cap = await runtime.info()
    assert cap.cpus >= 1 and cap.memory_bytes > 100 * 2**20 and cap.server_version


async def test_containers_of_a_pod_reach_each_other_on_localhost(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    server = {"name": "web", "image": BUSYBOX, "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"]}
    client = {
        "name": "client",
        "image": BUSYBOX,
        "command": [
            "sh",
            "-c",
            "for i in $(seq 100); do wget -q -O- http://localhost:8080/passwd && hostname && exit 0;"
            " sleep 0.1; done; exit 1",
        ],
    }
    p, sb, (web, cli) = await run_pod(runtime, node, [server, client])
    assert sb.ip.count(".") == 3
    st = await exited(runtime, cli)
    out = [line async for line in runtime.logs(cli)]
    assert st.exit_code == 0, out
    assert "root:x:0:0:root:/root:/bin/sh" in out
    assert out[-1] == p["metadata"]["name"]  # the sandbox's hostname is the pod's
    assert (await runtime.inspect(web)).running


async def test_host_ports_tcp_and_udp_are_published(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    tcp_port, udp_port = free_port(), free_port(socket.SOCK_DGRAM)
    web = {"name": "web", "image": BUSYBOX, "command": ["httpd", "-f", "-p", "8080", "-h", "/etc"]}
    udp_echo = {
        "name": "echo",
        "image": "perl",
        "command": [
            "perl",
            "-MIO::Socket::INET",
            "-e",
            '$s = IO::Socket::INET->new(LocalPort => 9999, Proto => "udp") or die "$!";'
            ' while ($s->recv($m, 1024)) { $s->send("echo:$m") }',
        ],
    }
    ports = [PortMapping(8080, tcp_port, "TCP"), PortMapping(9999, udp_port, "UDP")]
    await run_pod(runtime, node, [web, udp_echo], ports)

    async def http_ok() -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", tcp_port)
        except OSError:
            return False
        writer.write(b"GET /hostname HTTP/1.0\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n")[0]

    await wait_for(http_ok, what="hostPort TCP to answer")

    loop = asyncio.get_running_loop()
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            got.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Proto, remote_addr=("127.0.0.1", udp_port))
    try:

        async def udp_ok() -> bool:
            transport.sendto(b"ping")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.3):
                    return await got.get() == b"echo:ping"
            return False

        await wait_for(udp_ok, what="hostPort UDP to echo")
    finally:
        transport.close()


async def test_taken_host_port_is_a_clear_error_and_leaves_nothing(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    port = free_port()
    await runtime.create_sandbox("default/first", "uid-first", node, "first", [PortMapping(80, port)])
    with pytest.raises(DockerError) as err:
        await runtime.create_sandbox("default/second", "uid-second", node, "second", [PortMapping(80, port)])
    assert "already allocated" in err.value.message or "address already in use" in err.value.message
    assert [c.pod_uid for c in await runtime.list(node)] == ["uid-first"]


async def test_memory_limit_oom_is_reported(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    t0 = time.time()
    hog = {
        "name": "hog",
        "image": BUSYBOX,
        "command": ["sh", "-c", "tail /dev/zero"],
        "resources": {"limits": {"memory": "16Mi"}},
    }
    _p, _sb, (cid,) = await run_pod(runtime, node, [hog])
    st = await exited(runtime, cid, timeout=60)
    assert st.exit_code == 137
    raw = await runtime.inspect_raw(cid)
    assert raw["HostConfig"]["Memory"] == 16 * 2**20

    # the engine replays this node's events since t0, then follows live ones
    events: list[RuntimeEvent] = []
    async with asyncio.timeout(20), contextlib.aclosing(runtime.events(node, since=t0)) as stream:
        async for ev in stream:
            events.append(ev)
            if "die" in {e.action for e in events if e.container_id == cid}:
                break
    assert all(e.labels.get("io.jetkube.node") == node for e in events)
    die = next(e for e in events if e.action == "die" and e.container_id == cid)
    assert die.exit_code == 137
    # The engine reports OOM twice: OOMKilled in the container's state and an "oom" event. Under
    # CI load this engine (20.10, cgroup v1) once gave a 137 exit with OOMKilled false: either
    # witness is enough.
    oom_event = any(e.action == "oom" and e.container_id == cid for e in events)
    assert st.oom_killed or oom_event, "neither OOMKilled nor an oom event for a 137 exit"


async def test_termination_message_and_security_context(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    plain = {
        "name": "plain",
        "image": BUSYBOX,
        "command": ["sh", "-c", "echo -n 'Sleep expired' > /dev/termination-log; exit 3"],
    }
    restricted = {
        "name": "restricted",
        "image": BUSYBOX,
        "terminationMessagePath": "/tmp/msg",
        "command": ["sh", "-c", "id -u > /tmp/msg; touch /x 2>/dev/null || echo read-only >> /tmp/msg"],
        "securityContext": {"runAsUser": 1000, "readOnlyRootFilesystem": True},
    }
    _p, _sb, (a, b) = await run_pod(runtime, node, [plain, restricted])
    assert (await exited(runtime, a)).exit_code == 3
    assert await runtime.read_termination_message(a) == "Sleep expired"
    assert (await exited(runtime, b)).exit_code == 0
    assert await runtime.read_termination_message(b) == "1000\nread-only\n"


async def test_exec_returns_output_and_exit_code(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    _p, _sb, (cid,) = await run_pod(
        runtime, node, [{"name": "s", "image": BUSYBOX, "command": ["sleep", "3600"]}]
    )
    code, out = await runtime.exec(cid, ["sh", "-c", "echo out; echo err >&2; exit 7"], timeout=10)
    assert code == 7
    # the engine delivers the two streams' frames in the order it read them: usually out first
    assert sorted(out.splitlines()) == ["err", "out"] and out.endswith("\n")
    code, out = await runtime.exec(cid, ["cat", "/does/not/exist"], timeout=10)
    assert code == 1 and "No such file" in out
    code, out = await runtime.exec(cid, ["no-such-binary"], timeout=10)
    assert code in (126, 127) and "no-such-binary" in out
    t0 = time.monotonic()
    with pytest.raises(Timeout):
        await runtime.exec(cid, ["sleep", "5"], timeout=0.5)
    assert time.monotonic() - t0 < 3


async def test_logs_tail_and_follow(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    counter = {
        "name": "count",
        "image": BUSYBOX,
        "command": ["sh", "-c", "for i in $(seq 1 20); do echo line$i; done"],
    }
    slow = {
        "name": "slow",
        "image": BUSYBOX,
        "command": ["sh", "-c", "echo a; sleep 0.5; echo b >&2; sleep 0.2"],
    }
    _p, _sb, (c1, c2) = await run_pod(runtime, node, [counter, slow])
    await exited(runtime, c1)
    assert [x async for x in runtime.logs(c1, tail=3)] == ["line18", "line19", "line20"]
    assert len([x async for x in runtime.logs(c1)]) == 20
    async with asyncio.timeout(10):
        followed = [x async for x in runtime.logs(c2, follow=True)]
    assert followed == ["a", "b"]


async def test_stop_waits_the_grace_period_then_kills(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    polite = {
        "name": "polite",
        "image": BUSYBOX,
        "command": ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 60 & wait"],
    }
    stubborn = {
        "name": "stubborn",
        "image": BUSYBOX,
        "command": ["sh", "-c", "trap '' TERM; echo ready; sleep 60"],
    }
    _p, sb, (a, b) = await run_pod(runtime, node, [polite, stubborn])
    await wait_for(lambda: _said_ready(runtime, a, b), what="both to install their traps")
    t0 = time.monotonic()
    await runtime.stop(a, grace_seconds=10)
    assert time.monotonic() - t0 < 5 and (await runtime.inspect(a)).exit_code == 0
    t0 = time.monotonic()
    await runtime.stop(b, grace_seconds=1)
    elapsed = time.monotonic() - t0
    assert 0.9 < elapsed < 6 and (await runtime.inspect(b)).exit_code == 137
    await runtime.stop(sb.id, grace_seconds=10)
    assert (await runtime.inspect(sb.id)).exit_code == 0  # pause exits 0 on SIGTERM
    await runtime.remove(a)
    with pytest.raises(NotFound):
        await runtime.inspect(a)
    await runtime.remove(a)  # already gone: fine


async def _said_ready(rt: DockerRuntime, *ids: str) -> bool:
    return all(["ready" in [line async for line in rt.logs(i)] for i in ids])


async def test_missing_image_gives_typed_error_with_engine_message(runtime: DockerRuntime, node_name) -> None:
    ref = "jetkube-test/does-not-exist:1"
    with pytest.raises(ImagePullError) as err:
        await runtime.ensure_image(ref, "IfNotPresent")
    assert err.value.engine_message and err.value.engine_message in err.value.message
    assert err.value.message.startswith(f'Failed to pull image "{ref}": ')
    with pytest.raises(ImageNeverPull):
        await runtime.ensure_image(ref, "Never")
    # a local image with policy Always: the pull fails (no registry) and the local one is used
    assert await runtime.ensure_image(BUSYBOX, "Always") is False
    assert await runtime.ensure_image(BUSYBOX, "Never") is False
    # creating from an absent image without pulling is NotFound, nothing is left
    node = node_name()
    p = pod("noimg", node=node)
    sb = await runtime.create_sandbox("default/noimg", p["metadata"]["uid"], node, "noimg")
    with pytest.raises(NotFound):
        await runtime.create_container(sb, p, {"name": "c", "image": ref}, attempt=0)


async def test_list_sees_only_its_own_node(runtime: DockerRuntime, node_name) -> None:
    a, b = node_name("a"), node_name("b")
    pa, sba, (ca,) = await run_pod(runtime, a, [{"name": "x", "image": BUSYBOX, "command": ["true"]}])
    pb, sbb, (cb,) = await run_pod(runtime, b, [{"name": "y", "image": BUSYBOX, "command": ["sleep", "60"]}])
    await exited(runtime, ca)
    seen_a = await runtime.list(a)
    assert {c.id for c in seen_a} == {sba.id, ca}
    assert {c.type for c in seen_a} == {"sandbox", "container"}
    assert {c.id for c in await runtime.list(b)} == {sbb.id, cb}
    assert {c.id for c in await runtime.list(a, include_dead=False)} == {sba.id}
    assert {c.id for c in await runtime.list(b, pod_uid=pb["metadata"]["uid"], type_="container")} == {cb}
    x = next(c for c in seen_a if c.id == ca)
    assert (x.pod_uid, x.container_name, x.attempt, x.namespace) == (pa["metadata"]["uid"], "x", 0, "default")


async def test_duplicate_create_is_already_exists(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    await runtime.create_sandbox("default/dup", "uid-dup", node, "dup")
    with pytest.raises(AlreadyExists):
        await runtime.create_sandbox("default/dup", "uid-dup", node, "dup")


async def test_unreachable_engine_is_service_unavailable(tmp_path) -> None:
    with pytest.raises(ServiceUnavailable) as err:
        await DockerRuntime.connect(f"unix://{tmp_path}/no-docker.sock", state_dir=tmp_path)
    assert f"unix://{tmp_path}/no-docker.sock" in err.value.message
    assert "unreachable" in err.value.message


async def test_images_for_gc_marks_in_use(runtime: DockerRuntime, node_name) -> None:
    node = node_name()
    await run_pod(runtime, node, [{"name": "s", "image": BUSYBOX, "command": ["sleep", "60"]}])
    images, in_use = await runtime.images_for_gc()
    busybox = next(i for i in images if f"{BUSYBOX}:latest" in i.tags)
    pause = next(i for i in images if "jetkube/pause:latest" in i.tags)
    assert {busybox.id, pause.id} <= in_use
    assert runtime.image_usage.last_used[busybox.id] > 0


async def test_a_cancelled_create_leaves_no_container(runtime: DockerRuntime, node_name) -> None:
    """The engine finishes a create it has received even when the client gives up: a kubelet
    stopped mid-create must still leave nothing behind once the cancelled call has returned."""
    node = node_name()
    p = pod("cancelled", node=node)
    meta = p["metadata"]
    sb = await runtime.create_sandbox(f"{meta['namespace']}/{meta['name']}", meta["uid"], node, meta["name"])
    before = {c.id for c in await runtime.list(node)}
    for attempt, delay in enumerate((0.002, 0.005, 0.01, 0.02, 0.04, 0.08)):
        spec = {"name": f"c{attempt}", "image": BUSYBOX, "command": ["sleep", "60"]}
        task = asyncio.create_task(runtime.create_container(sb, p, spec, attempt=attempt))
        await asyncio.sleep(delay)  # cancel at various points of the engine's work
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            made = await task
            before.add(made)  # finished before the cancel: a container the caller knows about
        assert {c.id for c in await runtime.list(node)} == before, f"left behind (cancel after {delay} s)"

"""The JETKUBE_LOGS stream, read as an outside NATS client would (plain nats-py): the lines of a
pod in an opted-in namespace arrive, in order with their stream, none of a namespace that did not
opt in, and a kubelet restarted in between publishes the rest without repeating a line."""

from __future__ import annotations

import json
from typing import Any

import nats

from tests.waiting import wait_for as eventually

TALKER = (
    "echo s-1; echo s-2; echo s-3 >&2;"
    " while [ ! -f /tmp/go ]; do sleep 0.2; done; echo after-restart; exec sleep 3600"
)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


async def test_opted_in_namespace_lines_reach_an_outside_subscriber(nodes: Any, api: Any) -> None:
    cluster = await nodes(1)
    node = cluster.names[0]
    await api.create("namespaces", namespace("streamed", **{"logging.jetkube.io/stream": "true"}))
    await api.create("namespaces", namespace("quiet"))
    await cluster.pod("mute", node, "echo hush-1; echo hush-2; exec sleep 3600", namespace="quiet")
    await cluster.pod("talker", node, TALKER, namespace="streamed")

    nc = await nats.connect(cluster.url)
    got: list[tuple[str, dict[str, Any]]] = []

    async def on_msg(msg: Any) -> None:
        got.append((msg.subject, json.loads(msg.data)))
        await msg.ack()

    try:
        js = nc.jetstream()

        async def stream_exists() -> bool:
            try:
                await js.stream_info("JETKUBE_LOGS")
                return True
            except nats.js.errors.NotFoundError:
                return False

        await eventually(stream_exists, 20, "the JETKUBE_LOGS stream")
        await js.subscribe("jetkube.logs.>", cb=on_msg)

        def lines() -> list[str]:
            return [d["line"] for s, d in got if s == "jetkube.logs.streamed.talker.c"]

        async def first_three() -> bool:
            return sorted(lines()) == ["s-1", "s-2", "s-3"]

        await eventually(first_three, 30, "the talker's three lines")
        sample = next(d for _, d in got if d["line"] == "s-3")
        assert sample["stream"] == "stderr" and sample["node"] == node
        assert (sample["namespace"], sample["pod"], sample["container"]) == ("streamed", "talker", "c")
        assert sample["time"].endswith("Z")
        assert next(d for _, d in got if d["line"] == "s-1")["stream"] == "stdout"

        # the kubelet restarts; the container goes on and prints one more line
        await cluster.restart(node)
        talker = next(
            c for c in await cluster.runtime.list(node) if c.pod_name == "talker" and c.type == "container"
        )
        code, _ = await cluster.runtime.exec(talker.id, ["touch", "/tmp/go"])
        assert code == 0

        async def after_restart() -> bool:
            return "after-restart" in lines()

        await eventually(after_restart, 30, "the line printed after the restart")
        assert sorted(lines()) == ["after-restart", "s-1", "s-2", "s-3"]  # each once
        assert not [s for s, _ in got if s.startswith("jetkube.logs.quiet.")]
    finally:
        await nc.close()

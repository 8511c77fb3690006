"""``get events -w``: Events, kept on their own stream, watched like any other kind."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from bus.client import ApiClient
from bus.events import EventRecorder
from tests.waiting import jetkube, line_with, start_jetkube


def involved(name: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": "default", "uid": name}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta}


@pytest.fixture
def recorder(api: ApiClient) -> EventRecorder:
    return EventRecorder(api.bus, "tester")


async def record(recorder: EventRecorder, name: str, reason: str, message: str) -> None:
    await recorder.record(involved(name), "Normal", reason, message)
    await recorder.flush()


async def test_a_watch_opens_with_the_events_then_sends_each_new_one(
    api: ApiClient, recorder: EventRecorder
) -> None:
    await record(recorder, "a", "Pinged", "first")
    seen: list[tuple[str, str, int]] = []

    async def follow() -> None:
        async with contextlib.aclosing(api.watch("events", "default")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    await record(recorder, "b", "Poked", "second")
                    await record(recorder, "a", "Pinged", "first")  # a repeat: the same Event, count 2
                    continue
                seen.append((ev.type, ev.object["reason"], ev.object["count"]))
                if len(seen) == 3:
                    return

    await asyncio.wait_for(follow(), 20)
    assert seen == [("ADDED", "Pinged", 1), ("ADDED", "Poked", 1), ("MODIFIED", "Pinged", 2)]


async def test_a_watch_from_the_lists_revision_sends_only_what_came_after(
    api: ApiClient, recorder: EventRecorder
) -> None:
    await record(recorder, "old", "Pinged", "before the list")
    listed = await api.list("events", "default")
    assert [e["reason"] for e in listed["items"]] == ["Pinged"]
    revision = listed["metadata"]["resourceVersion"]
    assert int(revision) > 0
    await record(recorder, "new", "Poked", "after the list")

    async def first() -> Any:
        async with contextlib.aclosing(api.watch("events", "default", resource_version=revision)) as events:
            async for ev in events:
                return ev

    ev = await asyncio.wait_for(first(), 20)
    assert (ev.type, ev.object["reason"], ev.object["involvedObject"]["name"]) == ("ADDED", "Poked", "new")


async def test_other_namespaces_events_stay_out_of_a_namespaced_watch(
    api: ApiClient, recorder: EventRecorder
) -> None:
    other = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "kube-system"}}
    seen: list[str] = []

    async def follow() -> None:
        async with contextlib.aclosing(api.watch("events", "default")) as events:
            async for ev in events:
                if ev.type == "BOOKMARK":
                    await recorder.record(other, "Normal", "Elsewhere", "kube-system")
                    await record(recorder, "here", "Here", "default")
                    continue
                seen.append(ev.object["reason"])
                return

    await asyncio.wait_for(follow(), 20)
    assert seen == ["Here"]


async def test_the_cli_prints_a_row_per_event_as_it_comes(
    nats_url: str, api: ApiClient, recorder: EventRecorder
) -> None:
    await record(recorder, "a", "Pinged", "first")
    proc = await start_jetkube(nats_url, "get", "events", "-w")
    try:
        header = await line_with(proc, "REASON")
        assert header.split()[:5] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
        assert "first" in await line_with(proc, "Pinged")
        await record(recorder, "b", "Poked", "second")
        assert "pod/b" in await line_with(proc, "Poked")
    finally:
        proc.terminate()
        await proc.wait()
    code, out, err = await jetkube(nats_url, "get", "events", "-o", "name")
    assert code == 0 and len(out.splitlines()) == 2, (out, err)

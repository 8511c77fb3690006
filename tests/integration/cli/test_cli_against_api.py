"""The CLI as a subprocess against a real nats-server and the api actor (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from tests.seedpaths import SEED_EXAMPLES
from tests.waiting import jetkube, lines_until, start_jetkube, wait_for

SEED = str(SEED_EXAMPLES) + "/"


async def test_apply_get_patch_delete(nats_url: str, api) -> None:
    code, out, err = await jetkube(nats_url, "apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert code == 0, err
    assert out == "pod/liveness-exec created\n"
    code, out, err = await jetkube(nats_url, "apply", "-f", SEED + "pod-liveness-exec.yaml")
    assert out == "pod/liveness-exec unchanged\n", err
    code, out, err = await jetkube(nats_url, "get", "pods")
    assert code == 0 and out, (out, err)
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert out.splitlines()[1].split()[:3] == ["liveness-exec", "0/1", "Pending"]
    code, out, err = await jetkube(nats_url, "get", "pods", "nope")
    assert code == 1 and err.strip() == 'Error from server (NotFound): pods "nope" not found'
    code, out, err = await jetkube(nats_url, "delete", "pod", "liveness-exec", "--force", "--grace-period=0")
    assert code == 0, err
    assert out == 'pod "liveness-exec" force deleted\n'


async def test_unreachable_server_is_one_line() -> None:
    code, _out, err = await jetkube("nats://127.0.0.1:1", "get", "pods")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "nats://127.0.0.1:1" in err


def configmap(name: str, value: str) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "data": {"k": value}}


async def test_watch_only_prints_changes_and_no_current_object(nats_url: str, api) -> None:
    await api.create("configmaps", configmap("old", "1"))
    proc = await start_jetkube(nats_url, "get", "configmaps", "--watch-only")
    watching = asyncio.Event()

    async def probe() -> None:  # a new configmap every 0.2 s until the watch shows one
        for i in itertools.count():
            await api.create("configmaps", configmap(f"probe-{i}", "1"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watching.wait(), 0.2)
                return

    prober = asyncio.create_task(probe())
    try:
        lines = await lines_until(proc, "probe-")
        watching.set()
        await prober
        await api.create("configmaps", configmap("a-much-longer-configmap-name-than-the-first", "1"))
        lines += await lines_until(proc, "a-much-longer")
    finally:
        prober.cancel()
        proc.terminate()
        await proc.wait()
    assert lines[0].split() == ["NAME", "DATA", "AGE"], lines
    assert not any(line.split()[0] == "old" for line in lines), lines
    # a name longer than the column the first row set still has the gap before the next column
    assert lines[-1].split()[:2] == ["a-much-longer-configmap-name-than-the-first", "1"], lines


async def test_a_named_watch_prints_the_object_once_then_its_changes(nats_url: str, api) -> None:
    created = await api.create("configmaps", configmap("one", "1"))
    after = int(created["metadata"]["resourceVersion"]) + 1

    async def cli_watching() -> bool:  # the CLI's watch: a consumer starting right after the object
        consumers = await api.bus.js.consumers_info("KV_jetkube")
        return any(
            c.config.opt_start_seq == after
            and (c.config.filter_subject or "").startswith("$KV.jetkube.configmaps.")
            for c in consumers
        )

    proc = await start_jetkube(nats_url, "get", "configmap", "one", "-w", "-o", 'jsonpath={.data.k}{"\\n"}')
    try:
        first = await lines_until(proc, "1")
        await wait_for(cli_watching, what="the CLI's watch from the object's revision")
        await api.patch("configmaps", "one", {"data": {"k": "2"}}, "merge", namespace="default")
        second = await lines_until(proc, "2")
    finally:
        proc.terminate()
        await proc.wait()
    # the object once (not again when the watch starts), then its change
    assert [line.strip() for line in first + second] == ["1", "2"]

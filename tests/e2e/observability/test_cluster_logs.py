"""``jetkube logs -l SELECTOR`` across nodes: every matching pod's container, kubectl's defaults
(last 10 lines each with a selector), ``--prefix``, ``--all-containers``, ``-f`` merged, and the
``--max-log-requests`` guard."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import Any

from tests.e2e.observability.conftest import BUSYBOX
from tests.waiting import jetkube
from tests.waiting import wait_for as eventually

TWELVE = "for i in $(seq 1 12); do echo {name}-$i; done; while :; do echo {name}-tick; sleep 0.5; done"


async def test_logs_by_selector_across_two_nodes(nodes: Any) -> None:
    cluster = await nodes(2)
    first, second = cluster.names
    await cluster.pod(
        "chatty-a",
        first,
        "for i in $(seq 1 12); do echo a-$i; done; exec sleep 3600",
        labels={"app": "chatty"},
    )
    await cluster.pod(
        "chatty-b",
        second,
        "for i in $(seq 1 12); do echo b-$i; done; exec sleep 3600",
        labels={"app": "chatty"},
    )
    await cluster.pod(
        "duo",
        first,
        "",
        labels={"app": "duo"},
        containers=[
            {"name": "one", "image": BUSYBOX, "command": ["sh", "-c", "echo from-one; exec sleep 3600"]},
            {"name": "two", "image": BUSYBOX, "command": ["sh", "-c", "echo from-two; exec sleep 3600"]},
        ],
    )

    code, out, err = await jetkube(cluster.url, "logs", "-l", "app=chatty", "--prefix")
    assert code == 0, err
    want = [f"[pod/chatty-a/c] a-{i}" for i in range(3, 13)] + [
        f"[pod/chatty-b/c] b-{i}" for i in range(3, 13)
    ]
    assert out.splitlines() == want  # the last 10 lines of each, pod by pod

    code, out, err = await jetkube(cluster.url, "logs", "-l", "app=chatty", "--tail", "1")
    assert (code, out.splitlines()) == (0, ["a-12", "b-12"]), err

    code, out, err = await jetkube(cluster.url, "logs", "-l", "app=duo", "--all-containers", "--prefix")
    assert (code, out.splitlines()) == (0, ["[pod/duo/one] from-one", "[pod/duo/two] from-two"]), err

    code, out, err = await jetkube(cluster.url, "logs", "-l", "app=chatty", "-f", "--max-log-requests", "1")
    assert code == 1
    assert err.strip() == (
        "error: you are attempting to follow 2 log streams, but maximum allowed concurrency is 1, "
        "use --max-log-requests to increase the limit"
    )
    code, out, err = await jetkube(cluster.url, "logs", "-l", "app=none")
    assert (code, out, err.strip()) == (0, "", "No resources found in default namespace.")
    code, out, err = await jetkube(cluster.url, "logs", "chatty-a", "-l", "app=chatty")
    assert (code, err.strip()) == (1, "error: only a selector (-l) or a POD name is allowed")


async def test_follow_merges_the_streams_of_every_pod(nodes: Any) -> None:
    cluster = await nodes(2)
    first, second = cluster.names
    await cluster.pod("tick-a", first, TWELVE.format(name="a"), labels={"app": "tick"})
    await cluster.pod("tick-b", second, TWELVE.format(name="b"), labels={"app": "tick"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "--server",
        cluster.url,
        "logs",
        "-l",
        "app=tick",
        "-f",
        "--prefix",
        "--tail",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    seen: list[str] = []
    try:

        async def ticks_from_both() -> bool:
            line = (await proc.stdout.readline()).decode().rstrip("\n")  # type: ignore[union-attr]
            seen.append(line)
            return any(s.startswith("[pod/tick-a/c] ") and s.endswith("a-tick") for s in seen) and any(
                s.startswith("[pod/tick-b/c] ") and s.endswith("b-tick") for s in seen
            )

        await eventually(ticks_from_both, 30, "new lines from both pods")
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()
    assert all(s.startswith(("[pod/tick-a/c] ", "[pod/tick-b/c] ")) for s in seen), seen

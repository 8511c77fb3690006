"""Helpers for the kubelet's end-to-end tests (polling with deadlines, pod dicts, free ports)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest


async def wait_for(
    cond: Callable[[], Awaitable[object]], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> object:
    """Poll ``cond`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = await cond()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or cond}")
        await asyncio.sleep(interval)


def pod(name: str, uid: str | None = None, node: str = "", namespace: str = "default") -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": uid or str(uuid.uuid4())},
        "spec": {"nodeName": node},
    }


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

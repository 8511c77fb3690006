"""Helpers of the operations tests: the CLI in-process, raw reads of the state bucket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from bus.client import ApiClient
from bus.connection import Bus

runner = CliRunner()


def jetkube(url: str, *args: str, ok: bool = True) -> Any:
    """Run one CLI command as a user would (``jetkube --server URL ...``); the click result."""
    from cli.main import app

    result = runner.invoke(app, ["--server", url, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"jetkube {' '.join(args)} failed: {result.output}"
    return result


async def _stored_versions(url: str, resources: tuple[str, ...]) -> dict[str, str]:
    """key -> the apiVersion the object is written in: every key (listed as Store.list lists,
    complete even while controllers write), then each raw message by direct get."""
    from actors.storagemigration import raw_get
    from bus.keys import object_key
    from bus.store import Store

    bus = await Bus.connect(url)
    try:
        store = Store(bus)
        out: dict[str, str] = {}
        for resource in resources:
            items, _revision = await store.list(resource)
            for obj in items:
                key = object_key(resource, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                value, _seq = await raw_get(bus, store.stream, store.prefix, key)
                if value is not None:
                    out[key] = value["apiVersion"]
        return out
    finally:
        await bus.close()


def stored_versions(url: str, *resources: str) -> dict[str, str]:
    return asyncio.run(_stored_versions(url, resources))


async def _objects(url: str, resources: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    bus = await Bus.connect(url)
    try:
        api = ApiClient(bus)
        out: dict[str, dict[str, Any]] = {}
        for resource in resources:
            for obj in (await api.list(resource))["items"]:
                meta = obj["metadata"]
                out[f"{resource}/{meta.get('namespace')}/{meta['name']}"] = obj
        return out
    finally:
        await bus.close()


def objects(url: str, *resources: str) -> dict[str, dict[str, Any]]:
    """Every object of those resources as a user reads them (current versions)."""
    return asyncio.run(_objects(url, resources))


def until(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)

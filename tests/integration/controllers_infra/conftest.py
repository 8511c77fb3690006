"""The ``api`` fixture, made to wait until the api actor answers (its responder subscribes a moment
after ``control_plane`` is ready, and a request before that finds no responder)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bus.client import ApiClient
from schemas.errors import ServiceUnavailable


@pytest.fixture
async def api(bus: Any, control_plane: Any) -> ApiClient:
    client = ApiClient(bus)
    deadline = time.monotonic() + 10
    while True:
        try:
            await client.get("namespaces", "default")
            return client
        except ServiceUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)

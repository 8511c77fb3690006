"""The workload of a chaos run: clients incrementing counters by compare-and-set, recording a history.

Each counter is a ConfigMap ``chaos-<i>`` (``data.v``, a decimal). A client, again and again, reads
a counter (a ``read`` operation) and writes ``v + 1`` on the revision it read (a ``cas [v, v+1]``,
compare-and-set on resourceVersion; since every write raises the value, the value tells the
revision). Results: ok; a Conflict is an ok cas that did not apply (the register held another
value); a time-out or an unreachable api is ``info`` (it may have landed); anything else ``fail``.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from cli.chaos.history import Event
from schemas.errors import AlreadyExists, Conflict, JetkubeError, ServiceUnavailable, Timeout

NAMESPACE = "default"


def counter_name(i: int) -> str:
    return f"chaos-{i}"


class Recorder:
    """The history: events with times in seconds since the recorder was made (one monotonic clock)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.events: list[Event] = []

    def now(self) -> float:
        return time.monotonic() - self.t0

    def add(self, process: int, type_: str, f: str, key: str, value: Any = None, **extra: Any) -> None:
        self.events.append(
            Event(process=process, type=type_, f=f, key=key, value=value, time=self.now(), **extra)  # type: ignore[arg-type]
        )


async def create_counters(api: Any, count: int) -> None:
    """Each counter at 0 (an existing one is set back to 0 by a fresh create after a delete)."""
    for i in range(count):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": counter_name(i)},
            "data": {"v": "0"},
        }
        try:
            await api.create("configmaps", body, namespace=NAMESPACE)
        except AlreadyExists:
            await api.delete("configmaps", counter_name(i), namespace=NAMESPACE)
            await api.create("configmaps", body, namespace=NAMESPACE)


def _unknown(err: JetkubeError) -> bool:
    """Whether the operation may have happened: a time-out, an unreachable api, any server error
    (5xx). Only a refusal (4xx) says it did not."""
    return isinstance(err, Timeout | ServiceUnavailable) or int(getattr(err, "code", 500) or 500) >= 500


async def read(api: Any, rec: Recorder, process: int, key: str) -> tuple[int, dict[str, Any]] | None:
    rec.add(process, "invoke", "read", key)
    try:
        obj = await api.get("configmaps", key, namespace=NAMESPACE)
    except JetkubeError as err:
        rec.add(process, "info" if _unknown(err) else "fail", "read", key, error=str(err)[:200])
        return None
    except Exception as err:  # an untranslated library error is a bug elsewhere: unknown outcome
        rec.add(process, "info", "read", key, error=f"{type(err).__name__}: {err}"[:200])
        return None
    value = int((obj.get("data") or {}).get("v", "0"))
    rec.add(process, "ok", "read", key, value)
    return value, obj


async def increment(api: Any, rec: Recorder, process: int, key: str, value: int, obj: dict[str, Any]) -> None:
    new = {**obj, "data": {**(obj.get("data") or {}), "v": str(value + 1)}}
    rec.add(process, "invoke", "cas", key, [value, value + 1])
    try:
        await api.update("configmaps", new, namespace=NAMESPACE)
    except Conflict:
        rec.add(process, "ok", "cas", key, [value, value + 1], applied=False)
    except JetkubeError as err:
        rec.add(
            process, "info" if _unknown(err) else "fail", "cas", key, [value, value + 1], error=str(err)[:200]
        )
    except Exception as err:  # an untranslated library error is a bug elsewhere: unknown outcome
        rec.add(process, "info", "cas", key, [value, value + 1], error=f"{type(err).__name__}: {err}"[:200])
    else:
        rec.add(process, "ok", "cas", key, [value, value + 1], applied=True)


async def client(
    api: Any, rec: Recorder, process: int, keys: list[str], seed: int, stop: asyncio.Event
) -> None:
    rng = random.Random(seed * 1000 + process)
    while not stop.is_set():
        key = rng.choice(keys)
        got = await read(api, rec, process, key)
        if got is not None:
            await increment(api, rec, process, key, *got)
        else:
            await asyncio.sleep(0.2)  # the api is unreachable: do not spin

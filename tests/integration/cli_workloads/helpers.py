"""The CLI as a subprocess against the in-process api and controllers; streamed output."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field

from cli.localcluster import ROOT


async def start(url: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "--server",  # before the command: nothing after ``--`` (exec) is an option
        url,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def jetkube(url: str, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    proc = await start(url, *args)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


@dataclass
class Streamed:
    """A running command whose stdout lines are collected as they come."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def wait(self, timeout: float = 60.0) -> tuple[int, list[str], str]:
        assert self.reader is not None
        await asyncio.wait_for(self.reader, timeout)
        err = await self.proc.stderr.read() if self.proc.stderr else b""
        code = await self.proc.wait()
        return code, self.lines, err.decode()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def stream(url: str, *args: str) -> Streamed:
    proc = await start(url, *args)
    s = Streamed(proc)

    async def read() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            s.lines.append(line.decode().rstrip("\n"))

    s.reader = asyncio.create_task(read(), name="cli-stdout")
    return s


async def until(check, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll a sync predicate with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)

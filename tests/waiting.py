"""What many tests share: poll a condition with a deadline, and run the CLI as a user would."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


async def wait_for(
    cond: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "", interval: float = 0.05
) -> Any:
    """Poll ``cond`` until it returns something truthy (returned); fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = await cond()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or cond}")
        await asyncio.sleep(interval)


async def start_jetkube(url: str, *args: str) -> asyncio.subprocess.Process:
    """``jetkube --server URL ARGS...`` started in a subprocess, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "--server",
        url,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


async def jetkube(url: str, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """``jetkube --server URL ARGS...`` in a subprocess: (exit code, stdout, stderr)."""
    proc = await start_jetkube(url, *args)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def line_with(proc: asyncio.subprocess.Process, text: str, timeout: float = 30.0) -> str:
    """The next line of ``proc``'s output that contains ``text``; fails if the output ends first."""
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
        assert line, f"the command ended before printing {text!r}"
        if text in line:
            return line


async def lines_until(proc: asyncio.subprocess.Process, text: str, timeout: float = 30.0) -> list[str]:
    """Every line of ``proc``'s output up to and including the first that contains ``text``."""
    assert proc.stdout is not None
    out: list[str] = []
    while not out or text not in out[-1]:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
        assert line, f"the command ended before printing {text!r}; it printed {out}"
        out.append(line)
    return out

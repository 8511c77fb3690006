"""``jetkube exec -i/-t`` and ``jetkube attach -i/-t``: this terminal (or pipe) wired to a session
with the pod's kubelet (actors/kubelet/session_protocol.py).

Standard input is read as it becomes readable (a regular file is read straight through) and sent;
its end closes the process's stdin. With ``-i -t`` and a terminal on stdin, the terminal is put in raw
mode for the session (restored after, whatever happens), its size is sent first and again on each
SIGWINCH, and the process's output (one stream on a tty) is written as it comes. Without a terminal
``-t`` is dropped with kubectl's warning, and without ``-i`` silently (as kubectl does).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
import termios
import tty as ttymod
from collections.abc import Iterator
from typing import Any

import typer

from actors.kubelet.session_client import Session, open_session
from actors.runtime.supervisor import guarded_task

READ_BYTES = 32 * 1024


def terminal_wanted(tty: bool) -> bool:
    """``-t`` with a terminal on stdin; kubectl's warning when there is none."""
    if not tty:
        return False
    if sys.stdin.isatty():
        return True
    typer.echo("Unable to use a TTY - input is not a terminal or the right kind of file", err=True)
    return False


@contextlib.contextmanager
def raw_terminal(fd: int, on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        ttymod.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: what was typed already is kept
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def _feed_stdin(session: Session) -> None:
    fd = sys.stdin.fileno()
    loop = asyncio.get_running_loop()
    regular = stat.S_ISREG(os.fstat(fd).st_mode)  # epoll cannot watch a file; it never blocks
    while True:
        if not regular:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
        data = os.read(fd, READ_BYTES)
        if not data:
            await session.close_stdin()
            return
        await session.write(data)


async def run_session(
    bus: Any, node: str, verb: str, payload: dict[str, Any], *, stdin: bool, tty: bool
) -> int:
    """Run an exec (``payload`` has a command) or an attach to its end; the exit code (0 for attach)."""
    use_tty = stdin and terminal_wanted(tty)  # as kubectl: -t without -i gets no terminal
    payload = {**payload, "stdin": stdin, "stdout": True, "stderr": not use_tty, "tty": use_tty}
    loop = asyncio.get_running_loop()
    outs = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
    async with open_session(bus, node, verb, payload) as session:
        feeder: asyncio.Future[None] | None = None
        with raw_terminal(sys.stdin.fileno(), use_tty):
            if use_tty:
                size = os.get_terminal_size(sys.stdin.fileno())
                await session.resize(size.columns, size.lines)

                def resized() -> None:
                    size = os.get_terminal_size(sys.stdin.fileno())
                    guarded_task("exec-resize", session.resize(size.columns, size.lines))

                loop.add_signal_handler(signal.SIGWINCH, resized)
            if stdin:
                feeder = asyncio.ensure_future(_feed_stdin(session))
            try:
                async for fd, data in session.output():
                    outs[fd].write(data)
                    outs[fd].flush()
            finally:
                if use_tty:
                    loop.remove_signal_handler(signal.SIGWINCH)
                if feeder is not None:
                    feeder.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await feeder
        return session.exit_code or 0

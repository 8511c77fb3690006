"""The engine's side of an interactive session: a Docker exec or container attach with its
standard input, through aiodocker's hijacked-connection Stream.

    s = await open_exec(docker, engine, cid, ["sh"], stdin=True, stdout=True, stderr=False, tty=True)
    await s.write(b"ls\\n"); await s.resize(80, 24); await s.close_stdin()
    while (frame := await s.read()) is not None: ...       # (fd, bytes); fd 1 for a tty
    code = await s.exit_code()                             # the exec's; None for attach
    await s.close()

Closing standard input is a half-close of the hijacked connection (what ``docker exec -i`` does at
the end of its input): the engine closes the process's stdin and output keeps flowing. aiodocker
has no public half-close (its ``Stream.close`` closes both ways), so it is done on the stream's
transport here. A connection that cannot half-close (TLS to a remote engine) ignores it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import aiodocker
import structlog
from aiodocker.stream import Stream

from actors.kubelet.docker_errors import docker_errors
from schemas.errors import Timeout

log = structlog.get_logger(__name__)

EXIT_CODE_WAIT = 5.0  # seconds the engine may take to report an ended exec's code


class EngineSession:
    def __init__(
        self,
        docker: aiodocker.Docker,
        engine: str,
        stream: Stream,
        what: str,
        *,
        exec_: Any = None,
        container_id: str | None = None,
    ) -> None:
        self._docker = docker
        self.engine = engine
        self._stream = stream
        self.what = what
        self._exec = exec_
        self._container_id = container_id
        self._stdin_closed = False

    async def read(self) -> tuple[int, bytes] | None:
        """The next output (fd, bytes), or None at the end."""
        with docker_errors(f"read the output of {self.what}", self.engine):
            msg = await self._stream.read_out()
        return None if msg is None else (int(msg.stream), bytes(msg.data))

    async def write(self, data: bytes) -> None:
        if self._stdin_closed or not data:
            return
        with docker_errors(f"write to the standard input of {self.what}", self.engine):
            await self._stream.write_in(data)

    async def close_stdin(self) -> None:
        if self._stdin_closed:
            return
        self._stdin_closed = True
        resp = getattr(self._stream, "_resp", None)  # aiodocker keeps the upgraded response here
        transport = resp.connection.transport if resp is not None and resp.connection is not None else None
        if transport is not None and transport.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
        else:
            log.debug("session.cannot_half_close", what=self.what)

    async def resize(self, width: int, height: int) -> None:
        with docker_errors(f"resize the terminal of {self.what}", self.engine):
            if self._exec is not None:
                await self._exec.resize(w=width, h=height)
            elif self._container_id is not None:
                await self._docker.containers.container(self._container_id).resize(w=width, h=height)

    async def exit_code(self) -> int | None:
        """An ended exec's exit code (None for attach, or when the engine will not say)."""
        if self._exec is None:
            return None
        deadline = time.monotonic() + EXIT_CODE_WAIT
        with docker_errors(f"inspect {self.what}", self.engine):
            while True:
                info = await self._exec.inspect()
                if not info.get("Running") and info.get("ExitCode") is not None:
                    return int(info["ExitCode"])
                if time.monotonic() > deadline:
                    raise Timeout(f"{self.what}: the exec did not report an exit code")
                await asyncio.sleep(0.01)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._stream.close()


async def open_exec(
    docker: aiodocker.Docker,
    engine: str,
    container_id: str,
    cmd: Sequence[str],
    *,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
) -> EngineSession:
    """Create and start an exec whose streams are attached (the process runs from here on)."""
    what = f"exec {list(cmd)!r} in {container_id[:12]}"
    with docker_errors(what, engine):
        ex = await docker.containers.container(container_id).exec(
            list(cmd), stdin=stdin, stdout=stdout, stderr=stderr, tty=tty
        )
        stream = ex.start(detach=False)
        await stream._init()  # start now: resizes and stdin go to a started exec
    return EngineSession(docker, engine, stream, what, exec_=ex)


async def open_attach(
    docker: aiodocker.Docker, engine: str, container_id: str, *, stdin: bool, stdout: bool, stderr: bool
) -> EngineSession:
    """Attach to the container's main process: its output from now on, and its stdin (the
    container must have been created with OpenStdin for the input to reach it)."""
    what = f"attach to {container_id[:12]}"
    with docker_errors(what, engine):
        stream = docker.containers.container(container_id).attach(stdin=stdin, stdout=stdout, stderr=stderr)
        await stream._init()
    return EngineSession(docker, engine, stream, what, container_id=container_id)

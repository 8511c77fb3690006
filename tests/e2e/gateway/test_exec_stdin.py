"""``kubectl exec -i/-t`` and ``kubectl attach -i/-t`` through the gateway to a real kubelet on the
real Docker engine, and ``jetkube exec -i/-t`` straight over NATS: stdin reaches the process (and
its end closes the process's stdin), a terminal's input and resizes reach a shell, and the exit
code comes back. The kubelet makes the pod's containers with the spec's ``stdin``, ``stdinOnce``
and ``tty``, which attach needs."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.kubelet_services.helpers import BUSYBOX
from tests.integration.gateway.conftest import KUBECTL, Cluster
from tests.waiting import wait_for

pytestmark = pytest.mark.asyncio

CONTAINERS: list[dict[str, Any]] = [
    {"name": "shell", "image": BUSYBOX, "command": ["sleep", "3600"]},
    {"name": "cat", "image": BUSYBOX, "command": ["cat"], "stdin": True, "stdinOnce": True},
    {"name": "tty", "image": BUSYBOX, "command": ["sh"], "stdin": True, "tty": True},
]


@pytest.fixture
async def pod(nodes: Any) -> tuple[Any, str]:
    """A running pod of three containers on a real kubelet: ``shell`` (for exec), ``cat`` (stdin,
    stdinOnce) and ``tty`` (a shell on a terminal, its main process)."""
    kubelets = await nodes(1)
    await kubelets.pod("interactive", kubelets.names[0], "", containers=CONTAINERS)
    return kubelets, "interactive"


async def test_stdin_is_streamed_and_its_end_closes_the_processes_stdin(
    cluster: Cluster, pod: tuple[Any, str]
) -> None:
    _, name = pod
    run = await cluster.kubectl("exec", "-i", name, "-c", "shell", "--", "cat", stdin="hello\n")
    assert (run.code, run.out) == (0, "hello\n"), run.err
    big = "x" * 700_000 + "\n"  # several chunks each way, one in flight at a time
    counted = await cluster.ok("exec", "-i", name, "-c", "shell", "--", "wc", "-c", stdin=big)
    assert counted.strip() == str(len(big))


async def test_exit_codes_and_stderr_come_back(cluster: Cluster, pod: tuple[Any, str]) -> None:
    _, name = pod
    script = "echo out; echo err >&2; exit 3"
    failed = await cluster.kubectl("exec", name, "-c", "shell", "--", "sh", "-c", script)
    assert (failed.code, failed.out) == (3, "out\n")
    assert "err\n" in failed.err
    assert "command terminated with exit code 3" in failed.err
    assert (await cluster.kubectl("exec", name, "-c", "shell", "--", "true")).code == 0


async def test_attach_i_sends_stdin_to_the_main_process(cluster: Cluster, pod: tuple[Any, str]) -> None:
    # cat echoes its input; the end of kubectl's stdin closes cat's (stdinOnce), so cat and the
    # container end, and with them the attach
    _, name = pod
    run = await cluster.kubectl("attach", "-i", name, "-c", "cat", stdin="through attach\n", timeout=60)
    assert run.code == 0, run.err
    assert "through attach" in run.out


async def test_jetkube_exec_i_and_t(cluster: Cluster, pod: tuple[Any, str]) -> None:
    kubelets, name = pod
    jetkube = [sys.executable, "-m", "cli.main", "--server", kubelets.url]
    async with terminal(
        dict(os.environ, PYTHONPATH=os.getcwd()), *jetkube, "exec", "-it", name, "-c", "shell", "--", "sh"
    ) as term:
        term.type("stty size; echo jk-$((6*7))\n")
        await term.expect("jk-42", "the shell's answer through jetkube exec -it")
        await term.expect("40 100", "the terminal's size")
        term.type("exit 6\n")
        assert await term.wait() == 6

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "--server",
        kubelets.url,
        "exec",
        "-i",
        name,
        "-c",
        "shell",
        "--",
        "sh",
        "-c",
        "cat; exit 4",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    out, err = await asyncio.wait_for(proc.communicate(b"via nats\n"), 60)
    assert (proc.returncode, out) == (4, b"via nats\n"), err
    assert b"command terminated with exit code 4" in err


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class Terminal:
    """kubectl on a pseudo-terminal: what it printed, and the terminal's size."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.output = b""
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    def set_size(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if self.proc is not None:
            self.proc.send_signal(signal.SIGWINCH)

    async def start(self, env: dict[str, str], *args: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            env=env,
            start_new_session=True,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        """Collect the terminal's output (the loop watches the master side: no thread)."""
        loop = asyncio.get_running_loop()
        os.set_blocking(self.master, False)
        while True:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self.master, _wake, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.master)
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                return
            self.output += data

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    async def shows(self, text: str, timeout: float) -> bool:
        """Whether ``text`` appears within ``timeout`` seconds (no failure: for retrying loops)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text.encode() not in self.output:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def expect(self, text: str, what: str, timeout: float = 30) -> None:
        if not await self.shows(text, timeout):
            pytest.fail(
                f"timed out after {timeout}s waiting for {what}; the terminal shows {self.output[-400:]!r}"
            )

    async def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        os.close(self.slave)
        os.close(self.master)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


@contextlib.asynccontextmanager
async def terminal(env: dict[str, str], *args: str) -> AsyncIterator[Terminal]:
    """``args`` run on a new pseudo-terminal of 40 rows and 100 columns."""
    term = Terminal()
    term.set_size(40, 100)
    try:
        await term.start(env, *args)
        yield term
    finally:
        await term.close()


async def test_exec_it_gives_a_shell_a_terminal_that_follows_resizes(
    cluster: Cluster, pod: tuple[Any, str]
) -> None:
    _, name = pod
    async with terminal(cluster.env, KUBECTL, "exec", "-it", name, "-c", "shell", "--", "sh") as term:
        term.type("echo typed-$((6*7))\n")
        await term.expect("typed-42", "the shell's answer to typed input")
        term.type("stty size; tty\n")
        await term.expect("40 100", "the terminal's first size")
        await term.expect("/dev/pts/", "a terminal for the exec")
        term.set_size(30, 120)

        async def resized() -> bool:
            term.type("stty size\n")
            return await term.shows("30 120", 2)

        await wait_for(resized, 30, "the exec's terminal resized")
        term.type("exit 7\n")
        assert await term.wait() == 7


async def test_attach_it_reaches_the_main_shell_on_its_terminal(
    cluster: Cluster, pod: tuple[Any, str]
) -> None:
    _, name = pod
    async with terminal(cluster.env, KUBECTL, "attach", "-it", name, "-c", "tty") as term:

        async def answered() -> bool:  # the attach is up once the shell answers
            term.type("echo attached-$((6*7))\n")
            return await term.shows("attached-42", 2)

        await wait_for(answered, 30, "the main shell answering through attach")
        term.set_size(33, 111)

        async def resized() -> bool:
            term.type("stty size\n")
            return await term.shows("33 111", 2)

        await wait_for(resized, 30, "the container's terminal resized")


async def test_a_client_that_goes_ends_the_session_and_the_processes_stdin(
    cluster: Cluster, pod: tuple[Any, str]
) -> None:
    _, name = pod
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "exec",
        "-i",
        name,
        "-c",
        "shell",
        "--",
        "sh",
        "-c",
        "echo started; exec cat > /tmp/held",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cluster.env,
    )

    async def cats() -> list[str]:
        ps = await cluster.ok("exec", name, "-c", "shell", "--", "ps", "-o", "comm")
        return [word for word in ps.split() if word == "cat"]

    try:
        assert proc.stdout is not None
        assert b"started" in await asyncio.wait_for(proc.stdout.readline(), 30)
        assert await cats() == ["cat"]
    finally:
        proc.kill()  # no close of stdin: the connection just goes
        await proc.wait()

    async def cat_gone() -> bool:  # the kubelet closed the exec's stream, so cat read its EOF
        return not await cats()

    await wait_for(cat_gone, 60, "the exec's process to end once its client went")

"""``kill -9`` of jetkube processes (real subprocesses): no child outlives its parent, and a
``jetkube up`` on the same data dir starts again with every object intact. A data dir in use is
refused in one line naming its owner; a server an earlier run left is stopped, in one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bus.embedded import EmbeddedNats, nats_server_binary
from cli.datadir import read_pid
from cli.localcluster import ROOT, LocalCluster, wait_api
from tests.integration.lifecycle.procs import descendants, wait_gone
from tests.integration.up.test_up import _populate, _snapshot
from tests.waiting import wait_for


def _second_up(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "up", "--data-dir", str(data), "--no-kubelet",
         "--port", "0", "--metrics-port", "0", "--dashboard-port", "0", "--ingress-port", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_kill_9_of_up_leaves_no_child_and_up_starts_again_with_every_object(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = LocalCluster(data).start()
    try:
        asyncio.run(_populate(first.url))
        before = asyncio.run(_snapshot(first.url))
        # while it runs, the data dir is refused to a second up, in one line naming the owner
        refused = _second_up(data)
        assert refused.returncode == 1
        lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, refused.stderr
        assert f"in use by a running jetkube up (pid {first.process.pid})" in lines[0]  # type: ignore[union-attr]
        assert first.process.poll() is None  # type: ignore[union-attr]  # the owner is untouched
        children = descendants(first.process.pid)  # type: ignore[union-attr]
        assert read_pid(data / "nats-server.pid") in children
        first.process.kill()  # type: ignore[union-attr]  # SIGKILL: no handler runs
        first.process.wait()  # type: ignore[union-attr]
        wait_gone(children, 15, "children of the killed jetkube up")
    finally:
        first.stop()
    # a generous deadline: under load the CLI import alone took 15 s (3 s when idle)
    with LocalCluster(data, port=first.port).start(timeout=120) as second:
        assert asyncio.run(_snapshot(second.url)) == before
        assert "left running" not in second.log_path.read_text()  # the server died with its parent


def test_kill_9_of_controlplane_leaves_no_child(nats_server: EmbeddedNats) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "controlplane", "--server", nats_server.url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        asyncio.run(wait_api(nats_server.url, 60))
        children = descendants(proc.pid)
        proc.kill()
        proc.wait()
        wait_gone(children, 15, "children of the killed jetkube controlplane")
    finally:
        proc.kill()
        proc.wait()


async def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    async def listening() -> bool:
        assert proc.poll() is None, "the leftover nats-server exited at start"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_for(listening, 30, f"the leftover nats-server on port {port}")


def test_a_server_left_by_an_earlier_run_is_stopped_and_up_starts_clean(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with LocalCluster(data) as first:
        asyncio.run(_populate(first.url))
        before = asyncio.run(_snapshot(first.url))
        first_server = read_pid(data / "nats-server.pid")
    assert first_server is not None
    wait_gone({first_server}, 30, "the first run's nats-server")
    # as an older jetkube left it: its server running on, in a session of its own, with no parent
    # death signal, and its pid in the data dir
    left = subprocess.Popen(
        [nats_server_binary(), "-c", str(data / "nats-server.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        (data / "nats-server.pid").write_text(f"{left.pid}\n")
        asyncio.run(wait_listening(first.port, left))
        # a generous deadline: under load the CLI import alone took 15 s (3 s when idle)
        with LocalCluster(data, port=first.port).start(timeout=120) as second:
            log_tail = second.log_path.read_text()[-3000:]
            assert left.poll() is not None, log_tail
            lines = [ln for ln in second.log_path.read_text().splitlines() if "left running" in ln]
            said = f"stopped nats-server (pid {left.pid}) left running by an earlier jetkube up in {data}"
            assert lines == [said], log_tail
            assert asyncio.run(_snapshot(second.url)) == before, log_tail
    finally:
        left.kill()
        left.wait()

"""Power loss: nats-server on a filesystem that forgets every byte not fsynced (tests/powerloss/lazyfs.py,
in the spirit of Jepsen's LazyFS), the power cut in the middle of concurrent writes, restarted: every
acknowledged write must be there with the default configuration (the embedded server's and
``jetkube up``'s ``sync_interval``, the store's default write path), and with the opt-in group
commit (``JETKUBE_GROUP_COMMIT=1``). The same cut with NATS's lazy policy (``2m``) loses
acknowledged writes, which shows that the filesystem does cut what a power loss would.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bus.connection import Bus
from bus.embedded import EmbeddedNats, free_port
from bus.store import Store
from schemas.errors import JetkubeError, NotFound

ROOT = Path(__file__).resolve().parents[3]


def up_default_sync_interval() -> str:
    """``jetkube up``'s --sync-interval when none is given."""
    import inspect

    from cli.up import up

    default = inspect.signature(up).parameters["sync_interval"].default
    return str(getattr(default, "default", default))


WRITERS = 16


def _fuse_usable() -> bool:
    if not Path("/dev/fuse").exists() or shutil.which("fusermount") is None:
        return False
    try:
        import fuse  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _fuse_usable(), reason="needs /dev/fuse, fusermount and fusepy")


@pytest.fixture
def lazyfs(tmp_path: Path) -> Iterator[Path]:
    backing, mnt = tmp_path / "backing", tmp_path / "mnt"
    backing.mkdir()
    mnt.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.powerloss.lazyfs", str(backing), str(mnt)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not os.path.ismount(mnt):
        assert proc.poll() is None and time.monotonic() < deadline, "the lazy filesystem did not mount"
        time.sleep(0.05)
    try:
        yield mnt
    finally:
        subprocess.run(["fusermount", "-u", "-z", str(mnt)], check=False)
        proc.terminate()
        proc.wait(timeout=10)


async def _write_and_cut(url: str, cut_after: int, cut: Callable[[], None]) -> set[str]:
    """Concurrent creates; once ``cut_after`` are acknowledged, ``cut()`` (kill -9 the server, drop
    what was not fsynced) runs while the writers are still writing. The names acknowledged."""
    bus = await Bus.connect(url, name="powerloss")
    store = await Store.open(bus)
    acked: set[str] = set()
    names = (f"w{i:06d}" for i in range(1_000_000))
    enough = asyncio.Event()

    async def writer() -> None:
        while True:
            name = next(names)
            body = {"metadata": {"name": name, "namespace": "default"}, "data": {"v": name}}
            try:
                await store.create("configmaps", body)
            except JetkubeError:
                continue  # unknown outcome (the server is gone): not acknowledged
            acked.add(name)
            if len(acked) >= cut_after:
                enough.set()

    tasks = [asyncio.create_task(writer(), name=f"powerloss-writer-{i}") for i in range(WRITERS)]
    try:
        await asyncio.wait_for(enough.wait(), 120)
        await asyncio.to_thread(cut)  # the writers go on meanwhile: the cut lands mid-write
        cut_at = len(acked)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.close()
    assert len(acked) >= cut_at >= cut_after
    return acked


def _kill_and_cut(server: EmbeddedNats, mnt: Path) -> None:
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)  # no clean shutdown: the power is cut
    server.process.wait(timeout=10)
    assert not os.path.exists(mnt / ".cut-power")  # looking it up drops every unsynced byte


async def _missing(url: str, names: set[str]) -> list[str]:
    bus = await Bus.connect(url, name="powerloss-check")
    try:
        store = await Store.open(bus)
        missing = []
        for name in sorted(names):
            try:
                got = await store.get("configmaps", "default", name)
                assert got["data"] == {"v": name}
            except NotFound:
                missing.append(name)
        return missing
    finally:
        await bus.close()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("policy", "group_commit", "loses"),
    [("default", None, False), ("always", "1", False), ("2m", "0", True)],
    ids=["default", "group-commit", "lazy"],
)
async def test_acknowledged_writes_survive_a_power_cut_only_when_synced(
    lazyfs: Path, monkeypatch: pytest.MonkeyPatch, policy: str, group_commit: str | None, loses: bool
) -> None:
    if group_commit is None:  # the default: what `jetkube up` and a Store with no settings do
        monkeypatch.delenv("JETKUBE_GROUP_COMMIT", raising=False)
        server = EmbeddedNats(data_dir=lazyfs, port=free_port())
        assert server.sync_interval == up_default_sync_interval()
    else:
        monkeypatch.setenv("JETKUBE_GROUP_COMMIT", group_commit)  # read by Store.open
        server = EmbeddedNats(data_dir=lazyfs, port=free_port(), sync_interval=policy)
    server.start()
    try:
        acked = await _write_and_cut(server.url, 300, lambda: _kill_and_cut(server, lazyfs))
        server.start(timeout=60)
        missing = await _missing(server.url, acked)
    finally:
        server.stop()
    label = f"{policy}, group commit" if group_commit == "1" else policy
    print(f"{label}: {len(acked)} acknowledged, {len(missing)} missing after the cut")
    if loses:
        assert missing, f"the lazy policy lost nothing of {len(acked)}: the cut did not bite"
    else:
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged writes lost: {missing[:5]}"

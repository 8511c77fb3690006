"""Mounts under a kubelet's pod directories: find them, undo them, remove a directory safely.

A FUSE or kernel mount (CephFS) left under a pod's directory must never be walked into by a
recursive delete: that would delete the shared filesystem's files. :func:`remove_tree` unmounts
everything under the directory first (deepest first, lazily when busy) and leaves the directory in
place if anything is still mounted there.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def mounts_under(base: Path) -> list[str]:
    """Mount points at or under ``base`` (from /proc/self/mountinfo), deepest first."""
    prefix = str(base).rstrip("/")
    out: list[str] = []
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                point = line.split()[4].replace("\\040", " ")
                if point == prefix or point.startswith(prefix + "/"):
                    out.append(point)
    except OSError:
        return []
    return sorted(set(out), key=lambda p: (-p.count("/"), p))


async def run(cmd: Sequence[str], timeout: float) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return -1, f"timed out after {timeout:.0f} s"
    return proc.returncode or 0, out.decode(errors="replace").strip()


async def unmount(point: str) -> bool:
    """Unmount one mount point (lazily if busy); whether it is gone."""
    rc, out = await run(["umount", point], 20)
    if rc != 0:
        rc, out = await run(["umount", "-l", point], 20)
    if rc != 0:
        log.warning("mounts.unmount_failed", point=point, output=out)
    return rc == 0


async def unmount_all(base: Path) -> bool:
    """Unmount everything under ``base``; whether nothing is left mounted there."""
    for point in await asyncio.to_thread(mounts_under, base):
        await unmount(point)
    return not await asyncio.to_thread(mounts_under, base)


async def remove_tree(path: Path) -> bool:
    """Unmount what is under ``path``, then delete it; whether it went (False: a mount stayed)."""
    if not await unmount_all(path):
        log.warning("mounts.kept_dir", path=str(path), reason="a mount under it did not go")
        return False
    await asyncio.to_thread(shutil.rmtree, path, True)
    return True

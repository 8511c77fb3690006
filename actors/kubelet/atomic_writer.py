"""Write a volume's files so a container never sees half of an update (Kubernetes' AtomicWriter).

Layout of a volume directory::

    ..2026_01_01_10_00_00.123456_ab12/   the current payload (real files)
    ..data -> ..2026_01_01_...           switched with one rename(2): the atomic step
    labels -> ..data/labels              one relative symlink per top-level entry

Containers bind-mount the volume directory; every path they open goes through ``..data``, so
they see either the old payload or the new one. Blocking file I/O: call through
``asyncio.to_thread``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

Files = dict[str, tuple[bytes, int]]

DATA = "..data"


def _current(target: Path) -> Files | None:
    data = target / DATA
    if not data.is_symlink():
        return None
    root = target / os.readlink(data)
    files: Files = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            files[str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mode & 0o777)
    return files


def write_atomic(target: Path, files: Files) -> bool:
    """Make ``target`` hold exactly ``files``; False when it already did (nothing written)."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = {str(Path(k)): (v, m & 0o777) for k, (v, m) in files.items()}
    if _current(target) == wanted:
        return False
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime()) + f".{secrets.token_hex(3)}"
    new_dir = target / f"..{stamp}"
    new_dir.mkdir()
    for rel, (content, mode) in wanted.items():
        p = new_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        p.chmod(mode)
    new_dir.chmod(0o755)
    old_link = target / DATA
    old_dir = os.readlink(old_link) if old_link.is_symlink() else None
    tmp = target / "..data_tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(new_dir.name)
    os.rename(tmp, old_link)
    tops = {Path(k).parts[0] for k in wanted}
    for top in tops:
        link = target / top
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link) if link.is_dir() else link.unlink()
            link.symlink_to(f"{DATA}/{top}")
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.is_symlink() and entry.name not in tops and os.readlink(entry).startswith(DATA):
            entry.unlink()
    if old_dir and old_dir != new_dir.name:
        shutil.rmtree(target / old_dir, ignore_errors=True)
    return True

"""A FUSE filesystem that forgets every byte not fsynced when told to: a power cut, as Jepsen's
LazyFS simulates one.

It passes everything through to a backing directory except file data: a written file's content is
kept in memory (the "page cache") until the file is fsynced, when it is written to the backing
file and synced. Looking up the path ``/.cut-power`` cuts the power (``os.path.exists(mnt +
"/.cut-power")``): every unsynced content is dropped, so the files read back as they were at their
last fsync. Metadata (create, rename, unlink, mkdir) goes through at
once, as on a journaling filesystem that orders metadata; the data loss is the point.

    python -m tests.powerloss.lazyfs BACKING MOUNTPOINT     (foreground; fusermount -u to stop)

Test tooling only (tests/integration/store/test_power_loss.py); needs fusepy and /dev/fuse.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from typing import Any

from fuse import FUSE, FuseOSError, Operations  # type: ignore[import-untyped]

CUT_POWER = "/.cut-power"


class LazyFS(Operations):  # type: ignore[misc]
    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.dirty: dict[str, bytearray] = {}  # path -> content not yet fsynced
        self._mutex = threading.RLock()
        self.dropped = 0

    def _full(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _load(self, path: str) -> bytearray:
        buf = self.dirty.get(path)
        if buf is None:
            with open(self._full(path), "rb") as f:
                buf = self.dirty[path] = bytearray(f.read())
        return buf

    def cut_power(self) -> None:
        with self._mutex:
            self.dropped += len(self.dirty)
            self.dirty.clear()

    # -- metadata, passed through -----------------------------------------------------------

    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        if path == CUT_POWER:
            self.cut_power()
            raise FuseOSError(errno.ENOENT)
        try:
            st = os.lstat(self._full(path))
        except OSError as err:
            raise FuseOSError(err.errno) from None
        attrs = {
            k: getattr(st, k)
            for k in (
                "st_atime",
                "st_ctime",
                "st_gid",
                "st_mode",
                "st_mtime",
                "st_nlink",
                "st_size",
                "st_uid",
            )
        }
        with self._mutex:
            if path in self.dirty:
                attrs["st_size"] = len(self.dirty[path])
        return attrs

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", *os.listdir(self._full(path))]

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._full(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._full(path))

    def unlink(self, path: str) -> None:
        with self._mutex:
            self.dirty.pop(path, None)
            os.unlink(self._full(path))

    def rename(self, old: str, new: str) -> None:
        with self._mutex:
            os.rename(self._full(old), self._full(new))
            if old in self.dirty:
                self.dirty[new] = self.dirty.pop(old)
            else:
                self.dirty.pop(new, None)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._full(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._full(path), uid, gid)

    def utimens(self, path: str, times: Any = None) -> None:
        os.utime(self._full(path), times)

    def statfs(self, path: str) -> dict[str, Any]:
        st = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag")
        return {k: getattr(st, k) for k in (*keys, "f_frsize", "f_namemax")}

    def access(self, path: str, amode: int) -> None:
        if not os.access(self._full(path), amode):
            raise FuseOSError(errno.EACCES)

    # -- data, held until fsync ---------------------------------------------------------------

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        fd = os.open(self._full(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.close(fd)
        with self._mutex:
            self.dirty.pop(path, None)
        return 0

    def open(self, path: str, flags: int) -> int:
        if not os.path.exists(self._full(path)):
            raise FuseOSError(errno.ENOENT)
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return 0

    def read(self, path: str, size: int, offset: int, fh: Any) -> bytes:
        with self._mutex:
            if path in self.dirty:
                return bytes(self.dirty[path][offset : offset + size])
        with open(self._full(path), "rb") as f:
            f.seek(offset)
            return f.read(size)

    def write(self, path: str, data: bytes, offset: int, fh: Any) -> int:
        with self._mutex:
            buf = self._load(path)
            if offset > len(buf):
                buf.extend(b"\0" * (offset - len(buf)))
            buf[offset : offset + len(data)] = data
        return len(data)

    def truncate(self, path: str, length: int, fh: Any = None) -> None:
        with self._mutex:
            buf = self._load(path)
            if length < len(buf):
                del buf[length:]
            else:
                buf.extend(b"\0" * (length - len(buf)))

    def fsync(self, path: str, datasync: int, fh: Any) -> None:
        with self._mutex:
            buf = self.dirty.pop(path, None)
            if buf is None:
                return
            with open(self._full(path), "r+b") as f:
                f.write(buf)
                f.truncate(len(buf))
                f.flush()
                os.fsync(f.fileno())

    def flush(self, path: str, fh: Any) -> None:
        return None  # close() is not a sync: the data stays in the "page cache"

    def release(self, path: str, fh: Any) -> None:
        return None

    def fsyncdir(self, path: str, datasync: int, fh: Any) -> None:
        return None


def main() -> None:
    backing, mountpoint = sys.argv[1], sys.argv[2]
    fs = LazyFS(backing)
    FUSE(fs, mountpoint, foreground=True, nothreads=False, allow_other=False)


if __name__ == "__main__":
    main()

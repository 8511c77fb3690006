"""Docker's log stream, decoded: (stream, timestamp, line) records. Pure, no I/O.

A container without a tty sends its logs multiplexed: frames of an 8-byte header (stream type 1 =
stdout or 2 = stderr, three zero bytes, a big-endian 32-bit length) and that many bytes. With a
tty the bytes are raw (all stdout). Asked with ``timestamps=1`` the engine starts every line with
its RFC 3339 time (nanoseconds) and a space. A line may span frames (the engine splits lines over
16 KiB), so each stream keeps its unfinished tail until its newline comes.

:func:`time_ns` turns the engine's timestamp into integer nanoseconds (exact, for "after this
line" comparisons), :func:`since_param` back into the engine's ``since`` parameter.
"""

from __future__ import annotations

import calendar
import struct

HEADER = 8
STREAMS = {0: "stdout", 1: "stdout", 2: "stderr"}

Record = tuple[str, str, str]  # (stream, timestamp text, line)


class FrameDecoder:
    """Feed it the bytes of a log response; it returns the complete lines seen so far."""

    def __init__(self, *, tty: bool = False) -> None:
        self.tty = tty
        self._buf = b""
        self._tails: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def feed(self, data: bytes) -> list[Record]:
        out: list[Record] = []
        if self.tty:
            self._lines("stdout", data, out)
            return out
        self._buf += data
        while len(self._buf) >= HEADER:
            kind, length = struct.unpack(">BxxxL", self._buf[:HEADER])
            if len(self._buf) < HEADER + length:
                break
            payload = self._buf[HEADER : HEADER + length]
            self._buf = self._buf[HEADER + length :]
            self._lines(STREAMS.get(kind, "stdout"), payload, out)
        return out

    def flush(self) -> list[Record]:
        """The unfinished last lines, at the end of the response."""
        out: list[Record] = []
        for stream, tail in self._tails.items():
            if tail:
                out.append(split_timestamp(stream, tail))
                self._tails[stream] = b""
        return out

    def _lines(self, stream: str, data: bytes, out: list[Record]) -> None:
        pending = self._tails[stream] + data
        *lines, self._tails[stream] = pending.split(b"\n")
        out.extend(split_timestamp(stream, line) for line in lines)


def split_timestamp(stream: str, raw: bytes) -> Record:
    text = raw.decode(errors="replace").rstrip("\r")
    stamp, sep, line = text.partition(" ")
    if not sep or not stamp.endswith("Z") or "T" not in stamp:
        return stream, "", text
    return stream, stamp, line


def time_ns(stamp: str) -> int:
    """``2026-11-29T16:45:44.572490742Z`` -> nanoseconds since the epoch (0 if unparseable)."""
    try:
        whole, _, frac = stamp.rstrip("Z").partition(".")
        fields = (whole[0:4], whole[5:7], whole[8:10], whole[11:13], whole[14:16], whole[17:19])
        seconds = calendar.timegm((*(int(f) for f in fields), 0, 0, 0))
        return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])
    except (ValueError, IndexError):
        return 0


def since_param(ns: int) -> str:
    """Nanoseconds as the engine's ``since`` (``seconds.nanoseconds``)."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"

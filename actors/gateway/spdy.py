"""SPDY/3.1 framing, as far as ``kubectl port-forward`` needs it: pure encode and decode, no I/O.

kubectl (client-go's tools/portforward over github.com/moby/spdystream) speaks SPDY/3 frames on a
byte stream; since 1.30 that stream is tunnelled in WebSocket binary messages whose boundaries mean
nothing (the Go framer writes one frame in several messages), so ``FrameReader`` reassembles frames
from whatever bytes arrive.

Frames (all integers big-endian):

* data: ``0 | stream id (31)``, ``flags (8) | length (24)``, data. Flag 0x01 FIN.
* control: ``1 | version (15) = 3``, ``type (16)``, ``flags (8) | length (24)``, payload:

  - SYN_STREAM (1): stream id (31), associated stream id (31), priority (3) + 5 unused, slot (8),
    header block; flags FIN 0x01, UNIDIRECTIONAL 0x02.
  - SYN_REPLY (2): stream id (31), header block; flag FIN.
  - RST_STREAM (3): stream id (31), status (32).
  - SETTINGS (4), HEADERS (8), WINDOW_UPDATE (9): read and ignored here (spdystream sends no
    flow-control windows).
  - PING (6): id (32); the receiver sends the same frame back.
  - GOAWAY (7): last good stream id (31), status (32).

A header block is ``count (32)`` then per pair ``name length (32), name, value length (32), value``
(several values joined by NUL; names lower case), zlib-compressed with the SPDY/3 dictionary. Each
direction of a connection keeps ONE zlib stream for all its blocks (a sync flush ends each block), so
``HeaderCompressor`` and ``HeaderDecompressor`` live as long as the connection.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
MAX_LENGTH = 0xFFFFFF  # 24 bits
MAX_HEADER_BLOCK = 256 * 1024  # decompressed; a port-forward stream's headers are a few dozen bytes

# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
GOAWAY_OK = 0


class SpdyError(Exception):
    """The peer sent bytes that are not SPDY/3 as read here; the connection cannot go on."""


# The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1): length-prefixed words,
# then the raw text of common values (``200_OK`` in the words is the one word ``200 OK``).
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date "
    "etag expect expires from host if-match if-modified-since if-none-match if-range "
    "if-unmodified-since last-modified location max-forwards pragma proxy-authenticate "
    "proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade "
    "user-agent vary via warning www-authenticate method get status 200_OK version HTTP/1.1 url "
    "public set-cookie keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = (
    b"".join(struct.pack(">I", len(w)) + w.encode() for w in (w.replace("_", " ") for w in _WORDS.split(" ")))
    + _TAIL.encode()
)


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class ControlFrame:
    type: int
    flags: int
    payload: bytes


Frame = DataFrame | ControlFrame


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    associated_to: int
    priority: int
    fin: bool
    unidirectional: bool
    headers: dict[str, list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


# ------------------------------------------------------------------------------- frames


def _head(flags: int, length: int) -> bytes:
    if not 0 <= length <= MAX_LENGTH:
        raise ValueError(f"a SPDY frame carries at most {MAX_LENGTH} bytes, not {length}")
    return struct.pack(">I", (flags & 0xFF) << 24 | length)


def encode_data(stream_id: int, data: bytes, fin: bool = False) -> bytes:
    if not 0 < stream_id <= 0x7FFFFFFF:
        raise ValueError(f"invalid stream id {stream_id}")
    return struct.pack(">I", stream_id) + _head(FLAG_FIN if fin else 0, len(data)) + data


def encode_control(type_: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0x8000 | VERSION, type_) + _head(flags, len(payload)) + payload


def syn_reply(stream_id: int, header_block: bytes, fin: bool = False) -> bytes:
    return encode_control(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream_id) + header_block)


def syn_stream(
    stream_id: int, header_block: bytes, *, associated_to: int = 0, priority: int = 0, flags: int = 0
) -> bytes:
    body = struct.pack(">IIBB", stream_id, associated_to, (priority & 0x7) << 5, 0) + header_block
    return encode_control(SYN_STREAM, flags, body)


def rst_stream(stream_id: int, status: int) -> bytes:
    return encode_control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


def ping(ping_id: int) -> bytes:
    return encode_control(PING, 0, struct.pack(">I", ping_id))


def goaway(last_good_stream_id: int, status: int = GOAWAY_OK) -> bytes:
    return encode_control(GOAWAY, 0, struct.pack(">II", last_good_stream_id, status))


class FrameReader:
    """Cuts a byte stream into frames; ``feed`` returns the frames completed by the new bytes."""

    def __init__(self, max_length: int = MAX_LENGTH) -> None:
        self._buffer = bytearray()
        self.max_length = max_length

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            flags, length = flags_length >> 24, flags_length & MAX_LENGTH
            if length > self.max_length:
                raise SpdyError(f"frame of {length} bytes is over the limit of {self.max_length}")
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            if first & 0x80000000:
                version = (first >> 16) & 0x7FFF
                if version != VERSION:
                    raise SpdyError(f"unsupported SPDY version {version}: only 3 is spoken")
                frames.append(ControlFrame(first & 0xFFFF, flags, payload))
            else:
                frames.append(DataFrame(first & 0x7FFFFFFF, payload, bool(flags & FLAG_FIN)))
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)


def _need(frame: ControlFrame, size: int, what: str) -> None:
    if len(frame.payload) < size:
        raise SpdyError(f"{what} frame too short: {len(frame.payload)} bytes, at least {size} needed")


def parse_syn_stream(frame: ControlFrame, headers: HeaderDecompressor) -> SynStream:
    _need(frame, 10, "SYN_STREAM")
    stream_id, associated, priority, _slot = struct.unpack_from(">IIBB", frame.payload)
    return SynStream(
        stream_id=stream_id & 0x7FFFFFFF,
        associated_to=associated & 0x7FFFFFFF,
        priority=priority >> 5,
        fin=bool(frame.flags & FLAG_FIN),
        unidirectional=bool(frame.flags & FLAG_UNIDIRECTIONAL),
        headers=headers.decompress(frame.payload[10:]),
    )


def parse_rst_stream(frame: ControlFrame) -> tuple[int, int]:
    _need(frame, 8, "RST_STREAM")
    stream_id, status = struct.unpack_from(">II", frame.payload)
    return stream_id & 0x7FFFFFFF, status


def parse_ping(frame: ControlFrame) -> int:
    _need(frame, 4, "PING")
    return int(struct.unpack_from(">I", frame.payload)[0])


def parse_goaway(frame: ControlFrame) -> tuple[int, int]:
    _need(frame, 4, "GOAWAY")
    last = struct.unpack_from(">I", frame.payload)[0] & 0x7FFFFFFF
    status = struct.unpack_from(">I", frame.payload, 4)[0] if len(frame.payload) >= 8 else GOAWAY_OK
    return last, status


# ------------------------------------------------------------------------------- header blocks


def encode_header_block(headers: dict[str, list[str]]) -> bytes:
    """The uncompressed block: names lower-cased, several values joined by NUL."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key, value = name.lower().encode(), "\0".join(values).encode()
        out += [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value]
    return b"".join(out)


def decode_header_block(block: bytes) -> dict[str, list[str]]:
    def take(offset: int, what: str) -> tuple[bytes, int]:
        if offset + 4 > len(block):
            raise SpdyError(f"header block ends inside the length of a {what}")
        (size,) = struct.unpack_from(">I", block, offset)
        if offset + 4 + size > len(block):
            raise SpdyError(f"header block ends inside a {what} of {size} bytes")
        return block[offset + 4 : offset + 4 + size], offset + 4 + size

    if len(block) < 4:
        raise SpdyError("header block shorter than its pair count")
    (count,) = struct.unpack_from(">I", block)
    if count > len(block) // 8:
        raise SpdyError(f"header block claims {count} pairs in {len(block)} bytes")
    headers: dict[str, list[str]] = {}
    offset = 4
    for _ in range(count):
        name, offset = take(offset, "header name")
        value, offset = take(offset, "header value")
        if not name:
            raise SpdyError("empty header name")
        try:
            key, text = name.decode().lower(), value.decode()
        except UnicodeDecodeError:
            raise SpdyError("header name or value is not UTF-8") from None
        headers.setdefault(key, []).extend(text.split("\0"))
    return headers


class HeaderCompressor:
    """One direction's zlib stream: each ``compress`` is one header block, sync-flushed."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zdict=DICTIONARY)

    def compress(self, headers: dict[str, list[str]]) -> bytes:
        return self._z.compress(encode_header_block(headers)) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    def __init__(self, limit: int = MAX_HEADER_BLOCK) -> None:
        self._z = zlib.decompressobj(zdict=DICTIONARY)
        self.limit = limit

    def decompress(self, data: bytes) -> dict[str, list[str]]:
        try:
            block = self._z.decompress(data, self.limit + 1)
        except zlib.error as err:
            raise SpdyError(f"header block does not inflate: {err}") from None
        if len(block) > self.limit or self._z.unconsumed_tail:
            raise SpdyError(f"header block inflates past {self.limit} bytes")
        return decode_header_block(block)

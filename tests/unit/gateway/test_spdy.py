"""SPDY/3 framing (actors/gateway/spdy.py) against byte strings worked out from the SPDY/3 draft
and from what spdystream (kubectl's SPDY) writes."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.gateway import spdy


def test_the_dictionary_is_spdy3s() -> None:
    # The dictionary id every SPDY/3 header block's zlib header carries (FDICT).
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert b"\x00\x00\x00\x06200 OK\x00\x00\x00\x07version" in spdy.DICTIONARY
    assert spdy.DICTIONARY.endswith(b",*,enq=0.")


def test_control_frames_as_bytes() -> None:
    assert spdy.ping(1) == bytes.fromhex("80030006 00000004 00000001")
    assert spdy.rst_stream(3, spdy.CANCEL) == bytes.fromhex("80030003 00000008 00000003 00000005")
    assert spdy.goaway(5) == bytes.fromhex("80030007 00000008 00000005 00000000")
    assert spdy.syn_reply(1, b"\xaa\xbb", fin=True) == bytes.fromhex("80030002 01000006 00000001 aabb")
    assert spdy.syn_stream(3, b"\xcc", priority=2, flags=spdy.FLAG_FIN) == bytes.fromhex(
        "80030001 0100000b 00000003 00000000 40 00 cc"
    )


def test_data_frames_as_bytes() -> None:
    assert spdy.encode_data(1, b"hi") == bytes.fromhex("00000001 00000002 6869")
    assert spdy.encode_data(7, b"", fin=True) == bytes.fromhex("00000007 01000000")
    with pytest.raises(ValueError, match="invalid stream id 0"):
        spdy.encode_data(0, b"x")


def test_the_reader_reassembles_frames_split_anywhere() -> None:
    # spdystream writes a frame's fields in separate writes, each its own WebSocket message.
    stream = spdy.ping(9) + spdy.encode_data(3, b"hello", fin=True) + spdy.rst_stream(3, spdy.CANCEL)
    reader = spdy.FrameReader()
    frames = [f for i in range(len(stream)) for f in reader.feed(stream[i : i + 1])]
    assert frames == [
        spdy.ControlFrame(spdy.PING, 0, struct.pack(">I", 9)),
        spdy.DataFrame(3, b"hello", True),
        spdy.ControlFrame(spdy.RST_STREAM, 0, struct.pack(">II", 3, spdy.CANCEL)),
    ]
    assert reader.pending == 0
    ping, _, reset = frames
    assert isinstance(ping, spdy.ControlFrame) and isinstance(reset, spdy.ControlFrame)
    assert spdy.parse_ping(ping) == 9
    assert spdy.parse_rst_stream(reset) == (3, spdy.CANCEL)


def test_the_reader_refuses_other_versions_and_huge_frames() -> None:
    with pytest.raises(spdy.SpdyError, match="unsupported SPDY version 2"):
        spdy.FrameReader().feed(bytes.fromhex("80020006 00000004 00000001"))
    with pytest.raises(spdy.SpdyError, match="over the limit"):
        spdy.FrameReader(max_length=16).feed(bytes.fromhex("00000001 00000011"))


def test_a_header_block_as_bytes() -> None:
    block = (
        b"\x00\x00\x00\x02"
        b"\x00\x00\x00\x04port\x00\x00\x00\x0280"
        b"\x00\x00\x00\x0astreamtype\x00\x00\x00\x05error"
    )
    assert spdy.decode_header_block(block) == {"port": ["80"], "streamtype": ["error"]}
    assert spdy.encode_header_block({"port": ["80"], "streamType": ["error"]}) == block
    assert spdy.decode_header_block(b"\x00\x00\x00\x01\x00\x00\x00\x01a\x00\x00\x00\x03x\x00y") == {
        "a": ["x", "y"]
    }


@pytest.mark.parametrize(
    "block, problem",
    [
        (b"\x00\x00", "shorter than its pair count"),
        (b"\x00\x00\x00\x02\x00\x00\x00\x09port", "claims 2 pairs"),
        (b"\x00\x00\x00\x01\x00\x00\x00\x09port\x00\x00\x00\x00", "inside a header name of 9 bytes"),
        (b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00", "empty header name"),
    ],
)
def test_bad_header_blocks_are_named(block: bytes, problem: str) -> None:
    with pytest.raises(spdy.SpdyError, match=problem):
        spdy.decode_header_block(block)


def test_compressed_blocks_share_one_zlib_stream_per_direction() -> None:
    out, into = spdy.HeaderCompressor(), spdy.HeaderDecompressor()
    first = out.compress({})
    assert first[:6] == b"\x78\xbb\xe3\xc6\xa7\xc2"  # zlib header with FDICT + the dictionary id
    second = out.compress({"streamtype": ["data"], "port": ["80"], "requestid": ["0"]})
    assert second[:2] != b"\x78\xbb"  # the same stream goes on: no new zlib header
    assert into.decompress(first) == {}
    assert into.decompress(second) == {"streamtype": ["data"], "port": ["80"], "requestid": ["0"]}


def test_blocks_compressed_as_go_does_inflate() -> None:
    # Go's spdy framer: zlib.NewWriterLevelDict(BestCompression, dictionary), Flush per block.
    go = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zdict=spdy.DICTIONARY)
    into = spdy.HeaderDecompressor()
    for request_id in range(3):
        headers = {"streamtype": ["error"], "port": ["8080"], "requestid": [str(request_id)]}
        raw = spdy.encode_header_block(headers)
        block = go.compress(raw) + go.flush(zlib.Z_SYNC_FLUSH)
        assert into.decompress(block) == headers
    syn = spdy.FrameReader().feed(spdy.syn_stream(1, block))[0]
    assert isinstance(syn, spdy.ControlFrame)


def test_a_syn_stream_parses_with_its_headers() -> None:
    out = spdy.HeaderCompressor()
    headers = {"streamType": ["data"], "port": ["80"], "requestID": ["4"]}
    frame = spdy.FrameReader().feed(spdy.syn_stream(9, out.compress(headers), priority=7))[0]
    assert isinstance(frame, spdy.ControlFrame)
    syn = spdy.parse_syn_stream(frame, spdy.HeaderDecompressor())
    assert (syn.stream_id, syn.priority, syn.fin, syn.unidirectional) == (9, 7, False, False)
    assert (syn.header("streamType"), syn.header("PORT"), syn.header("requestid")) == ("data", "80", "4")


def test_a_header_bomb_is_refused() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zdict=spdy.DICTIONARY)
    block = bomb.compress(b"\x00" * 1_000_000) + bomb.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(spdy.SpdyError, match="inflates past"):
        spdy.HeaderDecompressor(limit=64 * 1024).decompress(block)
    with pytest.raises(spdy.SpdyError, match="does not inflate"):
        spdy.HeaderDecompressor().decompress(b"not zlib at all")


def test_short_control_frames_are_named() -> None:
    with pytest.raises(spdy.SpdyError, match="RST_STREAM frame too short"):
        spdy.parse_rst_stream(spdy.ControlFrame(spdy.RST_STREAM, 0, b"\x00"))


VALUE_CHARS = st.characters(min_codepoint=1, max_codepoint=0xD7FF)  # no NUL (the separator), no surrogates


@given(
    st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20),
        st.lists(st.text(alphabet=VALUE_CHARS, max_size=30), min_size=1, max_size=3),
        max_size=8,
    )
)
def test_header_blocks_round_trip(headers: dict[str, list[str]]) -> None:
    assert spdy.HeaderDecompressor().decompress(spdy.HeaderCompressor().compress(headers)) == headers

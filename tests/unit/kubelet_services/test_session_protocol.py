"""The interactive session protocol's decisions (actors/kubelet/session_protocol.py) and the
gateway's WebSocket framing (actors/gateway/streaming.py), as tables: no NATS, no Docker."""

from __future__ import annotations

from typing import Any

import pytest

from actors.gateway.streaming import CloseStdin, Ignored, Resize, Stdin, client_frame, exit_status
from actors.kubelet.session_protocol import (
    SessionOptions,
    check_seq,
    coalesce,
    output_frames,
    session_options,
    split_frame,
    terminal_size,
)
from schemas.errors import BadRequest, InternalError


@pytest.mark.parametrize(
    ("payload", "attach", "want"),
    [
        ({"command": ["ls"]}, False, SessionOptions(("ls",), False, True, True, False)),
        (
            {"command": ["sh"], "stdin": True, "tty": True},
            False,
            SessionOptions(("sh",), True, True, False, True),
        ),
        (
            {"command": ["cat"], "stdin": True, "stdout": True, "stderr": False},
            False,
            SessionOptions(("cat",), True, True, False, False),
        ),
        ({"stdin": True, "tty": True, "command": ["x"]}, True, SessionOptions(None, True, True, False, True)),
        ({"stdin": None}, True, SessionOptions(None, False, True, True, False)),
    ],
)
def test_session_options(payload: dict[str, Any], attach: bool, want: SessionOptions) -> None:
    assert session_options(payload, attach=attach) == want


@pytest.mark.parametrize(
    ("payload", "attach", "message"),
    [
        ({}, False, "you must specify at least one command"),
        ({"command": []}, False, "you must specify at least one command"),
        ({"command": ["ls", 3]}, False, "you must specify at least one command"),
        ({"command": ["sh"], "tty": True, "stderr": True}, False, "tty and stderr cannot both be true"),
        ({"stdout": False, "stderr": False}, True, "at least 1 of stdin, stdout, stderr"),
        ({"stdin": "yes"}, True, "stdin: Invalid value: 'yes': must be true or false"),
    ],
)
def test_session_options_refused(payload: dict[str, Any], attach: bool, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        session_options(payload, attach=attach)


def test_terminal_size_takes_both_spellings_and_names_a_bad_field() -> None:
    assert terminal_size({"width": 80, "height": 24}) == (80, 24)
    assert terminal_size({"Width": 120, "Height": 30}) == (120, 30)  # kubectl's resize channel
    with pytest.raises(BadRequest, match=r"resize\.height: Invalid value: -1"):
        terminal_size({"width": 80, "height": -1})
    with pytest.raises(BadRequest, match=r"resize\.width: Invalid value: '80'"):
        terminal_size({"width": "80", "height": 1})
    with pytest.raises(BadRequest, match="must be a map"):
        terminal_size([80, 24])


def test_chunks_must_come_in_order() -> None:
    expected = 0
    for seq in range(3):
        expected = check_seq({"seq": seq}, expected, "chunk")
    assert expected == 3
    with pytest.raises(InternalError, match="expected chunk 3, got 4"):
        check_seq({"seq": 4}, 3, "chunk")  # one lost
    with pytest.raises(InternalError, match="expected chunk 3, got 2"):
        check_seq({"seq": 2}, 3, "chunk")  # one repeated
    with pytest.raises(InternalError, match="got None"):
        check_seq({}, 0, "chunk")


def test_output_is_joined_per_stream_in_order_and_split_to_fit() -> None:
    frames = [(1, b"a"), (1, b"b"), (2, b"E"), (1, b""), (1, b"c")]
    assert coalesce(frames) == [[1, b"ab"], [2, b"E"], [1, b"c"]]
    assert split_frame(1, b"abcdefg", 3) == [(1, b"abc"), (1, b"def"), (1, b"g")]
    assert split_frame(2, b"", 3) == [(2, b"")]


def test_output_frames_are_checked() -> None:
    assert output_frames({"frames": [[1, b"x"], [2, b"y"]]}) == [(1, b"x"), (2, b"y")]
    assert output_frames({"seq": 3}) == []
    for bad in ([[3, b"x"]], [[1, "text"]], [[1]], "frames"):
        with pytest.raises(InternalError, match="malformed session"):
            output_frames({"frames": bad})


@pytest.mark.parametrize(
    ("data", "v5", "want"),
    [
        (b"\x00hello", True, Stdin(b"hello")),
        (b"\x00hello", False, Stdin(b"hello")),
        (b'\x04{"Width":100,"Height":40}', True, Resize(100, 40)),
        (b"\xff\x00", True, CloseStdin()),
    ],
)
def test_client_frames(data: bytes, v5: bool, want: object) -> None:
    assert client_frame(data, v5=v5) == want


@pytest.mark.parametrize(
    ("data", "v5"),
    [
        (b"", True),
        (b"\x00", True),  # empty stdin
        (b"\xff\x00", False),  # v4 has no close channel
        (b"\xff\x01", True),  # the close of stdout: nothing to do
        (b"\x04not json", True),
        (b'\x04{"Width":-3,"Height":40}', True),
        (b"\x01output?", True),
    ],
)
def test_client_frames_ignored(data: bytes, v5: bool) -> None:
    assert isinstance(client_frame(data, v5=v5), Ignored)


def test_exit_status_is_what_kubectl_reads_its_exit_code_from() -> None:
    assert exit_status(["true"], 0) == {"metadata": {}, "status": "Success"}
    failed = exit_status(["sh", "-c", "exit 3"], 3)
    assert failed["reason"] == "NonZeroExitCode"
    assert failed["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]

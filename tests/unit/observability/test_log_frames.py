"""Docker's multiplexed log stream decoded into (stream, time, line), and the times as exact ns."""

from __future__ import annotations

import struct

from actors.kubelet.logframes import FrameDecoder, since_param, time_ns
from actors.kubelet.logstream import namespaces_of, wanted_followers
from actors.kubelet.types import ContainerSummary
from bus.logs import opted_in


def frame(kind: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(data)) + data


def test_frames_split_by_stream_and_timestamp() -> None:
    dec = FrameDecoder()
    raw = frame(1, b"2026-11-29T16:45:44.572490742Z hello\n") + frame(2, b"2026-11-29T16:45:45Z oops\n")
    assert dec.feed(raw) == [
        ("stdout", "2026-11-29T16:45:44.572490742Z", "hello"),
        ("stderr", "2026-11-29T16:45:45Z", "oops"),
    ]


def test_a_frame_cut_anywhere_and_a_line_over_two_frames() -> None:
    dec = FrameDecoder()
    raw = (
        frame(1, b"2026-11-29T16:45:44Z part one ")
        + frame(1, b"and two\n")
        + frame(2, b"2026-11-29T16:45:46Z x\n")
    )
    out = []
    for i in range(0, len(raw), 5):  # the network may cut anywhere, headers included
        out += dec.feed(raw[i : i + 5])
    assert out == [
        ("stdout", "2026-11-29T16:45:44Z", "part one and two"),
        ("stderr", "2026-11-29T16:45:46Z", "x"),
    ]


def test_unfinished_last_line_comes_out_on_flush_and_tty_is_raw() -> None:
    dec = FrameDecoder(tty=True)
    assert dec.feed(b"2026-11-29T16:45:44Z a\r\n2026-11-29T16:45:45Z b") == [
        ("stdout", "2026-11-29T16:45:44Z", "a")
    ]
    assert dec.flush() == [("stdout", "2026-11-29T16:45:45Z", "b")]
    assert dec.flush() == []


def test_time_ns_is_exact_and_round_trips_to_since() -> None:
    ns = time_ns("2026-11-29T16:45:44.572490742Z")
    assert ns % 1_000_000_000 == 572490742
    assert time_ns("2026-11-29T16:45:44.5Z") == ns - 72490742
    assert since_param(ns) == f"{ns // 10**9}.572490742"
    assert time_ns("garbage") == 0


def test_opt_in_by_label_or_annotation() -> None:
    assert opted_in({"metadata": {"labels": {"logging.jetkube.io/stream": "true"}}})
    assert opted_in({"metadata": {"annotations": {"logging.jetkube.io/stream": "True"}}})
    assert not opted_in({"metadata": {"labels": {"logging.jetkube.io/stream": "false"}}})
    assert not opted_in({"metadata": {}})
    assert not opted_in(None)


def _c(cid: str, ns: str, state: str = "running", type_: str = "container") -> ContainerSummary:
    return ContainerSummary(
        id=cid,
        name="",
        type=type_,
        node="n",
        namespace=ns,
        pod_name="p",
        pod_uid="u",
        container_name="c",
        attempt=0,
        state=state,
        created=None,
        image="",
        image_id="",
    )


def test_one_follower_per_running_app_container_of_opted_in_namespaces() -> None:
    listed = [
        _c("1", "logs"),
        _c("2", "quiet"),
        _c("3", "logs", state="exited"),
        _c("4", "logs", type_="sandbox"),
    ]
    assert list(wanted_followers(listed, {"logs"})) == ["1"]
    assert namespaces_of(["logs/a", "quiet/b", "logs/c"]) == {"logs", "quiet"}

"""Interactive exec and attach sessions over NATS: the protocol's pure decisions (no I/O).

A *session* is one ``exec`` (with ``stream``) or ``attach`` request to a node's kubelet, after
which bytes flow both ways until the process ends or either side goes. Wire protocol (public; the
README's subjects table):

1. The client subscribes to an inbox of its own and requests ``jetkube.node.<node>.exec`` with
   ``{namespace, pod, uid?, container?, command: [...], stream: <client inbox>, stdin?, stdout?,
   stderr?, tty?}`` (``attach``: the same without ``command``; the container's main process).
2. The kubelet checks the options (:func:`session_options`), starts the engine's exec (or attaches
   to the container), subscribes to ``jetkube.node.<node>.session.<id>`` (``id``: a random hex
   token, the session's request id, known only to the two sides) and replies ``{"inbox": that
   subject}``; or replies an error and nothing else happens.
3. Each side then sends bus/chunkstream.py's acknowledged chunks to the other's inbox: one at a
   time, each acknowledged once it has been dealt with (written to the process's stdin, to the
   WebSocket), so a slow reader slows the writer and each direction holds at most one chunk in
   flight plus a small bounded queue. Every chunk carries ``seq``: 0, 1, 2, ... per direction; a
   receiver that sees another number ends the session (:func:`check_seq`).

   kubelet -> client:

   * ``{"seq", "frames": [[fd, <bytes>], ...]}``: output, in the order the engine gave it (fd 1
     stdout, 2 stderr; with a tty everything is fd 1);
   * ``{"seq", "exit": <code>}``: the exec's process ended with that code (the last chunk);
   * ``{"seq", "eof": true}``: the attached container's output ended (the last chunk of attach);
   * ``{"seq", "error": <Status>}``: the session failed (the last chunk);
   * ``{"seq"}``: a heartbeat, after ``heartbeat`` seconds with nothing to say.

   client -> kubelet:

   * ``{"seq", "stdin": <bytes>}``: the next bytes of the process's standard input;
   * ``{"seq", "close": true}``: the end of standard input (the process reads EOF; kubectl's v5
     CLOSE of channel 0);
   * ``{"seq", "resize": {"width": w, "height": h}}``: the terminal's new size (``tty`` only);
   * ``{"seq", "detach": true}``: the client is leaving; the kubelet stops the session (an exec's
     process goes on as with Kubernetes, with its standard input closed);
   * ``{"seq"}``: a heartbeat.

A chunk nobody acknowledges (the other side unsubscribed, or no ack within the ack timeout) ends
the session, and so does hearing nothing, not even a heartbeat, for the silence limit. With NATS
auth on, the kubelet takes chunks on its session inbox only from the NATS user that opened the
session (the reply inbox names it), and only the control plane and admins may open one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas.errors import BadRequest, InternalError

MAX_CHUNK_BYTES = 256 * 1024  # NATS' default max_payload is 1 MiB
PIECE_BYTES = 32 * 1024  # the unit of the bounded queues on both sides (a queue of N pieces)
MAX_TERMINAL_SIDE = 65535
STDOUT, STDERR = 1, 2


@dataclass(frozen=True)
class SessionOptions:
    """What a session asks for: an exec's command (None: attach), and its streams."""

    command: tuple[str, ...] | None
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def _flag(payload: dict[str, Any], name: str, default: bool) -> bool:
    value = payload.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{name}: Invalid value: {value!r}: must be true or false")
    return value


def session_options(payload: dict[str, Any], *, attach: bool) -> SessionOptions:
    """The request's options, or BadRequest naming the field and the rule (Kubernetes' own texts
    where it has them)."""
    command: tuple[str, ...] | None = None
    if not attach:
        raw = payload.get("command")
        if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
            raise BadRequest("you must specify at least one command for the container")
        command = tuple(raw)
    stdin = _flag(payload, "stdin", False)
    stdout = _flag(payload, "stdout", True)
    tty = _flag(payload, "tty", False)
    stderr = _flag(payload, "stderr", not tty)
    if tty and stderr:
        raise BadRequest("tty and stderr cannot both be true")  # the kubelet's rule
    if not (stdin or stdout or stderr):
        raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    return SessionOptions(command, stdin, stdout, stderr, tty)


def terminal_size(value: Any) -> tuple[int, int]:
    """``{"width", "height"}`` (or the WebSocket channel's ``{"Width", "Height"}``) as (w, h)."""
    if not isinstance(value, dict):
        raise BadRequest(f"resize: Invalid value: {value!r}: must be a map of width and height")
    size = []
    for name in ("width", "height"):
        v = value.get(name, value.get(name.capitalize()))
        if type(v) is not int or not 0 <= v <= MAX_TERMINAL_SIDE:
            raise BadRequest(
                f"resize.{name}: Invalid value: {v!r}: must be an integer from 0 to {MAX_TERMINAL_SIDE}"
            )
        size.append(v)
    return size[0], size[1]


def check_seq(body: dict[str, Any], expected: int, what: str) -> int:
    """The next expected ``seq`` after ``body``; InternalError when ``body`` is out of order (a
    lost or repeated chunk: the session cannot go on)."""
    seq = body.get("seq")
    if type(seq) is not int or seq != expected:
        raise InternalError(f"{what} out of order: expected chunk {expected}, got {seq!r}")
    return expected + 1


def coalesce(frames: Sequence[tuple[int, bytes]]) -> list[list[Any]]:
    """Frames for one chunk: adjacent frames of the same stream joined, empty ones dropped, order
    kept (the caller bounds the total with :func:`split_frame` and its own byte count)."""
    out: list[list[Any]] = []
    for fd, data in frames:
        if not data:
            continue
        if out and out[-1][0] == fd:
            out[-1][1] += data
        else:
            out.append([fd, bytearray(data)])
    return [[fd, bytes(d)] for fd, d in out]


def split_frame(fd: int, data: bytes, max_bytes: int = MAX_CHUNK_BYTES) -> list[tuple[int, bytes]]:
    """A frame too big for one chunk, as several."""
    return [(fd, data[i : i + max_bytes]) for i in range(0, len(data), max_bytes)] or [(fd, b"")]


def output_frames(body: dict[str, Any]) -> list[tuple[int, bytes]]:
    """The ``frames`` of an output chunk, checked: InternalError for a malformed one."""
    frames = body.get("frames") or []
    if not isinstance(frames, list):
        raise InternalError("malformed session chunk: frames must be a list")
    out = []
    for frame in frames:
        if (
            not isinstance(frame, (list, tuple))
            or len(frame) != 2
            or frame[0] not in (STDOUT, STDERR)
            or not isinstance(frame[1], bytes)
        ):
            raise InternalError(f"malformed session frame {frame!r}: must be [1 or 2, bytes]")
        out.append((int(frame[0]), bytes(frame[1])))
    return out

"""The container log stream: JetStream stream ``JETKUBE_LOGS``, one subject per container.

Subject (public): ``jetkube.logs.<namespace>.<pod>.<container>``. Namespaces and container names
never contain dots; a pod name may, so the namespace is the third token and the container the last
(subscribe to ``jetkube.logs.<namespace>.>`` for a namespace). Only pods of namespaces that opt in
(label or annotation ``logging.jetkube.io/stream: "true"`` on the Namespace) are published; the
kubelets publish (actors/kubelet/logstream.py).

Payload: JSON (so that ``nats sub`` shows it as it is), one line per message::

    {"time": "<RFC 3339, nanoseconds, UTC>", "stream": "stdout"|"stderr", "node": ..., "namespace": ...,
     "pod": ..., "container": ..., "containerId": ..., "line": "<text, no newline>"}

Each message carries ``Nats-Msg-Id: <container id>-<time ns>-<stream>``, so JetStream drops a
line published twice within its duplicate window. The stream keeps lines for ``max_age`` (one hour
by default) and at most ``max_bytes`` (256 MiB), the oldest dropped first.

Lifecycle: :func:`ensure_log_stream` creates the stream if missing (idempotent, as
bus/events.py's ``ensure_stream``); the control plane calls it at start (the api's bootstrap and
``jetkube controlplane``, with its replicas). Kubelets only publish: with NATS auth on, a node's
user may not create or read streams.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import nats.js.errors
from nats.js import api as jsapi

from bus.connection import Bus

STREAM = "JETKUBE_LOGS"
SUBJECT_PREFIX = "jetkube.logs"
DEFAULT_MAX_AGE = 3600.0
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
OPT_IN_KEY = "logging.jetkube.io/stream"


async def ensure_log_stream(
    bus: Bus, *, max_age: float = DEFAULT_MAX_AGE, max_bytes: int = DEFAULT_MAX_BYTES, replicas: int = 1
) -> None:
    try:
        await bus.js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # another process made it first
            await bus.js.add_stream(
                name=STREAM,
                subjects=[f"{SUBJECT_PREFIX}.>"],
                max_age=max_age,
                max_bytes=max_bytes,
                discard=jsapi.DiscardPolicy.OLD,
                storage=jsapi.StorageType.FILE,
                num_replicas=replicas,
                allow_direct=True,
            )


def log_subject(namespace: str, pod: str, container: str) -> str:
    return f"{SUBJECT_PREFIX}.{namespace}.{pod}.{container}"


def opted_in(namespace: dict[str, Any] | None) -> bool:
    """Whether a Namespace object asks for its pods' logs on the stream (label or annotation)."""
    meta = (namespace or {}).get("metadata") or {}
    for where in ("labels", "annotations"):
        if str((meta.get(where) or {}).get(OPT_IN_KEY, "")).lower() == "true":
            return True
    return False


def encode_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def decode_line(data: bytes) -> dict[str, Any]:
    return dict(json.loads(data))

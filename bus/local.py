"""Requests to a responder of the same process and connection, handed over without NATS.

The Kubernetes API gateway (actors/gateway) runs in the process of an api replica and speaks to
the api on the control plane's own connection. Over NATS each of its requests went out to
nats-server and came straight back into the same process, and so did the reply: two socket writes,
two reads and two more turns of a busy event loop per request, about 1 ms of the control plane's
CPU per create on the 2-core machine of the gateway benchmark (bench/gateway.py).

A :class:`~bus.rpc.Responder` that serves offers itself here (:func:`offer`, per connection) until
it stops (:func:`withdraw`). A client that opts in (``request(..., local=True)``, the gateway's
``ApiClient(local=True)``) looks for a serving responder of its connection whose subject matches
(:func:`find`) and, finding one, hands it a :class:`LocalMsg`: the same encoded payload, reply
subject and deadline header it would have published, so the responder classifies, queues (priority
levels, 429s), checks the deadline and size, and answers exactly as for a message from NATS. Its
encoded reply goes straight to the client's reply future (bus/pipeline.py) instead of to
nats-server. Finding none (the api elsewhere, not serving yet, or stopping), the client publishes
as before. Only the transport differs: one replica answers its own process's gateway rather than
whichever replica of the queue group NATS would have chosen.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from nats.aio.msg import Msg


@dataclass
class LocalMsg(Msg):
    """A request that never left the process: ``deliver(data)`` answers it."""

    deliver: Callable[[bytes], None] = field(default=lambda _data: None, repr=False)


class Serving(Protocol):
    """What a responder offers: its subject (wildcards allowed), whether it serves now, and the
    entry a message from NATS takes (called from the read loop; it must not block)."""

    subject: str

    def is_serving(self) -> bool: ...

    def _enqueue(self, msg: Msg) -> None: ...


_OFFERED: weakref.WeakKeyDictionary[Any, list[Serving]] = weakref.WeakKeyDictionary()


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)


def offer(nc: Any, responder: Serving) -> None:
    """``responder`` takes local requests of connection ``nc`` from now on."""
    offered = _OFFERED.setdefault(nc, [])
    if responder not in offered:
        offered.append(responder)


def withdraw(nc: Any, responder: Serving) -> None:
    offered = _OFFERED.get(nc, [])
    if responder in offered:
        offered.remove(responder)


def find(nc: Any, subject: str) -> Serving | None:
    """The serving responder of ``nc`` for ``subject``, or None (then the request goes by NATS)."""
    for responder in _OFFERED.get(nc, ()):
        if responder.is_serving() and matches(responder.subject, subject):
            return responder
    return None

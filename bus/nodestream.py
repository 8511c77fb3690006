"""The kubelet's side of its pod stream (``jetkube.nodepods.<node>``): what to keep, and when to re-list.

The api's node relay (actors/api/noderelay.py) publishes each change of a pod bound to a node as a
plain NATS message carrying the relay's identity and a sequence number per node. Plain messages are
lost in a reconnect, in a failed publish, or in the outbox of a relay that stops, and nothing would
ever resend them: a pod deleted in the gap would run forever. So the stream is checked, and any
doubt ends in a re-list of the node's pods whose differences become ordinary events.

This module holds the pure decisions, without I/O (the reading loop is
``ApiClient.watch_node_pods``):

* :class:`RelaySequences` judges each message's ``(relay, seq)``: in order, a repeat, a jump (a
  gap), or a relay never heard before (a restarted api, whose announce carries adds only).
* :class:`NodeView` is the stream's current view of the node's pods: which events to pass on (a
  repeat or an older state is dropped, as several api replicas relay the same change), and which
  events a listing implies (:meth:`NodeView.corrections`): pods it lacks were deleted, pods newer
  in it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Obj = dict[str, Any]


class Verdict(Enum):
    IN_ORDER = "in-order"
    REPEAT = "repeat"  # at or below what was seen or listed from that relay: already reflected
    GAP = "gap"  # a jump: messages were lost
    NEW_RELAY = "new-relay"  # a relay never heard: its predecessor may have died with changes unsent


class RelaySequences:
    """The last sequence number seen from each relay on one node's stream."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def listed(self, relay: str | None, seq: int) -> None:
        """A listing from ``relay`` reflects every change it routed up to ``seq``."""
        if relay:
            self.last[relay] = max(self.last.get(relay, 0), seq)

    def judge(self, relay: str | None, seq: int | None) -> Verdict:
        if not relay or seq is None:  # a relay from before sequence numbers (a rolling upgrade)
            return Verdict.IN_ORDER
        last = self.last.get(relay)
        if last is None:
            self.last[relay] = seq
            return Verdict.NEW_RELAY
        if seq <= last:
            return Verdict.REPEAT
        self.last[relay] = seq
        return Verdict.IN_ORDER if seq == last + 1 else Verdict.GAP


def pod_key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def revision(obj: Obj) -> int:
    return int((obj.get("metadata") or {}).get("resourceVersion") or 0)


@dataclass
class NodeView:
    """The pods the stream has reported as present, and the last revision it passed per key."""

    live: dict[str, Obj] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    listed: int = 0  # the newest listing's revision: an unknown pod older than it is long gone

    def accept(self, type_: str, obj: Obj) -> bool:
        """Whether a relayed event is news; if so the view takes it."""
        key, rv = pod_key(obj), revision(obj)
        if type_ == "DELETED":
            # (a delete found by the relay's own re-list carries the last state's revision)
            if key not in self.live or rv < revision(self.live[key]):
                return False
            self._forget(key, max(rv, self.seen.get(key, 0)))
            return True
        if rv <= self.seen.get(key, self.listed):
            return False
        self.live[key] = obj
        self.seen[key] = rv
        return True

    def corrections(self, items: list[Obj], listed_rv: int) -> list[tuple[str, Obj]]:
        """The events that bring the view to a listing at ``listed_rv`` (which it then holds).

        A pod the view holds at or below ``listed_rv`` that the listing lacks was deleted in a gap;
        a pod newer in the listing changed (or was bound) in a gap. A pod the view holds newer
        than the listing came from a faster relay and stays."""
        out: list[tuple[str, Obj]] = []
        present = set()
        for obj in items:
            key, rv = pod_key(obj), revision(obj)
            present.add(key)
            if rv > self.seen.get(key, 0):
                out.append(("MODIFIED" if key in self.live else "ADDED", obj))
                self.live[key] = obj
                self.seen[key] = rv
        for key in [k for k in self.live if k not in present]:
            old = self.live[key]
            if revision(old) <= listed_rv:
                out.append(("DELETED", old))
                self._forget(key, listed_rv)
        self.listed = max(self.listed, listed_rv)
        return out

    def _forget(self, key: str, rv: int) -> None:
        self.live.pop(key, None)
        self.seen[key] = rv
        if len(self.seen) > 4 * max(64, len(self.live)):  # keep what repeats can still refer to
            self.seen = {k: v for k, v in self.seen.items() if k in self.live or v > self.listed}

"""The cyclic garbage collector's thresholds for a long-running jetkube process.

CPython collects its youngest generation every 700 net allocations of container objects. A
control plane allocates that many in a handful of requests (each request, object and event is a
tree of dicts), so it collects thousands of times a second, and the older generations it promotes
into are traversed again and again: at 32 concurrent api clients that was the tail of the
latency. Measured with ``python -m bench.api --count 3000 --clients 1,32`` against ``jetkube up``
on the 2-core machine, two runs each way (2026-11-29): with the defaults 1,251–1,281 creates/s at
p99 194–208 ms; with these thresholds 1,436–1,636 creates/s at p99 37–39 ms (one client: 310–367
against 353–386 per s).

Reference counting still frees every acyclic object at once; only cycles wait longer. The oldest
generation keeps CPython's own rule (a full collection once the long-lived objects have grown by a
quarter), so memory held by garbage cycles stays bounded. While a snapshot is read or loaded into a
cache the youngest threshold is raised further for a moment (bus/gcpause.py).
"""

from __future__ import annotations

import gc

SERVER_THRESHOLDS = (50_000, 20, 100)


def tune_for_server() -> None:
    """Raise the collector's thresholds (leave it alone where it was switched off)."""
    if gc.get_threshold()[0] == 0 or not gc.isenabled():
        return
    gc.set_threshold(*SERVER_THRESHOLDS)

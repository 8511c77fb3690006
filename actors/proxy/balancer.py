"""Round robin over a Service port's ready backends, with ClientIP session affinity. No I/O.

As Kubernetes 1.2's userspace ``LoadBalancerRR``: each Service port keeps its backends in a stable
(sorted) order and a cursor; :meth:`LoadBalancer.next` hands out the next one. With affinity, a
client IP is pinned to the backend it got until it has been idle for the affinity timeout, or that
backend left the list. ``exclude`` lets a relay skip backends that refused a connection (the
relay's retry), and :meth:`LoadBalancer.forget` drops a pin to a backend that failed.

Time is passed in, so the decisions are tested without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.proxy.plan import Backend, ServicePortName


@dataclass
class _State:
    backends: list[Backend] = field(default_factory=list)
    index: int = 0
    affinity_timeout: float | None = None
    pins: dict[str, tuple[Backend, float]] = field(default_factory=dict)  # client ip -> (backend, last used)


class LoadBalancer:
    def __init__(self) -> None:
        self._states: dict[ServicePortName, _State] = {}

    def update(self, svc: ServicePortName, backends: list[Backend], affinity_timeout: float | None) -> bool:
        """Set the backends; True when they changed. Pins to backends that left are dropped."""
        st = self._states.setdefault(svc, _State())
        fresh = sorted(set(backends))
        changed = fresh != st.backends or affinity_timeout != st.affinity_timeout
        if fresh != st.backends:
            st.backends = fresh
            st.index = 0 if not fresh else st.index % len(fresh)
        st.affinity_timeout = affinity_timeout
        if affinity_timeout is None:
            st.pins.clear()
        else:
            alive = set(fresh)
            st.pins = {ip: pin for ip, pin in st.pins.items() if pin[0] in alive}
        return changed

    def remove(self, svc: ServicePortName) -> None:
        self._states.pop(svc, None)

    def backends(self, svc: ServicePortName) -> list[Backend]:
        st = self._states.get(svc)
        return list(st.backends) if st else []

    def services(self) -> list[ServicePortName]:
        return sorted(self._states)

    def next(
        self, svc: ServicePortName, client_ip: str, now: float, exclude: frozenset[Backend] = frozenset()
    ) -> Backend | None:
        st = self._states.get(svc)
        if st is None:
            return None
        candidates = [b for b in st.backends if b not in exclude]
        if not candidates:
            return None
        if st.affinity_timeout is not None:
            pin = st.pins.get(client_ip)
            if pin is not None and pin[0] not in exclude and now - pin[1] <= st.affinity_timeout:
                st.pins[client_ip] = (pin[0], now)
                return pin[0]
        for _ in range(len(st.backends)):
            b = st.backends[st.index % len(st.backends)]
            st.index = (st.index + 1) % len(st.backends)
            if b not in exclude:
                break
        if st.affinity_timeout is not None:
            st.pins[client_ip] = (b, now)
        return b

    def forget(self, svc: ServicePortName, client_ip: str) -> None:
        st = self._states.get(svc)
        if st is not None:
            st.pins.pop(client_ip, None)

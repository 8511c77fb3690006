"""Who may talk to the dashboard: the Host names it was started for, and a token for writes when
it listens beyond loopback. Pure decisions plus the token's creation; server.py applies them.

DNS rebinding: a page from ``evil.example`` can make its own name resolve to 127.0.0.1, and the
browser then sends the dashboard requests that are same-origin in its eyes (``Origin`` and ``Host``
both ``evil.example``). Only the ``Host`` header tells them apart, so every request, reads
included (reads show Secrets' names, logs, events), must name one of the dashboard's own hosts:
its address, ``localhost``, ``127.0.0.1``, ``[::1]``, the machine's names when it listens on every
address, and any given with ``allowed_hosts``.

Beyond loopback anyone on the network can reach the port, so writes (scale, delete) need the
token too: ``X-Dashboard-Token: <token>`` or ``Authorization: Bearer <token>``. The token is
random per start and carried in the printed URL's fragment (``#token=...``), which browsers never
send to servers; the page keeps it and adds the header to its writes.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_HEADER = "X-Dashboard-Token"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def machine_names() -> set[str]:
    """The names and addresses of this machine (for a dashboard listening on every address)."""
    names = {socket.gethostname(), socket.getfqdn()}
    try:
        names.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return {n.lower() for n in names if n}


def host_name(header: str) -> str:
    """The host of a ``Host`` header, without port or IPv6 brackets, lower case ("" if unusable)."""
    try:
        return (urlsplit("//" + header).hostname or "").lower()
    except ValueError:
        return ""


@dataclass
class Guard:
    bind_host: str
    allowed: set[str] = field(default_factory=set)
    token: str | None = None

    @classmethod
    def for_address(cls, bind_host: str, extra_hosts: list[str] | None = None) -> Guard:
        allowed = set(LOOPBACK_NAMES) | {bind_host.lower()} | {h.lower() for h in extra_hosts or []}
        if bind_host in ("0.0.0.0", "::", ""):
            allowed |= machine_names()
        token = None if is_loopback(bind_host) else secrets.token_urlsafe(24)
        return cls(bind_host, allowed, token)

    def host_refusal(self, header: str | None) -> str | None:
        name = host_name(header or "")
        if name in self.allowed:
            return None
        return (
            f"Host: Forbidden value: {header!r}: the dashboard answers only for "
            f"{', '.join(sorted(self.allowed))} (start it with --address to serve another name)"
        )

    def token_refusal(self, headers: dict[str, str]) -> str | None:
        if self.token is None:
            return None
        given = headers.get(TOKEN_HEADER) or ""
        auth = headers.get("Authorization") or ""
        if not given and auth.startswith("Bearer "):
            given = auth.removeprefix("Bearer ")
        if given and secrets.compare_digest(given, self.token):
            return None
        return (
            f"{TOKEN_HEADER}: a write to a dashboard listening on {self.bind_host} needs its token "
            "(in the URL it printed, after #token=)"
        )

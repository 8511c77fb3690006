"""UDP sockets that reply *from* the address a datagram was sent to (IP_PKTINFO).

A server bound to 0.0.0.0 answers from whatever address the route back to the client picks; a
datagram the service proxy DNATed (iptables mode) or redirected to 127.0.0.1 (userspace mode) was
sent to another address, and the client (connected to that one) drops a reply from any other.
The DNS server and the proxy's UDP relay both read each datagram's destination and send the reply
from it.
"""

from __future__ import annotations

import socket
import struct

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; Python has the name from 3.12
_ANC_SIZE = socket.CMSG_SPACE(12)  # struct in_pktinfo


def pktinfo_udp_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to (host, port) that reports each datagram's destination."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_IP, IP_PKTINFO, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def recv_with_destination(sock: socket.socket) -> tuple[bytes, tuple[str, int], bytes]:
    """One datagram: (data, sender, the 4-byte address it was sent to, b"" when unknown).
    Raises BlockingIOError when none is waiting, as ``recvmsg`` does."""
    data, anc, _flags, addr = sock.recvmsg(65535, _ANC_SIZE)
    local = b""
    for level, kind, value in anc:
        if level == socket.SOL_IP and kind == IP_PKTINFO and len(value) >= 12:
            local = value[8:12]
    return data, addr, local


def send_from(sock: socket.socket, data: bytes, addr: tuple[str, int], local: bytes) -> None:
    """Send ``data`` to ``addr`` from the 4-byte address ``local`` (the kernel's choice when b"")."""
    anc = [(socket.SOL_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, local, bytes(4)))] if local else []
    sock.sendmsg([data], anc, 0, addr)

"""What one hop through nats-server costs on this machine, with nothing of jetkube in the way.

A raw socket publishes 900-byte messages to a fresh nats-server in a loop, back to back (the
server stays busy) and with a 0.5 ms pause between them (the server goes idle and must be woken),
and prints the time one ``send`` takes in each case; then a core NATS request/reply loop (two
wake-ups per round trip) and a synchronous JetStream publish loop from one client. These bound
what a single api client can reach (README, Performance).

    python -m bench.wakeup [--count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

from bus.embedded import EmbeddedNats, free_port

MESSAGE = b"PUB bench.wakeup 900\r\n" + b"a" * 900 + b"\r\n"


def send_cost(port: int, count: int, pause: float) -> float:
    """Microseconds one send() of a published message takes."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.recv(4096)  # INFO
        sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
        spent = 0.0
        for _ in range(count):
            t0 = time.perf_counter()
            sock.send(MESSAGE)
            spent += time.perf_counter() - t0
            if pause:
                time.sleep(pause)
    return spent / count * 1e6


async def round_trips(url: str, count: int) -> tuple[float, float]:
    """Core request/reply and synchronous JetStream publishes per second, one client."""
    import nats

    server, client = await nats.connect(url), await nats.connect(url)

    async def echo(msg: object) -> None:
        await msg.respond(b"x")  # type: ignore[attr-defined]

    await server.subscribe("bench.echo", cb=echo)
    await server.flush()
    t0 = time.perf_counter()
    for _ in range(count):
        await client.request("bench.echo", b"y")
    rr = count / (time.perf_counter() - t0)
    js = client.jetstream()
    await js.add_stream(name="BENCHWAKEUP", subjects=["bench.js.>"])
    t0 = time.perf_counter()
    for i in range(count):
        await js.publish(f"bench.js.{i}", b"z" * 900)
    jsp = count / (time.perf_counter() - t0)
    await client.close()
    await server.close()
    return rr, jsp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jetkube-bench-") as tmp:
        server = EmbeddedNats(data_dir=Path(tmp) / "nats", port=free_port())
        server.start()
        try:
            port = int(server.url.rsplit(":", 1)[1])
            busy = send_cost(port, args.count, 0.0)
            idle = send_cost(port, args.count, 0.0005)
            rr, jsp = asyncio.run(round_trips(server.url, args.count))
        finally:
            server.stop()
    print(f"send() to a busy nats-server       {busy:8.1f} µs")
    print(f"send() to an idle nats-server      {idle:8.1f} µs")
    print(f"core request/reply, one client     {rr:8.0f} /s")
    print(f"JetStream publish (sync), 1 client {jsp:8.0f} /s")


if __name__ == "__main__":
    main()

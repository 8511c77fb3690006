"""``jetkube port-forward`` against a real cluster: a Docker pod's HTTP server reached from this
machine through the CLI (a subprocess, stopped with Ctrl-C) and the kubelet's NATS relay; a
1.3 MB body comes through whole; a port nothing listens on is one clear error."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from actors.kubelet.portforward import forward_connection
from bus.connection import Bus
from bus.store import Store
from schemas.errors import ServiceUnavailable
from tests.e2e.ingress.cluster import httpd_pod, ready_endpoints, service, small_cluster
from tests.waiting import wait_for

BIG = "".join(f"{i}\n" for i in range(1, 200001))


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def test_port_forward_a_service_through_the_cli(
    bus: Bus, store: Store, runtime: Any, node_name, tmp_path: Path, nats_url: str
) -> None:
    node = node_name("pf")
    async with small_cluster(bus, store, node, tmp_path / "kubelet") as api:
        await api.create("pods", httpd_pod("web-1", node, {"app": "web"}))
        await api.create("services", service("web", {"app": "web"}, 8000, "http", port_name="web"))
        await wait_for(lambda: ready_endpoints(api, "web", 1), 60, what="the pod ready behind its Service")

        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli.main",
            "port-forward",
            "--server",
            nats_url,
            "svc/web",
            ":8000",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
            preexec_fn=_sigint_as_in_a_terminal,
        )
        assert proc.stdout is not None and proc.stderr is not None
        try:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            found = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80\n", line)
            assert found, (line, (await proc.stderr.read()).decode() if proc.returncode is not None else "")
            local = int(found.group(1))
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{local}/") as resp:
                    assert (resp.status, (await resp.text()).strip()) == (200, "web-1")
                async with http.get(f"http://127.0.0.1:{local}/big") as resp:
                    assert resp.status == 200
                    assert await resp.text() == BIG
            assert (
                await asyncio.wait_for(proc.stdout.readline(), 10)
            ).decode() == f"Handling connection for {local}\n"
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(proc.wait(), 20)
        assert code == 0, (await proc.stderr.read()).decode()


async def test_port_forward_errors_name_the_pod_and_port(
    bus: Bus, store: Store, runtime: Any, node_name, tmp_path: Path
) -> None:
    node = node_name("pf")
    async with small_cluster(bus, store, node, tmp_path / "kubelet") as api:
        await api.create("pods", httpd_pod("web-1", node, {"app": "web"}))

        async def running() -> bool:
            pod = await api.get("pods", "web-1", "default")
            return (pod.get("status") or {}).get("phase") == "Running"

        await wait_for(running, 60, what="the pod running")

        async def fetch_through(port: int) -> bytes:
            server_side: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
                asyncio.get_running_loop().create_future()
            )

            async def accepted(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
                server_side.set_result((r, w))

            listener = await asyncio.start_server(accepted, "127.0.0.1", 0)
            try:
                reader, writer = await asyncio.open_connection(*listener.sockets[0].getsockname()[:2])
                sreader, swriter = await server_side
                relay = asyncio.ensure_future(
                    forward_connection(
                        bus, node, {"namespace": "default", "pod": "web-1", "port": port}, sreader, swriter
                    )
                )
                writer.write(b"GET / HTTP/1.0\r\n\r\n")
                await writer.drain()
                data = await asyncio.wait_for(reader.read(), 20)
                writer.close()
                await asyncio.wait_for(relay, 20)
                return data
            finally:
                listener.close()

        async def answers() -> bytes | None:
            try:
                return await fetch_through(80)
            except ServiceUnavailable:  # running, but httpd not listening yet
                return None

        page = await wait_for(answers, 30, what="httpd to answer through the relay")
        assert page.startswith(b"HTTP/1.1 200 OK") and page.endswith(
            b"web-1\n"
        )  # the pod closed: eof both ways
        with pytest.raises(
            ServiceUnavailable, match=r"error forwarding port 81 to pod default/web-1: failed to connect"
        ):
            await fetch_through(81)

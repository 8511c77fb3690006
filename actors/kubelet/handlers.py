"""Run a probe or lifecycle-hook action against a container: exec, httpGet, tcpSocket.

``exec`` runs in the container through the engine; ``httpGet`` and ``tcpSocket`` connect from the
kubelet's host to the pod's IP (reachable on Docker's bridge from the engine's host) or to
``host`` when given. A named port is looked up in the container's ports. Each returns
``(ok, message)``; the message is what Kubernetes puts in the Unhealthy / FailedPostStartHook
event (the command's output, ``HTTP probe failed with statuscode: 500``, the connection error).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from actors.kubelet.cri import ContainerRuntime
from schemas.errors import JetkubeError

Obj = dict[str, Any]


def resolve_port(port: Any, container: Obj) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port {port!r} in container {container.get('name')}")


_session: aiohttp.ClientSession | None = None


def _http() -> aiohttp.ClientSession:
    global _session
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0))
    return _session


async def close_http() -> None:
    global _session
    if _session is not None and not _session.closed:
        await _session.close()
    _session = None


async def run_action(
    runtime: ContainerRuntime,
    container_id: str,
    action: Obj,
    container: Obj,
    pod_ip: str,
    timeout: float,
) -> tuple[bool, str]:
    try:
        if action.get("exec"):
            cmd = [str(c) for c in action["exec"].get("command") or []]
            code, out = await runtime.exec(container_id, cmd, timeout=timeout)
            return code == 0, out.strip() if code else out
        if action.get("httpGet"):
            return await _http_get(action["httpGet"], container, pod_ip, timeout)
        if action.get("tcpSocket"):
            ts = action["tcpSocket"]
            host = str(ts.get("host") or pod_ip or "127.0.0.1")
            port = resolve_port(ts.get("port"), container)
            try:
                async with asyncio.timeout(timeout):
                    _r, w = await asyncio.open_connection(host, port)
            except (OSError, TimeoutError) as exc:
                return False, f"dial tcp {host}:{port}: {exc or 'i/o timeout'}"
            w.close()
            with contextlib.suppress(OSError):
                await w.wait_closed()
            return True, ""
    except JetkubeError as exc:
        return False, exc.message
    except ValueError as exc:
        return False, str(exc)
    return False, "no action (exec, httpGet or tcpSocket) given"


async def _http_get(spec: Obj, container: Obj, pod_ip: str, timeout: float) -> tuple[bool, str]:
    scheme = str(spec.get("scheme") or "HTTP").lower()
    host = str(spec.get("host") or pod_ip or "127.0.0.1")
    port = resolve_port(spec.get("port"), container)
    path = str(spec.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    headers = {str(h["name"]): str(h.get("value", "")) for h in spec.get("httpHeaders") or []}
    headers.setdefault("User-Agent", "kube-probe/jetkube")
    url = f"{scheme}://{host}:{port}{path}"
    try:
        async with _http().get(
            url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            ssl=False,
            allow_redirects=True,
        ) as resp:
            await resp.read()
            if 200 <= resp.status < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {resp.status}"
    except (aiohttp.ClientError, OSError) as exc:
        return False, f'Get "{url}": {exc}'
    except TimeoutError:
        return (
            False,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
        )

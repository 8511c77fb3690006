"""KubeletServer: a node's ``logs`` and ``exec`` over NATS request/reply.

Subjects (public, in the README): ``jetkube.node.<node>.logs`` and ``jetkube.node.<node>.exec``.
Requests and replies follow bus/rpc.py (msgpack; ``{"object": ...}`` or ``{"error": Status}``).

logs request::

    {namespace, pod, uid?, container?, tail?, since? (seconds), previous?, follow?, timestamps?,
     stream? (an inbox)}

Without ``stream`` the reply is ``{"lines": [...], "truncated": bool}`` (at most
``MAX_REPLY_BYTES``: the newest lines are kept; ``follow`` needs a stream). With ``stream`` the
reply is ``{"streaming": true}`` and the lines follow on the inbox (server_stream.py has that
protocol).

exec request::

    {namespace, pod, uid?, container?, command: [...], timeout? (seconds, default 300)}

reply ``{"exitCode": n, "output": "..."}``: stdout and stderr combined, in the order the engine
delivered them, as ``kubectl exec`` without ``-t`` prints them to one terminal. No stdin, no tty.

An exec request with ``stream`` (an inbox), and every ``attach`` request, opens an interactive
session instead: stdin, a tty, resizes and the exit code, both ways over NATS
(session_protocol.py has the protocol, session.py the kubelet's side).

portforward request ``{namespace, pod, uid?, port, stream}``: a TCP connection to the pod's port,
relayed over NATS (portforward.py has the protocol).

stats request ``{}``: the node's and its pods' CPU and memory from the last sample of the
kubelet's StatsCollector (actors/kubelet/stats.py has the reply); a kubelet without one answers
ServiceUnavailable.

The containers are found by their labels (labels.py): by the pod's uid when the request carries
it, else by the pod's namespace and name (of the newest pod of that name). ``previous`` is the
attempt before the current one. The server knows only the engine, not the pod object: checks that
need the spec (is the container name valid, which is the default) are the client's
(server_select.py has both). Lifecycle: ``run()`` is supervised; it serves until cancelled, and
the follow streams it started stop with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from nats.aio.msg import Msg

from actors.kubelet.runtime import DockerRuntime
from actors.kubelet.server_select import pick_instance, pod_instances, since_epoch
from actors.kubelet.server_stream import StreamSettings, pump_lines
from actors.kubelet.types import ContainerSummary
from bus.auth import KUBELET_CLIENTS, NODE_SUBJECT_PREFIX, requester_of
from bus.auth import node_subject as auth_node_subject
from bus.connection import Bus
from bus.rpc import Responder
from schemas.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable

log = structlog.get_logger(__name__)

SUBJECT_PREFIX = NODE_SUBJECT_PREFIX
MAX_REPLY_BYTES = 900 * 1024  # NATS' default max_payload is 1 MiB
DEFAULT_EXEC_TIMEOUT = 300.0


def node_subject(node_name: str, verb: str) -> str:
    """``jetkube.node.<node token>.<verb>`` (bus/auth.py: the node's dots as ``_``, one token)."""
    return auth_node_subject(node_name, verb)


def keep_tail(lines: list[str], max_bytes: int) -> tuple[list[str], bool]:
    """The newest lines that fit in ``max_bytes``; whether any were dropped."""
    total = 0
    for i in range(len(lines) - 1, -1, -1):
        total += len(lines[i].encode()) + 1
        if total > max_bytes:
            return lines[i + 1 :], True
    return lines, False


class KubeletServer:
    def __init__(
        self,
        bus: Bus,
        runtime: DockerRuntime,
        node_name: str,
        *,
        concurrency: int = 16,
        stream_settings: StreamSettings | None = None,
        stats: Any = None,
    ) -> None:
        self.bus = bus
        self.stats = stats  # actors.kubelet.stats.StatsCollector, or None
        self.runtime = runtime
        self.node_name = node_name
        self.stream_settings = stream_settings or StreamSettings()
        self.responder = Responder(
            bus,
            node_subject(node_name, "*"),
            self.handle,
            concurrency=concurrency,
            name=f"kubelet-server-{node_name}",
        )
        self._streams: asyncio.TaskGroup | None = None

    @property
    def serving(self) -> asyncio.Event:
        return self.responder.serving

    async def run(self) -> None:
        log.info("kubelet.server.serving", node=self.node_name, subject=node_subject(self.node_name, "*"))
        async with asyncio.TaskGroup() as tg:
            self._streams = tg
            try:
                await self.responder.run()
            finally:
                self._streams = None

    async def handle(self, verb: str, payload: dict[str, Any], msg: Msg) -> Any:
        self.check_requester(msg)
        if verb == "logs":
            return await self.logs(payload)
        if verb == "exec" and payload.get("stream"):
            return await self.session(payload, msg, attach=False)
        if verb == "exec":
            return await self.exec(payload)
        if verb == "attach":
            return await self.session(payload, msg, attach=True)
        if verb == "portforward":  # the protocol is in portforward.py
            from actors.kubelet.portforward import open_forward

            return await open_forward(self.bus, self.runtime, self.node_name, payload, self._streams)
        if verb == "stats":
            if self.stats is None:
                raise ServiceUnavailable(f"the kubelet of node {self.node_name} does not collect stats")
            return self.stats.summary()
        raise BadRequest(
            f"unknown request {verb!r} on {msg.subject}: the kubelet serves logs, exec, attach, "
            "portforward and stats"
        )

    def check_requester(self, msg: Msg) -> None:
        """With NATS auth on, answer only the cluster's admins and the control plane: the reply
        inbox names who asks (only that user may subscribe to ``_INBOX.<user>.>``). Another node,
        or anyone NATS let publish here by mistake, is refused."""
        if not getattr(self.bus, "identity", None):
            return  # auth off: everyone is trusted, as everywhere else
        who = requester_of(getattr(msg, "reply", None))
        if who not in KUBELET_CLIENTS:
            log.warning("kubelet.server.refused", node=self.node_name, requester=who, subject=msg.subject)
            raise Forbidden(
                f"the kubelet of node {self.node_name} answers only the control plane and admins, "
                f"not {who or 'an unknown requester'}"
            )

    # ------------------------------------------------------------------ lookup

    async def find(self, payload: dict[str, Any], *, previous: bool = False) -> ContainerSummary:
        namespace = str(payload.get("namespace") or "default")
        pod = payload.get("pod")
        if not pod:
            raise BadRequest("the request must name a pod")
        uid = payload.get("uid") or None
        instances = pod_instances(await self.runtime.list(self.node_name), namespace, str(pod), uid)
        container = payload.get("container")
        if not container:
            names = sorted({c.container_name for c in instances})
            if len(names) != 1:
                if not names:
                    raise NotFound(f'pods "{pod}" not found on node {self.node_name}')
                raise BadRequest(
                    f"a container name must be specified for pod {pod}, choose one of: [{' '.join(names)}]"
                )
            container = names[0]
        return pick_instance(instances, str(pod), str(container), previous=previous)

    # ------------------------------------------------------------------ logs

    async def logs(self, payload: dict[str, Any]) -> dict[str, Any]:
        inst = await self.find(payload, previous=bool(payload.get("previous")))
        tail = payload.get("tail")
        tail = int(tail) if tail is not None and int(tail) >= 0 else None
        since = since_epoch(payload.get("since"), time.time())
        follow = bool(payload.get("follow"))
        lines = self.runtime.logs(
            inst.id, tail=tail, since=since, follow=follow, timestamps=bool(payload.get("timestamps"))
        )
        inbox = payload.get("stream")
        if inbox:
            if self._streams is None:
                raise BadRequest("the kubelet's server is stopping")
            self._streams.create_task(
                self._stream(str(inbox), lines),
                name=f"logs-stream-{inst.id[:12]}",
            )
            log.debug("logs.streaming", pod=payload.get("pod"), container=inst.container_name, follow=follow)
            return {"streaming": True}
        if follow:
            raise BadRequest("follow needs a stream: put an inbox in the request's 'stream'")
        collected = [line async for line in lines]
        kept, truncated = keep_tail(collected, MAX_REPLY_BYTES)
        return {"lines": kept, "truncated": truncated}

    async def _stream(self, inbox: str, lines: AsyncIterator[str]) -> None:
        try:
            await pump_lines(self.bus, inbox, lines, self.stream_settings)
        except Exception:  # one stream's bug must not stop the server (its TaskGroup)
            log.exception("logs.stream_failed", inbox=inbox)

    # ------------------------------------------------------------------ exec

    async def exec(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = payload.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise BadRequest("you must specify at least one command for the container")
        inst = await self.find(payload)
        if not inst.running:
            raise BadRequest(f'unable to upgrade connection: container not found ("{inst.container_name}")')
        timeout = float(payload.get("timeout") or DEFAULT_EXEC_TIMEOUT)
        code, output = await self.runtime.exec(inst.id, command, timeout=timeout)
        encoded = output.encode()
        truncated = len(encoded) > MAX_REPLY_BYTES
        if truncated:
            output = encoded[-MAX_REPLY_BYTES:].decode(errors="replace")
        return {"exitCode": code, "output": output, "truncated": truncated}

    # ------------------------------------------------------------------ sessions

    async def session(self, payload: dict[str, Any], msg: Msg, *, attach: bool) -> dict[str, Any]:
        """An interactive exec or attach (session.py): start it in the engine, relay it."""
        from actors.kubelet.session import open_session
        from actors.kubelet.session_protocol import session_options

        options = session_options(payload, attach=attach)
        inst = await self.find(payload)
        if not inst.running:
            raise BadRequest(f'unable to upgrade connection: container not found ("{inst.container_name}")')
        if options.command is not None:
            engine = await self.runtime.open_exec(
                inst.id,
                options.command,
                stdin=options.stdin,
                stdout=options.stdout,
                stderr=options.stderr,
                tty=options.tty,
            )
        else:
            engine = await self.runtime.open_attach(
                inst.id, stdin=options.stdin, stdout=options.stdout, stderr=options.stderr
            )
        return await open_session(self.bus, engine, options, payload, msg, self.node_name, self._streams)

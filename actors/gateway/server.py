"""The gateway actor: the Kubernetes API over HTTPS in front of the NATS api.

Lifecycle, from a process with a :class:`~actors.runtime.supervisor.Supervisor` and a control-plane
bus (``jetkube up``, ``jetkube controlplane``)::

    gw = Gateway(bus, pki_dir=data_dir / "pki", tokens={password: nats_user}, port=6443)
    url = await gw.bind()      # the CA and serving certificate exist now; listening
    gw.start(sup)              # one agent holds the server until the supervisor stops it

The handler chain follows kube-apiserver's: TLS (the cluster CA verifies client certificates,
which are optional) -> authentication (identity.py) -> impersonation -> the REST mapping
(rest.py), whose api calls the api's gate authorizes and admits. Errors leave as Kubernetes
Status objects with their HTTP code, so kubectl prints ``Error from server (NotFound): ...``.

It holds no state: several replicas (one per control-plane process) serve side by side, each on
its own address, as the api's replicas share the NATS queue group.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from actors.gateway import discovery, openapi
from actors.gateway.identity import authenticate, impersonation
from actors.gateway.pki import Pki, ensure_pki, host_names
from actors.gateway.rest import Rest
from actors.gateway.wire import USER, client_for, json_response, read_body, status_response
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from schemas.errors import BadRequest, InternalError, JetkubeError, NotFound, ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_PORT = 6443
SHUTDOWN_GRACE = 1.0
MAX_BODY = 3 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tls_context(pki: Pki) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki.serving_cert, pki.serving_key)
    ctx.load_verify_locations(pki.ca_cert)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, or a bearer token
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _peer_cert(request: web.Request) -> bytes | None:
    transport = request.transport
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    return sslobj.getpeercert(binary_form=True) if sslobj is not None else None


def build_app(bus: Bus, tokens: Mapping[str, str], address: Callable[[], str], rest: Rest) -> web.Application:

    @web.middleware
    async def chain(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            user = authenticate(
                _peer_cert(request), request.headers.get("Authorization"), tokens, request.path
            )
            if user is not None:
                groups = request.headers.getall("Impersonate-Group", [])
                user = impersonation(user, request.headers, list(groups))
            request[USER] = user
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status == 404:
                return status_response(NotFound("the server could not find the requested resource"))
            raise
        except JetkubeError as err:
            return status_response(err)
        except TimeoutError:
            return status_response(ServiceUnavailable(f"{request.path}: the api did not answer in time"))
        except ConnectionError:
            raise
        except Exception as exc:
            log.error("gateway.handler_failed", path=request.path, exc_info=exc)
            return status_response(InternalError(f"{type(exc).__name__}: {exc}"))

    async def version(_r: web.Request) -> web.Response:
        from importlib import metadata

        try:
            v = metadata.version("jetkube")
        except metadata.PackageNotFoundError:
            v = "0.0.0"
        return json_response(discovery.version_info(v))

    async def ok(_r: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def api(_r: web.Request) -> web.Response:
        return json_response(discovery.api_versions(address()))

    async def apis(_r: web.Request) -> web.Response:
        return json_response(discovery.api_group_list())

    async def group(r: web.Request) -> web.Response:
        doc = discovery.api_group(r.match_info["group"])
        if doc is None:
            raise NotFound("the server could not find the requested resource")
        return json_response(doc)

    async def resources(r: web.Request) -> web.Response:
        group_name = r.match_info.get("group", "")
        doc = discovery.resource_list(group_name, r.match_info["version"])
        if doc is None:
            raise NotFound("the server could not find the requested resource")
        return json_response(doc)

    async def core(r: web.Request) -> web.StreamResponse:
        if r.match_info["version"] != "v1":
            raise NotFound("the server could not find the requested resource")
        return await rest.handle(r, "", "v1", r.match_info["tail"].split("/"))

    async def named(r: web.Request) -> web.StreamResponse:
        g, v = r.match_info["group"], r.match_info["version"]
        if (g, v) == ("authorization.k8s.io", "v1"):
            return await access_review(r)
        if (g, v) == ("metrics.k8s.io", "v1beta1"):
            from actors.gateway import metrics

            api = client_for(bus, r[USER])
            return json_response(await metrics.serve(bus, api, r.match_info["tail"].split("/"), r.query))
        return await rest.handle(r, g, v, r.match_info["tail"].split("/"))

    async def access_review(r: web.Request) -> web.Response:
        tail = r.match_info["tail"].strip("/")
        if tail != "selfsubjectaccessreviews" or r.method != "POST":
            raise NotFound("the server could not find the requested resource")
        body = await read_body(r)
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a SelfSubjectAccessReview")
        return json_response(await self_subject_access_review(rest, r, body), 201)

    # The documents are made once per process (seconds of pydantic schema generation): in a
    # thread, so the event loop (the whole control plane in `jetkube up`) never waits on them.
    async def openapi_index(_r: web.Request) -> web.Response:
        return web.Response(text=await asyncio.to_thread(openapi.index), content_type="application/json")

    async def openapi_doc(r: web.Request) -> web.Response:
        text = await asyncio.to_thread(openapi.document, r.match_info["path"])
        if text is None:
            raise NotFound("the server could not find the requested resource")
        return web.Response(text=text, content_type="application/json")

    app = web.Application(middlewares=[chain], client_max_size=MAX_BODY)
    app.add_routes(
        [
            web.get("/version", version),
            web.get("/healthz", ok),
            web.get("/livez", ok),
            web.get("/readyz", ok),
            web.get("/openapi/v3", openapi_index),
            web.get("/openapi/v3/{path:.+}", openapi_doc),
            web.get("/api", api),
            web.get("/apis", apis),
            web.get("/api/{version}", resources),
            web.get("/apis/{group}", group),
            web.get("/apis/{group}/{version}", resources),
            web.route("*", "/api/{version}/{tail:.+}", core),
            web.route("*", "/apis/{group}/{version}/{tail:.+}", named),
        ]
    )
    return app


async def self_subject_access_review(
    rest: Rest, request: web.Request, body: dict[str, Any]
) -> dict[str, Any]:
    """``kubectl auth can-i``: the api's ``cani`` verb, as the requesting user."""
    spec = body.get("spec") or {}
    attrs = spec.get("resourceAttributes")
    status: dict[str, Any]
    if not isinstance(attrs, dict):  # nonResourceAttributes: every authenticated user may read them
        status = {"allowed": True, "reason": "non-resource URLs are open to authenticated users"}
    else:
        resource = str(attrs.get("resource") or "")
        if attrs.get("group") and resource != "*":
            resource = f"{resource}.{attrs['group']}"
        if attrs.get("subresource"):
            resource = f"{resource}/{attrs['subresource']}"
        api = client_for(rest.bus, request[USER])
        try:
            got = await api.can_i(
                str(attrs.get("verb") or ""),
                resource,
                attrs.get("namespace") or None,
                attrs.get("name") or None,
            )
            status = {"allowed": bool(got.get("allowed")), "reason": str(got.get("reason") or "")}
        except BadRequest as err:
            status = {"allowed": False, "evaluationError": err.message}
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {},
        "spec": spec,
        "status": status,
    }


class Gateway:
    def __init__(
        self,
        bus: Bus,
        *,
        pki_dir: Path,
        tokens: Mapping[str, str],
        host: str = "0.0.0.0",
        port: int = DEFAULT_PORT,
        names: list[str] | None = None,
    ) -> None:
        self.bus = bus
        self.host = host
        self.port = port
        self.pki_dir = pki_dir
        self.names = names or []
        self.tokens = dict(tokens)
        self.rest = Rest(bus)
        self.app = build_app(bus, self.tokens, lambda: f"{self.advertise}:{self.port}", self.rest)
        self._runner: web.AppRunner | None = None
        self.pki: Pki | None = None
        self.url = ""

    @property
    def advertise(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    async def bind(self) -> str:
        """Make the CA and serving certificate if needed, listen; the server's URL.
        ServiceUnavailable when the port cannot be had."""
        extra = [self.host] if self.host not in ("0.0.0.0", "::", "") else []
        self.pki = await asyncio.to_thread(ensure_pki, self.pki_dir, host_names([*extra, *self.names]))
        # handler_cancellation: a client that goes away cancels its handler, so an abandoned watch
        # or log stream ends at once instead of at its next event
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE, handler_cancellation=True
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, ssl_context=tls_context(self.pki)).start()
        except OSError as err:
            await runner.cleanup()
            raise ServiceUnavailable(
                f"the Kubernetes API cannot listen on {self.host}:{self.port}: {err.strerror or err}"
                " (choose another port with --apiserver-port)"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        shown = f"[{self.advertise}]" if ":" in self.advertise else self.advertise
        self.url = f"https://{shown}:{self.port}"
        log.info("gateway.listening", url=self.url)
        return self.url

    def start(self, sup: Supervisor) -> None:
        sup.spawn("gateway", self.run, restart=False)

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

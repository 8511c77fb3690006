"""The gateway actor: the Kubernetes API over HTTPS in front of the NATS api.

Lifecycle, from a process with a :class:`~actors.runtime.supervisor.Supervisor` and a control-plane
bus (``jetkube up``, ``jetkube controlplane``)::

    gw = Gateway(bus, pki_dir=data_dir / "pki", tokens={password: nats_user}, port=6443)
    url = await gw.bind()      # the cluster CA adopted, the serving certificate made; listening
    gw.start(sup)              # one agent holds the server until the supervisor stops it

The handler chain follows kube-apiserver's: TLS (the cluster CA verifies client certificates,
which are optional) -> authentication (identity.py) -> impersonation -> the REST mapping
(rest.py), whose api calls the api's gate authorizes and admits. Errors leave as Kubernetes
Status objects with their HTTP code, so kubectl prints ``Error from server (NotFound): ...``.

It holds no state but its serving certificate: several replicas (one per control-plane process)
serve side by side, each on its own address, as the api's replicas share the NATS queue group. They
share one cluster CA, kept in the state store (clusterca.py), so a kubeconfig or a pod's ``ca.crt``
verifies every replica and a client certificate any of them issued is accepted by all.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from actors.gateway import discovery, openapi
from actors.gateway.clusterca import adopt_cluster_ca
from actors.gateway.identity import authenticate, from_service_account_token, impersonation
from actors.gateway.pki import Pki, ensure_pki, host_names
from actors.gateway.rest import Rest
from actors.gateway.wire import USER, client_for, json_response, read_body, status_response
from actors.runtime.supervisor import Supervisor
from actors.serviceaccount.issuer import TokenIssuer
from bus.client import ApiClient
from bus.connection import Bus
from bus.store import Store
from schemas.errors import BadRequest, InternalError, JetkubeError, NotFound, ServiceUnavailable

log = structlog.get_logger(__name__)

DEFAULT_PORT = 6443


class NotAcceptable(JetkubeError):
    code = 406
    reason = "NotAcceptable"


SHUTDOWN_GRACE = 1.0
MAX_BODY = 3 * 1024 * 1024
PROTOBUF_OPENAPI_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # gnostic, kubectl's
# served as Kubernetes does, with the "@" (which Go's mime parser refuses in a Content-Type) a "."
PROTOBUF_OPENAPI_V2_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def tls_context(pki: Pki) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(pki.serving_cert, pki.serving_key)
    ctx.load_verify_locations(pki.ca_cert)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, or a bearer token
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@functools.cache
def _installed_version() -> str:
    """jetkube's version, read once (importlib.metadata scans the installed distributions: about
    a millisecond of the control plane's event loop at every ``GET /version``)."""
    from importlib import metadata

    try:
        return metadata.version("jetkube")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _peer_cert(request: web.Request) -> bytes | None:
    transport = request.transport
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    return sslobj.getpeercert(binary_form=True) if sslobj is not None else None


def build_app(
    bus: Bus,
    tokens: Mapping[str, str],
    address: Callable[[], str],
    rest: Rest,
    issuer: TokenIssuer | None = None,
) -> web.Application:

    @web.middleware
    async def chain(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            authorization = request.headers.get("Authorization")
            user = await from_service_account_token(authorization, tokens, issuer) or authenticate(
                _peer_cert(request), authorization, tokens, request.path
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
        return json_response(discovery.version_info(_installed_version()))

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

    async def openapi_v2(r: web.Request) -> web.Response:
        accept = r.headers.get("Accept", "")
        if "protobuf" in accept and "json" not in accept and "*/*" not in accept:
            if PROTOBUF_OPENAPI_V2 not in accept:
                return status_response(
                    NotAcceptable(f"OpenAPI v2 is served as JSON or {PROTOBUF_OPENAPI_V2}")
                )
            body = await asyncio.to_thread(openapi.swagger_protobuf)
            return web.Response(body=body, headers={"Content-Type": PROTOBUF_OPENAPI_V2_TYPE})
        return web.Response(text=await asyncio.to_thread(openapi.swagger), content_type="application/json")

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
            web.get("/openapi/v2", openapi_v2),
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
        in_cluster_address: str | None = None,
        encryption_key_file: Path | None = None,
    ) -> None:
        """``in_cluster_address``: the address pods reach this gateway at; given, the gateway
        publishes the ``default/kubernetes`` Service and Endpoints and the root CA (incluster.py).
        ``encryption_key_file``: the control plane's Secrets keys, which seal the cluster CA in the
        store (clusterca.py)."""
        self.bus = bus
        self.encryption_key_file = encryption_key_file
        self.in_cluster_address = in_cluster_address
        self.host = host
        self.port = port
        self.pki_dir = pki_dir
        self.names = names or []
        self.tokens = dict(tokens)
        self.rest = Rest(bus)
        self.issuer = TokenIssuer(Store(bus))
        self.app = build_app(
            bus, self.tokens, lambda: f"{self.advertise}:{self.port}", self.rest, self.issuer
        )
        self._runner: web.AppRunner | None = None
        self._tls: ssl.SSLContext | None = None
        self.pki: Pki | None = None
        self.url = ""

    @property
    def advertise(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    async def bind(self) -> str:
        """Adopt (or store) the cluster CA, make the serving certificate if needed, listen; the
        server's URL. ServiceUnavailable when the port cannot be had or the store does not answer."""
        extra = [self.host] if self.host not in ("0.0.0.0", "::", "") else []
        if self.in_cluster_address:
            extra.append(self.in_cluster_address)
        await adopt_cluster_ca(self._ca_store(), self.pki_dir)  # the cluster's one CA, in pki_dir
        self.pki = await asyncio.to_thread(ensure_pki, self.pki_dir, host_names([*extra, *self.names]))
        # handler_cancellation: a client that goes away cancels its handler, so an abandoned watch
        # or log stream ends at once instead of at its next event
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE, handler_cancellation=True
        )
        await runner.setup()
        try:
            self._tls = tls_context(self.pki)
            await web.TCPSite(runner, self.host, self.port, ssl_context=self._tls).start()
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

    def _ca_store(self) -> Store:
        """The store the cluster CA is kept in: sealed as the api seals Secrets when there are keys."""
        if self.encryption_key_file is None:
            return Store(self.bus)
        from actors.api.encryption import EncryptingStore, KeyRing

        return EncryptingStore(Store(self.bus), KeyRing.load_or_create(self.encryption_key_file))

    def start(self, sup: Supervisor) -> None:
        sup.spawn("gateway", self.run, restart=False)
        if self.in_cluster_address and self.pki is not None:
            sup.spawn("gateway.in_cluster", self.publish_in_cluster, restart=False)

    async def publish_in_cluster(self) -> None:
        """The ``default/kubernetes`` Service, its Endpoints and the root CA (incluster.py); then the
        serving certificate is remade to cover the Service's ClusterIP, the address in-cluster
        clients dial (``KUBERNETES_SERVICE_HOST``) and verify, and new connections get it."""
        from actors.gateway.incluster import publish_forever

        assert self.pki is not None and self.in_cluster_address
        cluster_ip = await publish_forever(
            ApiClient(self.bus),
            ca_pem=self.pki.ca_cert.read_text(),
            address=self.in_cluster_address,
            port=self.port,
        )
        if cluster_ip and cluster_ip not in self.names:
            self.names.append(cluster_ip)
            extra = [self.host] if self.host not in ("0.0.0.0", "::", "") else []
            names = host_names([*extra, self.in_cluster_address, *self.names])
            self.pki = await asyncio.to_thread(ensure_pki, self.pki_dir, names)
            if self._tls is not None:
                self._tls.load_cert_chain(self.pki.serving_cert, self.pki.serving_key)
            log.info("gateway.serving_certificate_covers", cluster_ip=cluster_ip)

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

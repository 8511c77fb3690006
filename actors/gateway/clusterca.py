"""One cluster CA for every gateway replica, kept in the state store.

Kubernetes has one cluster CA: every kube-apiserver replica serves a certificate it signed, and
every client (kubeconfigs, the ``kube-root-ca.crt`` ConfigMap that pods mount) trusts that one CA.
jetkube's gateways (one per control-plane process, on its own host) therefore share theirs through
the state bucket.

Where: a Secret ``kube-system/jetkube-cluster-ca`` (type ``kubernetes.io/tls``, ``tls.crt`` and
``tls.key``) under its own bucket key ``_clusterca.kube-system.jetkube-cluster-ca``, a resource
the api serves nothing for and no CRD can be named (plurals have no ``_``). So no api user reaches
it, whatever RBAC grants (``view``, ``edit``, even ``system:masters``: kube-apiserver never serves
its CA key either); only the control plane's NATS user may write the bucket, and only it and
``admin`` (read-only, the raw list/watch path) may read it raw. With an encryption key file
(``--encryption-key-file``; ``jetkube up`` always has one) the object is sealed as every Secret
is (actors/api/encryption.py): raw readers see the envelope only.

Lifecycle (:func:`adopt_cluster_ca`, at every gateway start, before the serving certificate):

1. read the store's CA;
2. none there: offer this replica's data-dir CA (``<pki dir>/ca.crt``/``ca.key``, an existing
   single-host cluster's) or a new one with a create (compare-and-set on "absent"); the loser of a
   race gets AlreadyExists, re-reads and adopts the winner's;
3. the data dir is made to hold the store's CA: written if missing, replaced (with a warning) if it
   differs; a serving certificate signed by another CA is remade by ``ensure_pki`` (pki.py).

A CA is never changed once stored: rotating it is not supported (say so in the README).
"""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from actors.gateway.pki import Pki, make_ca
from bus.auth import write_private
from bus.store import Store
from schemas.errors import AlreadyExists, InternalError, NotFound, ServiceUnavailable

log = structlog.get_logger(__name__)

# A bucket key prefix no resource can ever have: plurals (built-in or a CRD's, the storage key) are
# DNS labels, which have no "_"; so no CRD can claim the key and serve it (as _compaction's).
RESOURCE = "_clusterca"
NAMESPACE = "kube-system"
NAME = "jetkube-cluster-ca"
STORE_DEADLINE = 60.0  # how long a starting gateway waits for the store (seconds)


@dataclass(frozen=True)
class CaPair:
    """A CA certificate and its private key, as PEM."""

    cert: str
    key: str

    def same_ca(self, other: CaPair) -> bool:
        return _cert_der(self.cert) == _cert_der(other.cert)


def _cert_der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


def check_pair(pair: CaPair, where: str) -> CaPair:
    """The pair, if its key is the certificate's and the certificate is a CA; else InternalError
    naming ``where``."""
    try:
        cert = x509.load_pem_x509_certificate(pair.cert.encode())
        key = serialization.load_pem_private_key(pair.key.encode(), password=None)
    except ValueError as err:
        raise InternalError(f"{where}: not a PEM certificate and private key ({err})") from None
    if key.public_key() != cert.public_key():
        raise InternalError(f"{where}: the private key is not the CA certificate's")
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise InternalError(f"{where}: the certificate is not a CA (basicConstraints CA:TRUE)")
    return pair


def to_secret(pair: CaPair) -> dict[str, Any]:
    """The stored form: a TLS Secret."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "jetkube"},
        },
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(pair.cert.encode()).decode(),
            "tls.key": base64.b64encode(pair.key.encode()).decode(),
        },
    }


def from_secret(obj: dict[str, Any]) -> CaPair:
    """The CA of the stored Secret (InternalError if it is not one, or still sealed)."""
    where = f"the stored cluster CA ({RESOURCE}/{NAMESPACE}/{NAME})"
    data = obj.get("data")
    if not isinstance(data, dict) or "tls.crt" not in data or "tls.key" not in data:
        sealed = "jetkubeEncrypted" in obj
        why = (
            "sealed with the Secrets encryption key: start the control plane with the same"
            " --encryption-key-file as the replica that stored it"
            if sealed
            else "data.tls.crt and data.tls.key: Required value"
        )
        raise InternalError(f"{where}: {why}")
    try:
        pair = CaPair(base64.b64decode(data["tls.crt"]).decode(), base64.b64decode(data["tls.key"]).decode())
    except (ValueError, TypeError) as err:
        raise InternalError(f"{where}: data: not base64 PEM ({err})") from None
    return check_pair(pair, where)


LocalAction = Literal["keep", "write", "replace"]


def local_action(local: CaPair | None, shared: CaPair) -> LocalAction:
    """What the data dir needs so that it holds the cluster's CA: nothing, the files written, or
    its own (other) CA replaced."""
    if local is None:
        return "write"
    return "keep" if local.same_ca(shared) else "replace"


def read_local(pki: Pki) -> CaPair | None:
    """The data dir's CA, or None when it has none (both files are needed)."""
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        return None
    return CaPair(pki.ca_cert.read_text(), pki.ca_key.read_text())


def write_local(pki: Pki, pair: CaPair) -> None:
    """The CA into the data dir (the key 0600), each file replaced whole; the serving certificate,
    signed by the CA that was there, is removed so that ``ensure_pki`` signs a new one."""
    for path in (pki.serving_cert, pki.serving_key):
        path.unlink(missing_ok=True)
    for path, text in ((pki.ca_key, pair.key), (pki.ca_cert, pair.cert)):
        tmp = path.with_name(path.name + ".tmp")
        write_private(tmp, text)
        if path is pki.ca_cert:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)


async def _retrying(what: str, call: Any) -> Any:
    """``call()``, retried with backoff while the store is unreachable, until STORE_DEADLINE."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STORE_DEADLINE
    delay = 0.2
    while True:
        try:
            return await call()
        except (ServiceUnavailable, TimeoutError, ConnectionError) as err:
            if loop.time() + delay > deadline:
                raise ServiceUnavailable(
                    f"the cluster CA: the state store did not answer ({what}): {err}"
                ) from None
            log.warning("gateway.cluster_ca_store_unavailable", step=what, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _stored(store: Store) -> CaPair | None:
    async def get() -> dict[str, Any] | None:
        try:
            return await store.get(RESOURCE, NAMESPACE, NAME)
        except NotFound:
            return None

    obj = await _retrying("get", get)
    return None if obj is None else from_secret(obj)


async def shared_ca(store: Store, offer: CaPair) -> tuple[CaPair, bool]:
    """The cluster's CA: the stored one, else ``offer`` once it is stored (created only if absent).
    Also whether this call stored it."""
    stored = await _stored(store)
    if stored is not None:
        return stored, False
    try:
        await _retrying("create", lambda: store.create(RESOURCE, to_secret(offer)))
    except AlreadyExists:  # another replica stored its CA first: take that one
        stored = await _stored(store)
        if stored is None:
            raise InternalError(
                "the cluster CA was stored and then deleted while starting: restart"
            ) from None
        return stored, False
    return offer, True


async def adopt_cluster_ca(store: Store, directory: Path) -> Pki:
    """Make ``directory`` hold the cluster's one CA (the module doc); its Pki."""
    pki = Pki.at(directory)
    local = await asyncio.to_thread(read_local, pki)
    broken: InternalError | None = None
    if local is not None:
        try:
            check_pair(local, f"the CA in {directory}")
        except InternalError as err:
            broken = err
    if broken is not None:  # unusable here: the cluster's, if there is one, replaces it
        found = await _stored(store)
        if found is None:
            raise broken
        shared, stored_now, action = found, False, "replace"
    else:
        offer = local if local is not None else CaPair(*make_ca())
        shared, stored_now = await shared_ca(store, offer)
        action = local_action(local, shared)
    if stored_now:
        log.info(
            "gateway.cluster_ca_stored", source="data dir" if local is not None else "new", dir=str(directory)
        )
    if action == "replace":
        log.warning(
            "gateway.cluster_ca_replaced",
            dir=str(directory),
            reason="the data dir's CA differs from the cluster's (stored) CA; kubeconfigs and client"
            " certificates signed by the old one are no longer accepted",
        )
    if action != "keep":
        await asyncio.to_thread(write_local, pki, shared)
    if not stored_now and action != "replace":
        log.info("gateway.cluster_ca_adopted", dir=str(directory), changed=action != "keep")
    return pki

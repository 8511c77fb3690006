"""ServiceAccount tokens: signed JWTs bound to a ServiceAccount (and a pod), as Kubernetes' are. No I/O.

A token is a JSON Web Token (RFC 7519) signed with HMAC-SHA256 under the cluster's signing key
(:mod:`actors.serviceaccount.signing` keeps it in the state bucket, so every control-plane replica
issues and verifies with the same key). Its claims are Kubernetes' bound-token claims::

    {"iss": "https://kubernetes.default.svc.cluster.local", "aud": [...],
     "sub": "system:serviceaccount:<ns>:<name>", "iat": ..., "nbf": ..., "exp": ...,
     "kubernetes.io": {"namespace": ns, "serviceaccount": {"name", "uid"}, "pod": {"name", "uid"}}}

Clients treat the token as opaque (kubectl, client-go, the Python client, kopf): only the api
verifies it. Kubernetes signs with RS256/ES256 so that outside parties can verify with the public
key (OIDC discovery); jetkube has no such parties, so a shared-secret MAC is enough and simpler.
Binding: the gateway accepts a token only while the ServiceAccount it names exists with the same
uid (and the pod it was issued for, when there is one) -- deleting either revokes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from schemas.errors import Unauthorized

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCE = ISSUER
DEFAULT_EXPIRATION = 3607  # seconds: what the kubelet asks for by default (Kubernetes' 1h + 7s)
MIN_EXPIRATION = 600
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"


@dataclass(frozen=True)
class Bound:
    """Who a verified token speaks for, and what it is bound to."""

    namespace: str
    name: str
    uid: str
    pod_name: str | None
    pod_uid: str | None
    expires: int

    @property
    def user(self) -> str:
        return f"{SA_PREFIX}{self.namespace}:{self.name}"

    @property
    def groups(self) -> tuple[str, ...]:
        return (SA_GROUP, f"{SA_GROUP}:{self.namespace}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_for(
    namespace: str,
    sa_name: str,
    sa_uid: str,
    *,
    now: int,
    expiration: int = DEFAULT_EXPIRATION,
    audiences: list[str] | None = None,
    pod: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The claims of a token for ServiceAccount ``namespace/sa_name`` (and pod (name, uid))."""
    k8s: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": sa_name, "uid": sa_uid}}
    if pod is not None:
        k8s["pod"] = {"name": pod[0], "uid": pod[1]}
    return {
        "iss": ISSUER,
        "aud": list(audiences or [DEFAULT_AUDIENCE]),
        "sub": f"{SA_PREFIX}{namespace}:{sa_name}",
        "iat": now,
        "nbf": now,
        "exp": now + max(int(expiration), MIN_EXPIRATION),
        "kubernetes.io": k8s,
    }


def sign(claims: dict[str, Any], key: bytes) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(mac)}"


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def verify(token: str, key: bytes, now: int) -> Bound:
    """The binding of a token this cluster signed and that has not expired; Unauthorized otherwise."""
    try:
        header, body, mac = token.split(".")
        expected = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise Unauthorized("Unauthorized")
        claims = json.loads(_unb64(body))
        k8s = claims["kubernetes.io"]
        sa = k8s["serviceaccount"]
        pod = k8s.get("pod") or {}
        bound = Bound(
            namespace=str(k8s["namespace"]),
            name=str(sa["name"]),
            uid=str(sa["uid"]),
            pod_name=str(pod["name"]) if pod.get("name") else None,
            pod_uid=str(pod["uid"]) if pod.get("uid") else None,
            expires=int(claims["exp"]),
        )
        not_before = int(claims.get("nbf") or 0)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Unauthorized("Unauthorized") from None
    if claims.get("sub") != bound.user or now >= bound.expires or now + 60 < not_before:
        raise Unauthorized("Unauthorized")
    return bound


def token_request_status(token: str, expires: int) -> dict[str, Any]:
    """The ``status`` of an authentication.k8s.io/v1 TokenRequest."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(expires, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"token": token, "expirationTimestamp": stamp}

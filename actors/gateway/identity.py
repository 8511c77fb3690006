"""Who is asking: a verified client certificate or a bearer token, then impersonation.

* A client certificate the TLS layer verified against the cluster CA names the user (CN) and
  groups (each O), as with kube-apiserver's x509 authenticator.
* ``Authorization: Bearer <token>``: the token is the NATS password of a jetkube user (bus/auth.py:
  admin, viewer, node-<name>), so HTTP and NATS clients of one user are the same Kubernetes user.
* ``Authorization: Bearer <ServiceAccount token>``: a JWT this cluster signed
  (actors/serviceaccount/tokens.py) is the user ``system:serviceaccount:<ns>:<name>`` in the groups
  ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``, while the ServiceAccount (and the
  pod it was bound to) still exist with the uids it names.
* Neither: 401 Unauthorized (there is no anonymous user, except for ``/version`` and the health
  paths, which kube-apiserver also serves to everyone).
* ``Impersonate-User`` / ``Impersonate-Group``: the api's gate honours impersonation for
  ``system:masters`` only (actors/api/authz/gate.py); the gateway refuses it for anyone else with
  the gate's message rather than let a lesser user borrow the gateway's own trust.

The user then travels to the api as the request's ``impersonate`` (the gateway speaks on the
control plane's trusted subject), so the api's RBAC and node authorizer decide as for NATS clients.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.gateway.pki import subject_identity
from actors.serviceaccount.issuer import TokenIssuer
from actors.serviceaccount.tokens import looks_like_jwt
from bus.auth import AUTHENTICATED, UserInfo, user_info
from schemas.errors import Forbidden, Unauthorized

ANONYMOUS_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})


def from_certificate(cert_der: bytes | None) -> UserInfo | None:
    if not cert_der:
        return None
    user, groups = subject_identity(cert_der)
    if not user:
        return None
    return UserInfo(user, tuple(dict.fromkeys([*groups, AUTHENTICATED])))


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def from_service_account_token(
    authorization: str | None, tokens: Mapping[str, str], issuer: TokenIssuer | None
) -> UserInfo | None:
    """The ServiceAccount user of a bearer JWT, or None when the header holds no such token."""
    token = bearer(authorization)
    if issuer is None or token is None or token in tokens or not looks_like_jwt(token):
        return None
    bound = await issuer.authenticate(token)
    return UserInfo(bound.user, (*bound.groups, AUTHENTICATED))


def from_token(authorization: str | None, tokens: Mapping[str, str]) -> UserInfo | None:
    """The user of ``Authorization: Bearer <token>``; Unauthorized for an unknown token."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    nats_user = tokens.get(token.strip())
    if nats_user is None:
        raise Unauthorized("Unauthorized")
    return user_info(nats_user)


def authenticate(
    cert_der: bytes | None, authorization: str | None, tokens: Mapping[str, str], path: str
) -> UserInfo | None:
    """The requester, or None for an anonymous request to an anonymous path (else Unauthorized)."""
    user = from_token(authorization, tokens) or from_certificate(cert_der)
    if user is None and path not in ANONYMOUS_PATHS:
        raise Unauthorized("Unauthorized")
    return user


def impersonation(requester: UserInfo, headers: Mapping[str, str], groups: list[str]) -> UserInfo:
    """The user the request acts as: ``Impersonate-User`` (masters only), else the requester."""
    name = headers.get("Impersonate-User")
    if not name:
        return requester
    if not requester.is_master:
        raise Forbidden(
            f'users "{name}" is forbidden: User "{requester.name}" cannot impersonate resource "users" '
            'in API group "" at the cluster scope'
        )
    return UserInfo(name, tuple(dict.fromkeys([*groups, AUTHENTICATED])))

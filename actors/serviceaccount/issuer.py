"""Issuing and checking ServiceAccount tokens against the state bucket.

The signing key is one object of the state bucket (``signingkeys._.serviceaccounts``, a resource no
api verb serves: only control-plane processes, which may read the bucket, see it). The first
replica that needs it creates it with a KV create; a replica that loses that race reads the
winner's. Every api replica therefore issues, and every gateway verifies, under one key.

* :meth:`TokenIssuer.issue` answers a TokenRequest (the api's ``token`` verb, which the gate has
  authorized: ``create serviceaccounts/token``; kubelets may ask for the service accounts of their
  own pods).
* :meth:`TokenIssuer.authenticate` turns a bearer token into the ServiceAccount it is bound to,
  refusing it once that ServiceAccount (or its pod) is gone or was recreated with another uid.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from actors.serviceaccount import tokens
from bus.store import Store
from schemas.errors import AlreadyExists, BadRequest, NotFound, Unauthorized

KEY_RESOURCE = "signingkeys"
KEY_NAME = "serviceaccounts"


class TokenIssuer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            try:
                obj = await self.store.get(KEY_RESOURCE, None, KEY_NAME)
            except NotFound:
                fresh = {
                    "metadata": {"name": KEY_NAME},
                    "key": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
                try:
                    obj = await self.store.create(KEY_RESOURCE, fresh)
                except AlreadyExists:
                    obj = await self.store.get(KEY_RESOURCE, None, KEY_NAME)
            self._key = base64.b64decode(str(obj["key"]))
        return self._key

    async def issue(self, namespace: str, name: str, spec: dict[str, Any] | None) -> dict[str, Any]:
        """An authentication.k8s.io/v1 TokenRequest for ServiceAccount ``namespace/name``."""
        spec = dict(spec or {})
        sa = await self.store.get("serviceaccounts", namespace, name)
        pod: tuple[str, str] | None = None
        ref = spec.get("boundObjectRef")
        if isinstance(ref, dict) and ref:
            if ref.get("kind") != "Pod":
                raise BadRequest(f'spec.boundObjectRef.kind: Unsupported value: "{ref.get("kind")}"')
            bound = await self.store.get("pods", namespace, str(ref.get("name") or ""))
            uid = str(bound["metadata"].get("uid") or "")
            if ref.get("uid") and ref["uid"] != uid:
                raise Unauthorized(f"the UID in the bound object reference ({ref['uid']}) does not match")
            pod = (str(bound["metadata"]["name"]), uid)
        expiration = spec.get("expirationSeconds") or tokens.DEFAULT_EXPIRATION
        if not isinstance(expiration, int) or expiration < tokens.MIN_EXPIRATION:
            raise BadRequest(
                f"spec.expirationSeconds: Invalid value: {expiration!r}: may not specify a duration "
                f"less than {tokens.MIN_EXPIRATION} seconds"
            )
        audiences = [str(a) for a in spec.get("audiences") or []] or [tokens.DEFAULT_AUDIENCE]
        claims = tokens.claims_for(
            namespace,
            name,
            str(sa["metadata"].get("uid") or ""),
            now=int(time.time()),
            expiration=expiration,
            audiences=audiences,
            pod=pod,
        )
        token = tokens.sign(claims, await self.key())
        return {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {**spec, "audiences": audiences, "expirationSeconds": claims["exp"] - claims["iat"]},
            "status": tokens.token_request_status(token, int(claims["exp"])),
        }

    async def authenticate(self, token: str) -> tokens.Bound:
        """The ServiceAccount a live token is bound to; Unauthorized for any other token."""
        bound = tokens.verify(token, await self.key(), int(time.time()))
        try:
            sa = await self.store.get("serviceaccounts", bound.namespace, bound.name)
            if str(sa["metadata"].get("uid") or "") != bound.uid:
                raise Unauthorized("Unauthorized")
            if bound.pod_name:
                pod = await self.store.get("pods", bound.namespace, bound.pod_name)
                if str(pod["metadata"].get("uid") or "") != bound.pod_uid:
                    raise Unauthorized("Unauthorized")
        except NotFound:
            raise Unauthorized("Unauthorized") from None
        return bound

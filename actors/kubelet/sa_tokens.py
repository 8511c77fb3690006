"""ServiceAccount tokens for projected volumes: requested from the api, cached, refreshed.

A ``serviceAccountToken`` source of a projected volume (the ``kube-api-access-*`` volume the
ServiceAccount admission adds) becomes a file holding a token bound to the pod. As Kubernetes'
kubelet token manager does, a token is requested once (a TokenRequest, ``create
serviceaccounts/token``, which the node authorizer allows for the service accounts of the node's
own pods) and reused until 80% of its lifetime has passed; the volume manager's periodic resync
then writes the fresh one in place (atomically, as configMap files are rewritten).

The tokens are handed to the pure :func:`actors.kubelet.volume_files.volume_files` in its
``objects`` mapping under ``(TOKENS, "<volume>/<path>")``.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from schemas.errors import JetkubeError

log = structlog.get_logger(__name__)

Obj = dict[str, Any]
TOKENS = "serviceaccounttokens"
REFRESH_AT = 0.8  # of the token's lifetime


def token_sources(volume: Obj) -> list[Obj]:
    return [
        s["serviceAccountToken"]
        for s in (volume.get("projected") or {}).get("sources") or []
        if s.get("serviceAccountToken")
    ]


class TokenCache:
    def __init__(self, api: Any) -> None:
        self.api = api
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}  # key -> (token, refresh after)

    async def tokens_for(self, pod: Obj) -> dict[tuple[str, str], Obj | None]:
        """{(TOKENS, "<volume>/<path>"): {"token": ...}} for every token source of the pod's
        volumes; a token the api refuses is None (the mount fails with its message logged)."""
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        ns = str(meta.get("namespace") or "default")
        account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
        out: dict[tuple[str, str], Obj | None] = {}
        for volume in spec.get("volumes") or []:
            for src in token_sources(volume):
                path = str(src.get("path") or "token")
                audience = str(src.get("audience") or "")
                expiration = int(src.get("expirationSeconds") or 3607)
                key = (ns, account, str(meta.get("uid") or ""), audience, str(expiration))
                out[(TOKENS, f"{volume['name']}/{path}")] = await self._get(key, pod, expiration, audience)
        return out

    async def _get(self, key: tuple[str, ...], pod: Obj, expiration: int, audience: str) -> Obj | None:
        cached = self._tokens.get(key)
        now = time.monotonic()
        if cached is not None and now < cached[1]:
            return {"token": cached[0]}
        ns, account = key[0], key[1]
        spec: Obj = {
            "expirationSeconds": expiration,
            "boundObjectRef": {
                "kind": "Pod",
                "apiVersion": "v1",
                "name": pod["metadata"]["name"],
                "uid": key[2],
            },
        }
        if audience:
            spec["audiences"] = [audience]
        try:
            answer = await self.api.request_token(ns, account, spec)
        except JetkubeError as err:
            log.warning("kubelet.token_request_failed", namespace=ns, account=account, error=err.message)
            return {"token": cached[0]} if cached is not None else None
        token = str((answer.get("status") or {}).get("token") or "")
        lifetime = int((answer.get("spec") or {}).get("expirationSeconds") or expiration)
        self._tokens[key] = (token, now + lifetime * REFRESH_AT)
        return {"token": token}

    def forget(self, pod_uid: str) -> None:
        for key in [k for k in self._tokens if k[2] == pod_uid]:
            del self._tokens[key]

"""Bad input over HTTP gets the api's own 4xx as a Kubernetes Status, and changes nothing (the
state bucket's revision stays where it was)."""

from __future__ import annotations

import json
import os
import ssl
from typing import Any

import aiohttp
import pytest

from bus.store import Store
from tests.integration.gateway.conftest import ADMIN_TOKEN, VIEWER_TOKEN, Cluster

pytestmark = pytest.mark.asyncio

PODS = "/api/v1/namespaces/default/pods"
JSON = "application/json"


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for _ in range(levels):
        cur["x"] = {}
        cur = cur["x"]
    return root


CASES = [
    # (method, path, content type, body, code, in the message)
    ("POST", PODS, JSON, b"{not json", 400, "not valid JSON"),
    ("POST", PODS, JSON, os.urandom(64), 400, ""),
    ("POST", PODS, JSON, json.dumps([1, 2]).encode(), 400, ""),
    (
        "POST",
        PODS,
        JSON,
        json.dumps({**_pod("p"), "spec": {"containers": [{"name": "c"}]}}).encode(),
        422,
        "spec.containers[0].image: Required value",
    ),
    (
        "POST",
        PODS,
        JSON,
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}}).encode(),
        400,
        "the request is for pods",
    ),
    (
        "POST",
        PODS,
        JSON,
        json.dumps({**_pod("p"), "metadata": {"name": "p", "namespace": "other"}}).encode(),
        400,
        "does not match the namespace",
    ),
    ("POST", PODS, JSON, json.dumps({**_pod("p"), "extra": _deep(200)}).encode(), 400, ""),
    (
        "POST",
        PODS,
        JSON,
        json.dumps(
            {**_pod("big"), "metadata": {"name": "big", "annotations": {"a": "x" * 1_600_000}}}
        ).encode(),
        413,
        "",
    ),
    ("POST", PODS, "application/vnd.kubernetes.protobuf", b"k8s\x00\xff\xff", 400, "protobuf"),
    ("POST", "/api/v1/namespaces/default/widgets", JSON, b"{}", 404, "could not find the requested resource"),
    (
        "PUT",
        f"{PODS}/held",
        JSON,
        json.dumps(_pod("other")).encode(),
        400,
        "does not match the name on the URL",
    ),
    (
        "PUT",
        f"{PODS}/held",
        JSON,
        json.dumps({**_pod("held"), "metadata": {"name": "held", "resourceVersion": "1"}}).encode(),
        409,
        "the object has been modified",
    ),
    ("PATCH", f"{PODS}/held", "text/plain", b"spec: {}", 415, ""),
    (
        "PATCH",
        f"{PODS}/held",
        "application/json-patch+json",
        b'[{"op": "remove", "path": "/nope"}]',
        400,
        "json patch",
    ),
    ("GET", f"{PODS}?limit=2&continue=forged", JSON, b"", 400, "continue"),
    ("GET", f"{PODS}?watch=1&resourceVersion=abc", JSON, b"", 400, "resourceVersion"),
    (
        "DELETE",
        f"{PODS}/held",
        JSON,
        json.dumps({"propagationPolicy": "Sometimes"}).encode(),
        400,
        "propagationPolicy",
    ),
    ("PUT", PODS, JSON, b"{}", 405, ""),
]


async def test_bad_requests_get_the_apis_errors_and_change_nothing(
    cluster: Cluster, store: Store, api: Any
) -> None:
    await api.create("pods", _pod("held"))
    before = await store.revision()
    ctx = ssl.create_default_context(cafile=str(cluster.pki_dir / "ca.crt"))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(
        base_url=cluster.url, headers=headers, connector=aiohttp.TCPConnector(ssl=ctx)
    ) as http:
        for method, path, ctype, body, code, text in CASES:
            async with http.request(method, path, data=body, headers={"Content-Type": ctype}) as resp:
                status = await resp.json(content_type=None)
            assert (resp.status, status.get("kind"), status.get("code")) == (code, "Status", code), (
                method,
                path,
                status,
            )
            assert text in status.get("message", ""), (method, path, status)
    assert await store.revision() == before
    assert (await api.get("pods", "held", "default"))["metadata"]["name"] == "held"


async def test_a_watch_the_user_may_not_make_is_a_403_before_any_event(cluster: Cluster) -> None:
    ctx = ssl.create_default_context(cafile=str(cluster.pki_dir / "ca.crt"))
    headers = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    async with aiohttp.ClientSession(
        base_url=cluster.url, headers=headers, connector=aiohttp.TCPConnector(ssl=ctx)
    ) as http:
        async with http.get("/api/v1/secrets", params={"watch": "1"}) as resp:
            status = await resp.json(content_type=None)
    assert (resp.status, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        'secrets is forbidden: User "viewer" cannot watch resource "secrets" in API group "" '
        "at the cluster scope"
    )

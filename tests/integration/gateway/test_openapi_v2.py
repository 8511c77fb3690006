"""OpenAPI v2 (``/openapi/v2``): the Swagger document older clients read, as JSON and as protobuf."""

from __future__ import annotations

import json

import pytest

from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio


async def test_openapi_v2_serves_every_kind_as_json(cluster: Cluster) -> None:
    doc = json.loads(await cluster.ok("get", "--raw", "/openapi/v2"))
    assert doc["swagger"] == "2.0"
    pod = doc["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    assert "/apis/apps/v1/namespaces/{namespace}/deployments" in doc["paths"]
    # kubectl reads v2 only as gnostic protobuf (explain --output=plaintext-openapiv2, List validation)
    v2 = await cluster.ok("explain", "pods.spec", "--output=plaintext-openapiv2")
    assert "restartPolicy" in v2 and "containers" in v2
    assert "restartPolicy" in await cluster.ok("explain", "pods.spec")  # v3, the default

"""OpenAPI v2 (``/openapi/v2``): the Swagger document (JSON) older clients read."""

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
    # kubectl reads v2 only as protobuf (explain --output=plaintext-openapiv2): a clear refusal
    refused = await cluster.kubectl("explain", "pods", "--output=plaintext-openapiv2")
    assert refused.code == 1
    assert "Error from server (NotAcceptable)" in refused.err
    assert "restartPolicy" in await cluster.ok("explain", "pods.spec")  # v3, the default

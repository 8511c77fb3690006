"""``kubectl apply -f`` of a ``kind: List`` with validation on: kubectl validates a List on the
client, from ``/openapi/v2`` in protobuf (actors/gateway/openapi_pb.py), then sends its items."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.gateway.conftest import Cluster
from tests.seedpaths import SEED_EXAMPLES

pytestmark = pytest.mark.asyncio

LIST = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings}
  data: {mode: "a"}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 1
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]
"""


async def test_apply_a_list_with_validation(cluster: Cluster) -> None:
    assert (await cluster.ok("apply", "-f", "-", stdin=LIST)).split("\n")[:2] == [
        "configmap/settings created",
        "deployment.apps/web created",
    ]
    assert "configmap/settings unchanged" in await cluster.ok("apply", "-f", "-", stdin=LIST)
    assert (await cluster.json("get", "deploy", "web"))["spec"]["replicas"] == 1

    bogus = await cluster.kubectl(
        "apply", "-f", "-", stdin=LIST.replace("replicas: 1", "replicas: 1\n    bogus: 2")
    )
    assert bogus.code == 1
    assert 'ValidationError(Deployment.spec): unknown field "bogus" in DeploymentSpec' in bogus.err, bogus.err
    wrong = await cluster.kubectl("apply", "-f", "-", stdin=LIST.replace("replicas: 1", "replicas: one"))
    assert wrong.code == 1
    assert "ValidationError(Deployment.spec.replicas): invalid type for" in wrong.err, wrong.err

    explained = await cluster.ok("explain", "--output=plaintext-openapiv2", "deployment.spec.replicas")
    assert "FIELD:    replicas <integer>" in explained


async def test_the_seed_examples_as_one_list_pass_kubectls_validation(cluster: Cluster) -> None:
    items = [
        doc
        for path in sorted(SEED_EXAMPLES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict)
    ]
    assert len(items) >= 10
    listing = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    run = await cluster.kubectl("create", "--dry-run=client", "-f", "-", stdin=listing)
    assert run.code == 0, run.err
    assert len(run.out.strip().splitlines()) == len(items), run.out

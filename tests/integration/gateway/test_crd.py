"""CustomResourceDefinitions through the real kubectl: a CRD applied, its objects created, read,
patched (status subresource apart), printed with the CRD's columns, pruned and validated by its
schema, deleted with their CRD."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.gateway.conftest import Cluster
from tests.waiting import jetkube, wait_for

pytestmark = pytest.mark.asyncio

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {
        "group": "stable.example.com",
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["cronSpec"],
                                "properties": {
                                    "cronSpec": {"type": "string", "pattern": "^(\\S+ ){4}\\S+$"},
                                    "image": {"type": "string"},
                                    "replicas": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "maximum": 10,
                                        "default": 1,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"replicas": {"type": "integer"}, "phase": {"type": "string"}},
                            },
                        },
                    }
                },
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                },
                "additionalPrinterColumns": [
                    {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }
        ],
    },
}


def crontab(name: str, **spec: Any) -> str:
    body = {"cronSpec": "* * * * */5", "image": "busybox", **spec}
    return json.dumps(
        {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": name}, "spec": body}
    )


async def test_a_crd_serves_its_kind_to_kubectl(cluster: Cluster, nats_url: str) -> None:
    await cluster.ok("apply", "-f", "-", stdin=json.dumps(CRD))
    crd = await cluster.json("get", "crd", "crontabs.stable.example.com")
    established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert established["Established"] == "True"

    async def discovered() -> bool:
        run = await cluster.kubectl("api-resources", "--api-group=stable.example.com", "-o", "name")
        return run.out.strip() == "crontabs.stable.example.com"

    await wait_for(discovered, 20, "the CRD's kind in discovery")

    # unknown fields pruned, defaults filled in
    await cluster.ok("apply", "-f", "-", stdin=crontab("nightly", extra="dropped"))
    got = await cluster.json("get", "crontab", "nightly")
    assert got["spec"] == {"cronSpec": "* * * * */5", "image": "busybox", "replicas": 1}

    # the schema refuses bad values, naming the field; nothing is stored
    bad = await cluster.kubectl("create", "-f", "-", stdin=crontab("broken", cronSpec="nope", replicas=50))
    assert bad.code == 1
    assert bad.err.startswith('The CronTab "broken" is invalid')
    assert "spec.cronSpec" in bad.err and "spec.replicas" in bad.err
    assert (await cluster.kubectl("get", "ct", "broken")).code == 1

    # a patch of the object leaves status alone; the status subresource writes it
    await cluster.ok(
        "patch", "ct", "nightly", "--type=merge", "-p", '{"spec":{"replicas":3},"status":{"phase":"X"}}'
    )
    await cluster.ok(
        "patch",
        "ct",
        "nightly",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Running"}}',
    )
    got = await cluster.json("get", "ct", "nightly")
    assert (got["spec"]["replicas"], got["status"]["phase"]) == (3, "Running")

    # the printer columns
    lines = (await cluster.ok("get", "crontabs")).splitlines()
    assert lines[0].split() == ["NAME", "SPEC", "REPLICAS", "PHASE", "AGE"]
    assert lines[1].split()[:8] == ["nightly", "*", "*", "*", "*", "*/5", "3", "Running"]

    # jetkube get learns the kind from the cluster and prints the same columns
    code, out, err = await jetkube(nats_url, "get", "crontabs")
    assert code == 0, err
    assert [line.split()[:8] for line in out.splitlines()] == [
        ["NAME", "SPEC", "REPLICAS", "PHASE", "AGE"],
        lines[1].split()[:8],
    ]

    # the scale subresource
    await cluster.ok("scale", "crontab", "nightly", "--replicas=5")
    assert (await cluster.json("get", "ct", "nightly"))["spec"]["replicas"] == 5

    # deleting the CRD deletes its objects and the kind
    await cluster.ok("delete", "ct", "nightly")
    await cluster.ok("apply", "-f", "-", stdin=crontab("again"))
    await cluster.ok("delete", "crd", "crontabs.stable.example.com")

    async def gone() -> bool:
        run = await cluster.kubectl("get", "crontabs.stable.example.com")
        return run.code == 1

    await wait_for(gone, 20, "the kind gone with its CRD")

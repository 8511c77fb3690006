"""Server-side apply over NATS (the api's ``patch`` with ``patchType: apply``), with no gateway in
between: the decisions are the api's, so a NATS client gets the same ownership, conflicts and
errors as kubectl does."""

from __future__ import annotations

from typing import Any

import pytest

from bus.client import ApiClient
from schemas.errors import BadRequest, Conflict

pytestmark = pytest.mark.asyncio


def deployment(replicas: int | None, image: str = "busybox:1.36") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "w"}},
        "template": {
            "metadata": {"labels": {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": spec}


async def test_apply_over_nats_owns_conflicts_forces_and_removes(api: ApiClient) -> None:
    created = await api.apply("deployments", "w", deployment(2), field_manager="ci", namespace="default")
    assert [(e["manager"], e["operation"]) for e in created["metadata"]["managedFields"]] == [("ci", "Apply")]
    with pytest.raises(Conflict) as caught:
        await api.apply("deployments", "w", deployment(7), field_manager="hpa", namespace="default")
    assert caught.value.message == ('Apply failed with 1 conflict: conflict with "ci": .spec.replicas')
    assert caught.value.details["causes"][0]["type"] == "FieldManagerConflict"
    forced = await api.apply(
        "deployments", "w", deployment(7), field_manager="hpa", namespace="default", force=True
    )
    assert forced["spec"]["replicas"] == 7
    # ci applies without replicas now: hpa owns them, so they stay
    again = await api.apply("deployments", "w", deployment(None), field_manager="ci", namespace="default")
    assert again["spec"]["replicas"] == 7
    # an apply that changes nothing writes nothing
    same = await api.apply("deployments", "w", deployment(None), field_manager="ci", namespace="default")
    assert same["metadata"]["resourceVersion"] == again["metadata"]["resourceVersion"]
    # a status write is its own entry and leaves the spec's owners alone
    status = await api.update_status("deployments", {**same, "status": {"observedGeneration": 1}}, "default")
    subresources = {(e["manager"], e.get("subresource")) for e in status["metadata"]["managedFields"]}
    assert ("jetkube", "status") in subresources


async def test_apply_without_a_manager_or_with_force_elsewhere_is_refused(api: ApiClient) -> None:
    with pytest.raises(BadRequest, match="fieldManager: Required value"):
        await api.call(
            "patch",
            {"resource": "configmaps", "namespace": "default", "name": "x", "body": {}, "patchType": "apply"},
        )
    with pytest.raises(BadRequest, match="force: Invalid value"):
        await api.call(
            "patch",
            {
                "resource": "configmaps",
                "namespace": "default",
                "name": "x",
                "body": {"data": {}},
                "patchType": "merge",
                "force": True,
            },
        )
    with pytest.raises(BadRequest, match="apiVersion: Required value"):
        await api.apply(
            "configmaps", "x", {"metadata": {"name": "x"}}, field_manager="m", namespace="default"
        )

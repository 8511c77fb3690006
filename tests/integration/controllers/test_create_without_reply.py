"""A create whose reply is lost (it landed, the client timed out) is resolved by looking, not assumed
failed: the controller counts the pod as created and keeps waiting to observe it, so the next sync
does not make a second one. A real nats-server and api; the client loses one create's reply."""

from __future__ import annotations

from typing import Any

import pytest

from actors.replication.controller import ReplicationManager
from actors.replication.plan import RC
from actors.runtime.shared import SharedInformers
from actors.workload.podutil import owner_reference, pod_from_template
from schemas.errors import Timeout
from tests.integration.controllers.test_replication import RC as RC_BODY


class ReplyLost:
    """An api client whose first pod create lands, then times out as if its reply were lost."""

    def __init__(self, api: Any, lose: int = 1) -> None:
        self.api, self.lose = api, lose

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    async def create(
        self, resource: str, body: dict[str, Any], namespace: str | None = None, **kw: Any
    ) -> Any:
        created = await self.api.create(resource, body, namespace=namespace, **kw)
        if resource == "pods" and self.lose > 0:
            self.lose -= 1
            raise Timeout("no reply on jetkube.api.create within 15s")
        return created


async def pods_owned(api: Any, uid: str) -> list[str]:
    pods = (await api.list("pods", namespace="default"))["items"]
    return [
        p["metadata"]["name"]
        for p in pods
        if any(r["uid"] == uid for r in p["metadata"].get("ownerReferences") or [])
    ]


async def test_a_create_that_landed_without_a_reply_counts_as_created(api: Any) -> None:
    rc = await api.create("replicationcontrollers", RC_BODY)
    controller = ReplicationManager(ReplyLost(api), SharedInformers(api), RC)
    pod = pod_from_template(
        rc["spec"]["template"],
        namespace="default",
        generate_prefix="nginx-",
        owner_ref=owner_reference(rc, RC.api_version, RC.kind),
    )
    created = await controller.create_pods("default/nginx", rc, [pod])
    assert created == 1
    assert controller.expectations.pending("default/nginx") == (1, 0)  # still to be observed
    assert len(await pods_owned(api, rc["metadata"]["uid"])) == 1


async def test_a_create_that_did_not_land_is_a_failure(api: Any) -> None:
    rc = await api.create("replicationcontrollers", RC_BODY)

    class Lost(ReplyLost):
        async def create(
            self, resource: str, body: dict[str, Any], namespace: str | None = None, **kw: Any
        ) -> Any:
            raise Timeout("no reply on jetkube.api.create within 15s")  # never sent

    controller = ReplicationManager(Lost(api), SharedInformers(api), RC)
    pod = pod_from_template(
        rc["spec"]["template"],
        namespace="default",
        generate_prefix="nginx-",
        owner_ref=owner_reference(rc, RC.api_version, RC.kind),
    )
    with pytest.raises(Timeout):
        await controller.create_pods("default/nginx", rc, [pod])
    assert controller.expectations.pending("default/nginx") == (0, 0)

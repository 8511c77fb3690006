"""Hole 8: bad watch (and list) input is answered at once with a 400 naming the field, before
anything streams; a selector that is not a string is a 400, never a 500."""

from __future__ import annotations

import contextlib

import pytest

from schemas.errors import BadRequest
from tests.integration.security.conftest import SecureCluster

BAD = [
    ({"labelSelector": "a in (b"}, "labelSelector"),
    ({"labelSelector": 7}, "labelSelector"),
    ({"labelSelector": ["app=x"]}, "labelSelector"),
    ({"fieldSelector": "metadata.name"}, "fieldSelector"),
    ({"fieldSelector": {"metadata.name": "x"}}, "fieldSelector"),
    ({"resourceVersion": "abc"}, "resourceVersion"),
    ({"resourceVersion": "-5"}, "resourceVersion"),
    ({"resourceVersion": [1]}, "resourceVersion"),
]


@pytest.mark.parametrize("user", ["admin", "viewer"])
async def test_bad_watch_and_list_input_is_a_400_naming_the_field(secure: SecureCluster, user: str) -> None:
    api = await secure.client(user)
    inbox = api.bus.nc.new_inbox()
    sub = await api.bus.nc.subscribe(inbox)
    try:
        for bad, field in BAD:
            with pytest.raises(BadRequest, match=field):
                await api.call(
                    "watch", {"resource": "configmaps", "namespace": "default", "stream": inbox, **bad}
                )
            if field != "resourceVersion":
                with pytest.raises(BadRequest, match=field):
                    await api.call("list", {"resource": "configmaps", "namespace": "default", **bad})
        # positive control: a good selector and revision stream (and list)
        listed = await api.call(
            "list", {"resource": "configmaps", "namespace": "default", "labelSelector": "a=b"}
        )
        assert listed["items"] == []
        reply = await api.call(
            "watch",
            {
                "resource": "configmaps",
                "namespace": "default",
                "stream": inbox,
                "labelSelector": "a in (b)",
                "resourceVersion": listed["metadata"]["resourceVersion"],
            },
        )
        assert reply == {"streaming": True}
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

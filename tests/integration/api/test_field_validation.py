"""``fieldValidation`` over the NATS api: Strict refuses an unknown field as kube-apiserver's strict
decoding does, Warn drops it and says so in the reply's warnings, Ignore drops it silently; without
the field the api refuses it among the other causes (422), as before the option existed."""

from __future__ import annotations

from typing import Any

import pytest

from bus.client import ApiClient
from schemas.errors import BadRequest, Invalid, NotFound


def pod(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **extra},
    }


async def test_strict_warn_ignore_and_the_default(api: ApiClient) -> None:
    body = pod("p", foo=1)
    with pytest.raises(BadRequest) as strict:
        await api.call("create", {"resource": "pods", "body": body, "fieldValidation": "Strict"})
    assert str(strict.value) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"'
    )
    with pytest.raises(Invalid, match=r'unknown field "spec\.foo"'):
        await api.create("pods", body)  # no fieldValidation: refused among the causes, as before
    with pytest.raises(BadRequest, match='fieldValidation: Unsupported value: "Loose"'):
        await api.call("create", {"resource": "pods", "body": body, "fieldValidation": "Loose"})
    with pytest.raises(NotFound):
        await api.get("pods", "p")

    said: list[str] = []
    made = await api.call(
        "create", {"resource": "pods", "body": body, "fieldValidation": "Warn"}, warnings=said
    )
    assert said == ['unknown field "spec.foo"'] and "foo" not in made["spec"]
    assert "foo" not in (await api.get("pods", "p"))["spec"]

    quiet: list[str] = []
    made = await api.call(
        "create", {"resource": "pods", "body": pod("q", foo=1), "fieldValidation": "Ignore"}, warnings=quiet
    )
    assert quiet == [] and "foo" not in made["spec"]

    # patches and updates too (the patched object is decoded under the request's mode)
    patch = {
        "spec": {"containers": [{"name": "c", "image": "busybox", "bar": 2}]},
        "metadata": {"labels": {"a": "b"}},
    }
    with pytest.raises(BadRequest, match=r'unknown field "spec.containers\[0\].bar"'):
        await api.call(
            "patch",
            {
                "resource": "pods",
                "name": "p",
                "body": patch,
                "patchType": "strategic",
                "fieldValidation": "Strict",
            },
        )
    warned: list[str] = []
    patched = await api.call(
        "patch",
        {"resource": "pods", "name": "p", "body": patch, "patchType": "strategic", "fieldValidation": "Warn"},
        warnings=warned,
    )
    assert warned == ['unknown field "spec.containers[0].bar"']
    assert patched["metadata"]["labels"] == {"a": "b"} and "bar" not in patched["spec"]["containers"][0]
    # a request without the field in its reply: no warnings carried over from an earlier one
    later: list[str] = []
    await api.call("get", {"resource": "pods", "name": "p"}, warnings=later)
    assert later == []

"""The real kubectl and ``fieldValidation``: ``--validate=strict`` (kubectl's default, sent as
``?fieldValidation=Strict``) is refused with kube-apiserver's strict decoding error, ``warn`` writes
and prints kube-apiserver's ``Warning`` header, ``false`` (Ignore) drops the field silently."""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import Cluster

pytestmark = pytest.mark.asyncio


def pod(name: str) -> str:
    return (
        "apiVersion: v1\nkind: Pod\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  foo: 1\n  containers: [{name: c, image: busybox}]\n"
    )


async def test_strict_warn_and_ignore_as_kubectl_prints_them(cluster: Cluster) -> None:
    strict = await cluster.kubectl("create", "-f", "-", stdin=pod("a"))
    assert strict.code == 1
    assert strict.err.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be '
        'handled as a Pod: strict decoding error: unknown field "spec.foo"'
    )
    assert (await cluster.kubectl("get", "pod", "a")).code == 1

    warned = await cluster.kubectl("create", "-f", "-", "--validate=warn", stdin=pod("a"))
    assert warned.code == 0, warned.err
    assert warned.out.strip() == "pod/a created"
    assert warned.err.strip() == 'Warning: unknown field "spec.foo"'
    assert "foo" not in (await cluster.json("get", "pod", "a"))["spec"]

    ignored = await cluster.kubectl("create", "-f", "-", "--validate=false", stdin=pod("b"))
    assert (ignored.code, ignored.out.strip(), ignored.err.strip()) == (0, "pod/b created", "")

    # a server-side apply under Strict; a client-side apply (a patch) under Warn
    applied = await cluster.kubectl("apply", "--server-side", "-f", "-", stdin=pod("c"))
    assert applied.code == 1 and 'strict decoding error: unknown field "spec.foo"' in applied.err
    patched = await cluster.kubectl(
        "apply", "-f", "-", "--validate=warn", stdin=pod("a").replace("foo: 1", "bar: 1")
    )
    assert patched.code == 0, patched.err
    assert 'Warning: unknown field "spec.bar"' in patched.err
    assert "bar" not in (await cluster.json("get", "pod", "a"))["spec"]

"""Pod Security admission per namespace label, through the api as a user applies pods."""

from __future__ import annotations

import pytest

from schemas.errors import Forbidden
from tests.integration.security.conftest import SecureCluster

LABEL = "pod-security.kubernetes.io/enforce"


def pod(name: str, **spec: object) -> dict:
    base: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": base}


def privileged(name: str) -> dict:
    return pod(name, containers=[{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}])


async def test_levels_per_namespace(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for level in ("privileged", "baseline", "restricted"):
        await admin.create(
            "namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": f"psa-{level}", "labels": {LABEL: level}},
            },
        )
    await admin.create("pods", privileged("root"), "psa-privileged")
    await admin.create("pods", pod("hostnet", hostNetwork=True), "psa-privileged")

    with pytest.raises(Forbidden) as denied:
        await admin.create("pods", privileged("root"), "psa-baseline")
    assert denied.value.message == (
        'pods "root" is forbidden: violates PodSecurity "baseline:latest": privileged '
        '(container "c" must not set securityContext.privileged=true)'
    )
    with pytest.raises(Forbidden, match=r"host namespaces \(hostNetwork=true\)"):
        await admin.create("pods", pod("hostnet", hostNetwork=True), "psa-baseline")
    with pytest.raises(Forbidden, match=r'hostPath volumes \(volume "h"\)'):
        await admin.create(
            "pods", pod("hp", volumes=[{"name": "h", "hostPath": {"path": "/etc"}}]), "psa-baseline"
        )
    with pytest.raises(Forbidden, match=r'hostPort \(container "c" uses hostPort 8080\)'):
        await admin.create(
            "pods",
            pod(
                "hport",
                containers=[
                    {"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}
                ],
            ),
            "psa-baseline",
        )
    await admin.create("pods", pod("plain"), "psa-baseline")

    with pytest.raises(
        Forbidden, match=r'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false'
    ):
        await admin.create("pods", pod("plain"), "psa-restricted")
    hardened = pod(
        "hardened",
        securityContext={
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        containers=[
            {
                "name": "c",
                "image": "busybox",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    )
    await admin.create("pods", hardened, "psa-restricted")
    names = {p["metadata"]["name"] for p in (await admin.list("pods"))["items"]}
    assert names == {"root", "hostnet", "plain", "hardened"}


async def test_an_unknown_level_is_refused(secure: SecureCluster) -> None:
    from schemas.errors import BadRequest

    admin = await secure.client("admin")
    with pytest.raises(BadRequest, match=f'metadata.labels\\[{LABEL}\\]: Unsupported value: "strict"'):
        await admin.create(
            "namespaces",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "psa-x", "labels": {LABEL: "strict"}},
            },
        )

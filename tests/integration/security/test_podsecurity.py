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


def labelled_namespace(name: str, level: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {LABEL: level}}}


async def test_levels_per_namespace(secure: SecureCluster) -> None:
    admin = await secure.client("admin")
    for level in ("privileged", "baseline", "restricted"):
        await admin.create("namespaces", labelled_namespace(f"psa-{level}", level))
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
            labelled_namespace("psa-x", "strict"),
        )


RESTRICTED_PRIVILEGED = (
    'pods "root" is forbidden: violates PodSecurity "restricted:latest": privileged '
    '(container "c" must not set securityContext.privileged=true)'
)


def _hide_from_informer(informer: object, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The namespaces informer drops every event about a namespace named ``prefix...``: it cannot
    have seen those namespaces, as if its watch lagged (or they were made through another replica)."""
    apply = informer.apply  # type: ignore[attr-defined]

    def lagging(event: object) -> None:
        name = ((getattr(event, "object", None) or {}).get("metadata") or {}).get("name") or ""
        if not name.startswith(prefix):
            apply(event)

    monkeypatch.setattr(informer, "apply", lagging)


async def test_a_namespace_the_informer_has_not_seen_is_read_from_the_store(
    secure: SecureCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A privileged pod made right after its namespace (enforce=restricted) is refused even though
    the api's namespaces informer has not seen that namespace: PodSecurity reads it from the store
    rather than taking it for an unlabelled (privileged) one."""
    informer = secure.actor.namespaces  # type: ignore[attr-defined]
    _hide_from_informer(informer, "psa-race-", monkeypatch)
    admin = await secure.client("admin")
    names = [f"psa-race-{i}" for i in range(30)]
    for ns in names:
        await admin.create(
            "namespaces",
            labelled_namespace(ns, "restricted"),
        )
        with pytest.raises(Forbidden) as denied:
            await admin.create("pods", privileged("root"), ns)
        assert denied.value.message.startswith(RESTRICTED_PRIVILEGED), denied.value.message
    # the namespace made straight into the bucket (as another replica would) is refused alike
    await secure.store.create(
        "namespaces",
        {**labelled_namespace("psa-race-raw", "restricted"), "status": {"phase": "Active"}},
    )
    with pytest.raises(Forbidden) as denied:
        await admin.create("pods", privileged("root"), "psa-race-raw")
    assert denied.value.message.startswith(RESTRICTED_PRIVILEGED), denied.value.message

    # the informer indeed never held them, and no pod was stored
    assert not [k for k in informer.objects if k.startswith("psa-race-")]
    pods = (await admin.list("pods"))["items"]
    assert not [p for p in pods if p["metadata"]["namespace"].startswith("psa-race-")]


async def test_an_unseen_namespace_still_admits_what_its_level_allows(
    secure: SecureCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store read decides by the namespace's label, not by refusing whatever the informer lacks."""
    _hide_from_informer(secure.actor.namespaces, "psa-race-", monkeypatch)  # type: ignore[attr-defined]
    admin = await secure.client("admin")
    for level in ("privileged", "baseline"):
        await admin.create("namespaces", labelled_namespace(f"psa-race-{level}", level))
    await admin.create("pods", privileged("root"), "psa-race-privileged")
    await admin.create("pods", pod("plain"), "psa-race-baseline")
    with pytest.raises(Forbidden, match=r'violates PodSecurity "baseline:latest": privileged'):
        await admin.create("pods", privileged("root"), "psa-race-baseline")

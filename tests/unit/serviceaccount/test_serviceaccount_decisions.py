"""ServiceAccount tokens, the admission plugin, the node authorizer's token rule and the gateway's
Endpoints: pure decisions, as tables."""

from __future__ import annotations

import random

import pytest

from actors.api.authz.node import node_allows
from actors.api.authz.rbac import Attributes
from actors.gateway.incluster import endpoints_with
from actors.serviceaccount.admission import MOUNT_PATH, admit_pod
from actors.serviceaccount.tokens import claims_for, looks_like_jwt, sign, verify
from schemas.errors import Unauthorized

KEY = b"k" * 32


def _token(**kw: object) -> str:
    return sign(claims_for("team", "bot", "uid-1", now=1000, **kw), KEY)  # type: ignore[arg-type]


def test_a_signed_token_verifies_to_its_service_account_and_pod() -> None:
    token = _token(pod=("web", "pod-uid"))
    assert looks_like_jwt(token)
    bound = verify(token, KEY, now=1500)
    assert (bound.user, bound.groups) == (
        "system:serviceaccount:team:bot",
        ("system:serviceaccounts", "system:serviceaccounts:team"),
    )
    assert (bound.uid, bound.pod_name, bound.pod_uid) == ("uid-1", "web", "pod-uid")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0] + "." + t.split(".")[1][:-1] + "." + t.split(".")[2],  # claims changed
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_is_refused(mangle: object) -> None:
    with pytest.raises(Unauthorized):
        verify(mangle(_token()), KEY, now=1500)  # type: ignore[operator]


def test_another_key_or_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify(_token(), b"x" * 32, now=1500)
    with pytest.raises(Unauthorized):
        verify(_token(expiration=600), KEY, now=1000 + 600)


def _pod(**spec: object) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "team"},
        "spec": {"containers": [{"name": "a"}, {"name": "b", "volumeMounts": []}], **spec},
    }


def test_admission_mounts_the_token_in_every_container() -> None:
    out = admit_pod(_pod(), {"metadata": {"name": "default"}}, random.Random(1))
    assert out["spec"]["serviceAccountName"] == "default"
    (volume,) = out["spec"]["volumes"]
    assert volume["name"].startswith("kube-api-access-")
    kinds = [next(iter(s)) for s in volume["projected"]["sources"]]
    assert kinds == ["serviceAccountToken", "configMap", "downwardAPI"]
    for c in out["spec"]["containers"]:
        assert {"name": volume["name"], "readOnly": True, "mountPath": MOUNT_PATH} in c["volumeMounts"]


@pytest.mark.parametrize(
    ("pod_setting", "sa_setting", "mounted"),
    [
        (None, None, True),
        (False, None, False),
        (None, False, False),
        (True, False, True),
        (False, True, False),
    ],
)
def test_automount_the_pods_setting_wins_over_the_service_accounts(
    pod_setting: bool | None, sa_setting: bool | None, mounted: bool
) -> None:
    spec = {} if pod_setting is None else {"automountServiceAccountToken": pod_setting}
    sa: dict = {"metadata": {"name": "default"}}
    if sa_setting is not None:
        sa["automountServiceAccountToken"] = sa_setting
    out = admit_pod(_pod(**spec), sa)
    assert bool(out["spec"].get("volumes")) is mounted


def test_admission_leaves_a_pod_alone_without_its_service_account_or_as_a_mirror() -> None:
    assert admit_pod(_pod(), None) == _pod()
    mirror = _pod()
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    assert admit_pod(mirror, {"metadata": {"name": "default"}}) == mirror


def test_a_container_that_mounts_the_path_itself_keeps_its_mount() -> None:
    own = {"name": "mine", "mountPath": MOUNT_PATH}
    pod = _pod()
    pod["spec"]["containers"] = [{"name": "a", "volumeMounts": [own]}]
    out = admit_pod(pod, {"metadata": {"name": "default"}})
    assert out["spec"]["containers"][0]["volumeMounts"] == [own]
    assert not out["spec"].get("volumes")


def test_nodes_may_request_tokens_only_for_their_pods_service_accounts() -> None:
    pods = [
        {
            "metadata": {"name": "p", "namespace": "team"},
            "spec": {"nodeName": "n1", "serviceAccountName": "bot"},
        }
    ]
    token = Attributes("create", "serviceaccounts", "", "token", "team", "bot")
    assert node_allows("n1", token, node_pods=pods)[0]
    other = Attributes("create", "serviceaccounts", "", "token", "team", "admin-bot")
    assert not node_allows("n1", other, node_pods=pods)[0]
    assert not node_allows(
        "n1", Attributes("delete", "serviceaccounts", "", "", "team", "bot"), node_pods=pods
    )[0]


def test_each_gateway_adds_its_address_to_the_kubernetes_endpoints() -> None:
    one = endpoints_with(None, "10.0.0.1", 6443)
    two = endpoints_with(one, "10.0.0.2", 6443)
    assert endpoints_with(two, "10.0.0.1", 6443) == two
    assert two["subsets"] == [
        {
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        }
    ]


def test_hollow_fleets_may_read_the_public_ca_their_pods_token_volumes_mount() -> None:
    from actors.api.authz.hollow import hollow_allows

    assert hollow_allows(Attributes("get", "configmaps", "", "", "team", "kube-root-ca.crt"))[0]
    assert not hollow_allows(Attributes("get", "configmaps", "", "", "team", "app-config"))[0]

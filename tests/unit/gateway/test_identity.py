"""Who a request is (pure): certificates signed by the cluster CA, bearer tokens, impersonation;
the kubeconfig merge that keeps other clusters."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from actors.gateway.identity import authenticate, impersonation
from actors.gateway.pki import client_certificate, ensure_pki, make_ca, subject_identity
from bus.auth import UserInfo
from cli.kubeconfig import merge
from schemas.errors import Forbidden, Unauthorized

TOKENS = {"t-admin": "admin", "t-viewer": "viewer", "t-node": "node-n1"}


def _der(pem: str) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    ("token", "name", "groups"),
    [
        ("t-admin", "admin", {"system:masters", "system:authenticated"}),
        ("t-viewer", "viewer", {"system:authenticated"}),
        ("t-node", "system:node:n1", {"system:nodes", "system:authenticated"}),
    ],
)
def test_bearer_tokens_are_the_nats_users(token: str, name: str, groups: set[str]) -> None:
    user = authenticate(None, f"Bearer {token}", TOKENS, "/api/v1/pods")
    assert user is not None and (user.name, set(user.groups)) == (name, groups)


def test_client_certificates_name_user_and_groups() -> None:
    ca, key = make_ca()
    cert, _ = client_certificate(ca, key, "jane", ["devs", "ops"])
    assert subject_identity(_der(cert)) == ("jane", ["devs", "ops"])
    user = authenticate(_der(cert), None, TOKENS, "/api")
    assert user == UserInfo("jane", ("devs", "ops", "system:authenticated"))


@pytest.mark.parametrize(
    ("authorization", "path"),
    [("Bearer nope", "/version"), (None, "/api/v1/pods"), ("Basic YTpi", "/api")],
)
def test_unknown_or_missing_credentials_are_unauthorized(authorization: str | None, path: str) -> None:
    with pytest.raises(Unauthorized):
        authenticate(None, authorization, TOKENS, path)


def test_version_is_open_to_anonymous_requests() -> None:
    assert authenticate(None, None, TOKENS, "/version") is None


def test_only_masters_may_impersonate() -> None:
    admin = UserInfo("admin", ("system:masters", "system:authenticated"))
    viewer = UserInfo("viewer", ("system:authenticated",))
    as_jane = impersonation(admin, {"Impersonate-User": "jane"}, ["devs"])
    assert as_jane == UserInfo("jane", ("devs", "system:authenticated"))
    assert impersonation(viewer, {}, []) is viewer
    with pytest.raises(Forbidden, match='User "viewer" cannot impersonate resource "users"'):
        impersonation(viewer, {"Impersonate-User": "admin"}, [])


def test_the_ca_is_made_once_and_the_serving_cert_follows_new_names(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["localhost", "127.0.0.1"])
    ca, serving = pki.ca_cert.read_text(), pki.serving_cert.read_text()
    assert oct(pki.ca_key.stat().st_mode & 0o777) == "0o600"
    again = ensure_pki(tmp_path, ["127.0.0.1", "localhost"])
    assert (again.ca_cert.read_text(), again.serving_cert.read_text()) == (ca, serving)
    wider = ensure_pki(tmp_path, ["localhost", "127.0.0.1", "10.1.2.3"])
    assert wider.ca_cert.read_text() == ca and wider.serving_cert.read_text() != serving
    sans = x509.load_pem_x509_certificate(wider.serving_cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "10.1.2.3" in {str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)}


def test_the_kubeconfig_merge_keeps_other_clusters_and_replaces_ours() -> None:
    theirs = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "prod",
        "clusters": [
            {"name": "prod", "cluster": {"server": "https://prod"}},
            {"name": "jk", "cluster": {"server": "old"}},
        ],
        "users": [{"name": "prod", "user": {"token": "x"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}],
    }
    merged = merge(theirs, "jk", "https://127.0.0.1:6443", "CA", "CERT", "KEY")
    assert [c["name"] for c in merged["clusters"]] == ["prod", "jk"]
    assert merged["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert merged["users"][0] == {"name": "prod", "user": {"token": "x"}}
    assert [c["name"] for c in merged["contexts"]] == ["prod", "jk"]
    assert merged["current-context"] == "jk"
    assert merge(None, "jk", "s", "a", "b", "c")["contexts"] == [
        {"name": "jk", "context": {"cluster": "jk", "user": "jk"}}
    ]

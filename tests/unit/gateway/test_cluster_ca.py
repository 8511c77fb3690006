"""The cluster CA's pure parts (actors/gateway/clusterca.py): what a data dir needs, the stored
Secret's form and its checks, and a serving certificate remade when another CA signed it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509

from actors.gateway.clusterca import (
    CaPair,
    check_pair,
    from_secret,
    local_action,
    read_local,
    to_secret,
    write_local,
)
from actors.gateway.pki import Pki, ensure_pki, make_ca
from schemas.errors import BadRequest, FieldError, InternalError

A = CaPair(*make_ca())
B = CaPair(*make_ca())


@pytest.mark.parametrize(
    ("local", "shared", "action"),
    [(None, A, "write"), (A, A, "keep"), (B, A, "replace")],
)
def test_the_data_dir_ends_with_the_shared_ca(local: CaPair | None, shared: CaPair, action: str) -> None:
    assert local_action(local, shared) == action


def test_the_stored_secret_round_trips_and_is_a_tls_secret() -> None:
    secret = to_secret(A)
    assert (secret["kind"], secret["type"]) == ("Secret", "kubernetes.io/tls")
    meta = secret["metadata"]
    assert (meta["namespace"], meta["name"]) == ("kube-system", "jetkube-cluster-ca")
    assert from_secret(secret) == A


def test_a_sealed_secret_says_which_key_file_opens_it() -> None:
    sealed = {**to_secret(A), "jetkubeEncrypted": {"keyId": "k1"}}
    del sealed["data"]
    with pytest.raises(InternalError, match="--encryption-key-file"):
        from_secret(sealed)


def test_a_stored_key_that_is_not_the_certificates_is_refused() -> None:
    mixed = to_secret(CaPair(A.cert, B.key))
    with pytest.raises(InternalError, match="not the CA certificate's"):
        from_secret(mixed)
    broken = to_secret(A)
    broken["data"]["tls.crt"] = base64.b64encode(b"nope").decode()
    with pytest.raises(InternalError, match="not a PEM"):
        from_secret(broken)


def test_a_leaf_certificate_is_not_a_ca(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["localhost"])
    leaf = CaPair(pki.serving_cert.read_text(), pki.serving_key.read_text())
    with pytest.raises(InternalError, match="not a CA"):
        check_pair(leaf, "here")


def test_a_replaced_ca_gets_a_serving_certificate_it_signed(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["localhost", "127.0.0.1"])
    assert read_local(pki) is not None
    write_local(pki, B)  # the cluster's CA replaces the dir's own
    assert read_local(Pki.at(tmp_path)) == B
    assert oct(pki.ca_key.stat().st_mode & 0o777) == "0o600"
    again = ensure_pki(tmp_path, ["localhost", "127.0.0.1"])
    serving = x509.load_pem_x509_certificate(again.serving_cert.read_bytes())
    serving.verify_directly_issued_by(x509.load_pem_x509_certificate(B.cert.encode()))


def test_a_serving_certificate_of_another_ca_is_remade(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path, ["localhost"])
    old = pki.serving_cert.read_text()
    pki.ca_cert.write_text(B.cert)  # only the files change: the serving certificate was not removed
    pki.ca_key.write_text(B.key)
    again = ensure_pki(tmp_path, ["localhost"])
    assert again.serving_cert.read_text() != old
    x509.load_pem_x509_certificate(again.serving_cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(B.cert.encode())
    )


def test_no_resource_can_be_named_as_the_cluster_cas_key() -> None:
    """A CRD's plural is its storage key: one named ``_clusterca`` would serve the CA through the
    api. Plurals are DNS labels, so it cannot be."""
    from actors.gateway.clusterca import RESOURCE
    from schemas.crd import crd_errors
    from schemas.registry import lookup

    crd = {
        "metadata": {"name": f"{RESOURCE}.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": RESOURCE, "singular": "ca", "kind": "Ca"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }
    errors: list[FieldError] = []
    crd_errors(crd, errors)
    assert any("spec.names.plural" in str(e.field) for e in errors), errors
    with pytest.raises(BadRequest):  # and the api serves nothing under it
        lookup(RESOURCE)

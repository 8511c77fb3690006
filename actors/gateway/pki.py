"""The gateway's certificates: a cluster CA, the serving certificate, client certificates.

Lifecycle: :func:`ensure_pki` runs when the gateway starts, after clusterca.py has put the cluster's
one CA (EC P-256, ten years; shared by every replica through the state store) in ``<dir>/ca.crt``
and ``<dir>/ca.key`` (0600); every start after that reuses it, so kubeconfigs written earlier stay
valid. (Alone, without a store, ``ensure_pki`` makes a CA in the dir itself.) The serving
certificate (``apiserver.crt``/``.key``) is this replica's own: made again when missing, when it
lacks one of the names asked for (a new host address), or when another CA signed it, so a client
that dials any of the host's names or addresses verifies it against the cluster CA.

Client certificates follow Kubernetes: the subject's CN is the user, each O a group
(``admin`` / ``system:masters``). :func:`client_certificate` makes one signed by the CA
(``jetkube up`` writes the admin's into the kubeconfig).

Pure functions over ``cryptography`` plus file helpers; no network I/O.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bus.auth import write_private

CA_DAYS = 3650
LEAF_DAYS = 365
# The in-cluster names of the api (the default/kubernetes Service), as kube-apiserver's cert has.
SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Pki:
    """Where the gateway's PEM files are."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path

    @classmethod
    def at(cls, directory: Path) -> Pki:
        return cls(
            directory / "ca.crt",
            directory / "ca.key",
            directory / "apiserver.crt",
            directory / "apiserver.key",
        )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name: str = "jetkube-ca") -> tuple[str, str]:
    """A new self-signed CA: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def _load_ca(ca_cert_pem: str, ca_key_pem: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _leaf(
    ca_cert_pem: str,
    ca_key_pem: str,
    subject: x509.Name,
    usage: ExtendedKeyUsageOID | x509.ObjectIdentifier,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[str, str]:
    ca_cert, ca_key = _load_ca(ca_cert_pem, ca_key_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return _cert_pem(builder.sign(ca_key, hashes.SHA256())), _key_pem(key)


def _general_names(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def serving_certificate(ca_cert_pem: str, ca_key_pem: str, names: list[str]) -> tuple[str, str]:
    """A server certificate for ``names`` (DNS names and IP addresses), signed by the CA."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    return _leaf(ca_cert_pem, ca_key_pem, subject, ExtendedKeyUsageOID.SERVER_AUTH, _general_names(names))


def client_certificate(ca_cert_pem: str, ca_key_pem: str, user: str, groups: list[str]) -> tuple[str, str]:
    """A client certificate as Kubernetes reads them: CN is the user, each O a group."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    subject = x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, user)])
    return _leaf(ca_cert_pem, ca_key_pem, subject, ExtendedKeyUsageOID.CLIENT_AUTH)


def subject_identity(cert_der: bytes) -> tuple[str, list[str]]:
    """(user, groups) of a client certificate given as DER (what ``ssl`` hands the server)."""
    cert = x509.load_der_x509_certificate(cert_der)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return (str(cn[0].value) if cn else "", [str(o.value) for o in orgs])


def host_names(extra: list[str] | None = None) -> list[str]:
    """The names and addresses a client may dial this host by, and the in-cluster service names."""
    names = ["localhost", "127.0.0.1", "::1", *SERVICE_NAMES, *(extra or [])]
    hostname = socket.gethostname()
    names.append(hostname)
    try:
        _, aliases, addresses = socket.gethostbyname_ex(hostname)
        names += aliases + addresses
    except OSError:
        pass
    return [n for n in dict.fromkeys(names) if n and n not in ("0.0.0.0", "::")]


def _sans_of(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    }


def ensure_pki(directory: Path, names: list[str]) -> Pki:
    """The CA (made once) and a serving certificate that covers ``names`` (remade when it does not)."""
    pki = Pki.at(directory)
    if not (pki.ca_cert.exists() and pki.ca_key.exists()):
        cert, key = make_ca()
        write_private(pki.ca_key, key)
        pki.ca_cert.write_text(cert)
    wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    if (
        not (pki.serving_cert.exists() and pki.serving_key.exists())
        or not wanted <= _sans_of(pki.serving_cert)
        or not _signed_by(pki.serving_cert, pki.ca_cert)
    ):
        cert, key = serving_certificate(pki.ca_cert.read_text(), pki.ca_key.read_text(), names)
        write_private(pki.serving_key, key)
        pki.serving_cert.write_text(cert)
    return pki


def _signed_by(leaf: Path, ca: Path) -> bool:
    """Whether the certificate at ``leaf`` was signed by the CA at ``ca`` (the CA may have been
    replaced by the cluster's: clusterca.py)."""
    try:
        x509.load_pem_x509_certificate(leaf.read_bytes()).verify_directly_issued_by(
            x509.load_pem_x509_certificate(ca.read_bytes())
        )
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True

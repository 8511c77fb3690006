"""TLS where a certificate is given: ``jetkube up --tls-cert --tls-key`` serves NATS over TLS only,
its contexts carry the certificate-authority and the CLI follows them; a plain or unverified
connection is refused with one clear line."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bus.client import ApiClient
from bus.connection import Bus
from cli.localcluster import LocalCluster
from schemas.errors import JetkubeError

REPO = Path(__file__).resolve().parents[3]


def self_signed(folder: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``ip`` (its own CA), and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jetkube-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def jetkube(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JETKUBE_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    env.pop("JETKUBE_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    folder = tmp_path_factory.mktemp("tls")
    with LocalCluster(folder / "up", tls=self_signed(folder), log_level="warning") as cluster:
        yield cluster


def test_the_cli_follows_the_tls_context_that_up_wrote(tls_cluster: LocalCluster) -> None:
    contexts = jetkube(tls_cluster.config_path, "config", "view")
    assert contexts.returncode == 0, contexts.stderr
    assert f"tls://127.0.0.1:{tls_cluster.port}" in contexts.stdout
    assert "certificate-authority" in contexts.stdout

    made = jetkube(tls_cluster.config_path, "create", "namespace", "over-tls")
    assert made.returncode == 0, made.stderr
    got = jetkube(tls_cluster.config_path, "get", "namespaces", "over-tls", "-o", "name")
    assert got.stdout.strip() == "namespace/over-tls"


def test_a_plain_connection_is_refused(tls_cluster: LocalCluster) -> None:
    plain = jetkube(
        tls_cluster.config_path, "--server", f"nats://127.0.0.1:{tls_cluster.port}", "get", "namespaces"
    )
    assert plain.returncode != 0
    assert "Traceback" not in plain.stderr
    assert "TLS with NATS" in plain.stderr and "certificate" in plain.stderr


async def test_an_unverified_server_certificate_is_refused(tls_cluster: LocalCluster) -> None:
    """Without the CA (system trust only), the self-signed certificate does not verify."""
    url = tls_cluster.login("admin").split("?")[0]
    with pytest.raises(JetkubeError, match="certificate verify failed"):
        bus = await Bus.connect(url, connect_timeout=2.0)
        await bus.close()
    bus = await Bus.connect(tls_cluster.login("admin"))  # with ?ca=: verified
    try:
        ns = await ApiClient(bus).get("namespaces", "default")
        assert ns["metadata"]["name"] == "default"
    finally:
        await bus.close()

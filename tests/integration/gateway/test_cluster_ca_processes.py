"""Two ``jetkube controlplane`` processes, started at once against one real nats-server, each
serving the Kubernetes API on its own port with its own pki dir: they end with one cluster CA
(stored sealed with their shared Secrets key file), and a client certificate made from one
replica's pki dir is accepted by the other (the real kubectl)."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from actors.api.encryption import KeyRing
from actors.gateway.clusterca import NAME, NAMESPACE, RESOURCE
from bus.embedded import free_port
from bus.store import Store
from cli.kubeconfig import write_kubeconfig
from cli.localcluster import ROOT
from tests.integration.gateway.conftest import HAVE_KUBECTL, Cluster


async def _verified(port: int, ca_file: Path) -> bool:
    """A TLS handshake with 127.0.0.1:port that verifies the server against ``ca_file``."""
    try:  # FileNotFoundError (an OSError) until the replica has written it
        ctx = ssl.create_default_context(cafile=str(ca_file))
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


def _controlplane(
    tmp_path: Path, nats_url: str, i: int, port: int, pki: Path, keys: Path
) -> subprocess.Popen[bytes]:
    args = ["controlplane", "--server", nats_url, "--identity", f"cp{i}", "--apiserver-port", str(port)]
    args += ["--apiserver-pki-dir", str(pki), "--encryption-key-file", str(keys)]
    with open(tmp_path / f"cp{i}.log", "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )


@pytest.mark.skipif(not HAVE_KUBECTL, reason="no kubectl on this machine")
async def test_two_controlplane_processes_end_with_one_ca(
    nats_url: str, store: Store, tmp_path: Path
) -> None:
    keys = tmp_path / "keys" / "encryption.json"
    KeyRing.load_or_create(keys)  # both replicas share the Secrets keys, as the test bed's do
    ports = (free_port(), free_port())
    dirs = (tmp_path / "pki1", tmp_path / "pki2")
    procs = [
        _controlplane(tmp_path, nats_url, i, port, pki, keys)
        for i, (port, pki) in enumerate(zip(ports, dirs, strict=True))
    ]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        # each replica's serving certificate verifies against the other's ca.crt
        while not (
            await _verified(ports[0], dirs[1] / "ca.crt") and await _verified(ports[1], dirs[0] / "ca.crt")
        ):
            for i, proc in enumerate(procs):
                assert proc.poll() is None, (tmp_path / f"cp{i}.log").read_text()[-3000:]
            assert loop.time() < deadline, "the two replicas never shared a CA"
            await asyncio.sleep(0.5)
        assert (dirs[0] / "ca.crt").read_text() == (dirs[1] / "ca.crt").read_text()
        raw = await store.get(RESOURCE, NAMESPACE, NAME)
        assert "jetkubeEncrypted" in raw and "data" not in raw  # sealed at rest

        home = tmp_path / "home"
        home.mkdir()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(tmp_path / "kc")}
        old = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = env["KUBECONFIG"]
        try:  # the admin certificate made from replica 2's pki dir, against replica 1
            write_kubeconfig("cross", f"https://127.0.0.1:{ports[0]}", dirs[1])
        finally:
            if old is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = old
        kubectl = Cluster(f"https://127.0.0.1:{ports[0]}", env, dirs[1], None)
        assert (await kubectl.ok("auth", "can-i", "delete", "nodes")).strip() == "yes"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

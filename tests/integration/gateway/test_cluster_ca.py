"""Several gateway replicas share one cluster CA through the state store (actors/gateway/clusterca.py).

Two gateways, each with its own Bus connection and data dir, on one real nats-server and one api:
they start at the same time and end with one CA; a client certificate one of them issued is
accepted by the other (the real kubectl); the ``kube-root-ca.crt`` a pod mounts verifies both; a
replica whose data dir holds another CA adopts the store's; a data-dir CA is uploaded when the
store has none; the stored key is sealed with the Secrets keys; no api user can read it.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from actors.gateway.clusterca import NAME, NAMESPACE, RESOURCE, CaPair, from_secret, shared_ca, to_secret
from actors.gateway.pki import ensure_pki, make_ca
from actors.gateway.server import Gateway
from actors.runtime.supervisor import Supervisor
from bus.connection import Bus
from bus.store import Store
from cli.kubeconfig import write_kubeconfig
from schemas.errors import NotFound
from tests.integration.gateway.conftest import ADMIN_TOKEN, HAVE_KUBECTL, KUBECTL, VIEWER_TOKEN, Cluster

TOKENS = {ADMIN_TOKEN: "admin", VIEWER_TOKEN: "viewer"}


async def _until(check: Any, timeout: float, what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = await check()
        if got:
            return got
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _handshake(url: str, ca_pem: str) -> None:
    """A TLS handshake with the gateway at ``url`` that verifies its certificate against ``ca_pem``."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cadata=ca_pem)
    _, writer = await asyncio.open_connection(host, int(port), ssl=ctx, server_hostname=host)
    writer.close()
    await writer.wait_closed()


@pytest.fixture
async def buses(nats_url: str) -> AsyncIterator[tuple[Bus, Bus]]:
    """Two connections, as two control-plane processes have."""
    one = await Bus.connect(nats_url, name="replica-1")
    two = await Bus.connect(nats_url, name="replica-2")
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


def _gateway(bus: Bus, pki_dir: Path, **kw: Any) -> Gateway:
    return Gateway(bus, pki_dir=pki_dir, tokens=TOKENS, host="127.0.0.1", port=0, **kw)


async def test_two_replicas_started_at_once_share_one_ca_and_each_others_clients(
    buses: tuple[Bus, Bus], control_plane: object, tmp_path: Path
) -> None:
    one = _gateway(buses[0], tmp_path / "pki1", in_cluster_address="127.0.0.1")
    two = _gateway(buses[1], tmp_path / "pki2", in_cluster_address="127.0.0.1")
    url1, url2 = await asyncio.gather(one.bind(), two.bind())
    sups = (Supervisor("replica-1"), Supervisor("replica-2"))  # one per process, as in a cluster
    one.start(sups[0])
    two.start(sups[1])
    try:
        ca1, ca2 = (tmp_path / "pki1" / "ca.crt").read_text(), (tmp_path / "pki2" / "ca.crt").read_text()
        assert ca1 == ca2
        stored = from_secret(await Store(buses[0]).get(RESOURCE, NAMESPACE, NAME))
        assert stored.cert == ca1
        serving = [(tmp_path / d / "apiserver.crt").read_text() for d in ("pki1", "pki2")]
        assert serving[0] != serving[1]  # each replica its own serving certificate

        # the ConfigMap pods mount as ca.crt verifies both replicas
        async def root_ca() -> str:
            try:
                cm = await Store(buses[0]).get("configmaps", "kube-system", "kube-root-ca.crt")
            except NotFound:
                return ""
            return str(cm.get("data", {}).get("ca.crt") or "")

        pod_ca = await _until(root_ca, 30, "kube-system/kube-root-ca.crt")
        assert pod_ca == ca1
        for url in (url1, url2):
            await _handshake(url, pod_ca)

        # a client certificate made from replica 1's data dir is accepted by replica 2 (kubectl)
        if HAVE_KUBECTL:
            home = tmp_path / "home"
            home.mkdir()
            env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(tmp_path / "kc")}
            old = os.environ.get("KUBECONFIG")
            os.environ["KUBECONFIG"] = env["KUBECONFIG"]
            try:
                write_kubeconfig("replica1-cert-at-replica2", url2, tmp_path / "pki1")
            finally:
                if old is None:
                    os.environ.pop("KUBECONFIG", None)
                else:
                    os.environ["KUBECONFIG"] = old
            run = Cluster(url2, env, tmp_path / "pki1", two)
            assert "kube-system" in await run.ok("get", "namespaces")
            # the certificate's identity (admin, system:masters) is what replica 2 authorizes
            assert (await run.ok("auth", "can-i", "delete", "nodes")).strip() == "yes"
    finally:
        for sup in sups:
            await sup.stop()


async def test_concurrent_offers_end_with_one_stored_ca(buses: tuple[Bus, Bus], store: Store) -> None:
    """The create-if-absent race itself: both read "none", both offer, one wins, both get its CA."""
    a, b = CaPair(*make_ca()), CaPair(*make_ca())
    (got_a, stored_a), (got_b, stored_b) = await asyncio.gather(
        shared_ca(Store(buses[0]), a), shared_ca(Store(buses[1]), b)
    )
    assert got_a == got_b
    assert [stored_a, stored_b].count(True) == 1
    assert from_secret(await store.get(RESOURCE, NAMESPACE, NAME)) == got_a


async def test_a_replica_with_another_ca_adopts_the_stored_one(
    bus: Bus, control_plane: object, store: Store, tmp_path: Path
) -> None:
    cluster_ca = CaPair(*make_ca())
    await store.create(RESOURCE, to_secret(cluster_ca))
    own = ensure_pki(tmp_path / "pki", ["localhost", "127.0.0.1"])  # a single-host cluster's own CA
    assert own.ca_cert.read_text() != cluster_ca.cert
    gw = _gateway(bus, tmp_path / "pki")
    url = await gw.bind()
    try:
        assert own.ca_cert.read_text() == cluster_ca.cert and own.ca_key.read_text() == cluster_ca.key
        await _handshake(url, cluster_ca.cert)  # its serving certificate was remade by the cluster CA
    finally:
        await gw.close()


async def test_a_data_dir_ca_is_uploaded_when_the_store_has_none(
    bus: Bus, control_plane: object, store: Store, tmp_path: Path
) -> None:
    own = ensure_pki(tmp_path / "pki", ["localhost"])
    ca = own.ca_cert.read_text()
    gw = _gateway(bus, tmp_path / "pki")
    await gw.bind()
    try:
        assert from_secret(await store.get(RESOURCE, NAMESPACE, NAME)).cert == ca
        assert own.ca_cert.read_text() == ca
    finally:
        await gw.close()


async def test_with_a_key_file_the_stored_ca_key_is_sealed(
    bus: Bus, control_plane: object, store: Store, tmp_path: Path
) -> None:
    gw = _gateway(bus, tmp_path / "pki", encryption_key_file=tmp_path / "keys" / "encryption.json")
    await gw.bind()
    try:
        key_pem = (tmp_path / "pki" / "ca.key").read_text()
        raw = await store.get(RESOURCE, NAMESPACE, NAME)
        assert "data" not in raw and "jetkubeEncrypted" in raw
        assert key_pem.splitlines()[1] not in json.dumps(raw)
        # a second replica with the same key file opens it
        again = _gateway(bus, tmp_path / "pki2", encryption_key_file=tmp_path / "keys" / "encryption.json")
        await again.bind()
        await again.close()
        assert (tmp_path / "pki2" / "ca.key").read_text() == key_pem
    finally:
        await gw.close()


@pytest.mark.skipif(not HAVE_KUBECTL, reason="no kubectl on this machine")
async def test_no_api_user_can_read_the_cluster_ca(cluster: Cluster) -> None:
    """Not a viewer, not an editor of every namespace, not even system:masters: the api serves no
    resource for it (kube-apiserver never serves its CA key either)."""
    assert KUBECTL
    viewer = cluster.with_token(VIEWER_TOKEN)
    refused = await viewer.kubectl("get", "secret", "-n", "kube-system", NAME)
    assert refused.code == 1 and NAME not in refused.out
    await cluster.ok("create", "clusterrolebinding", "viewer-edits", "--clusterrole=edit", "--user=viewer")

    async def can_edit() -> bool:
        run = await viewer.kubectl("auth", "can-i", "get", "secrets", "-n", "kube-system")
        return run.out.strip() == "yes"

    await _until(can_edit, 10, "the edit binding to take effect")
    for who in (viewer, cluster):
        got = await who.kubectl("get", "secret", "-n", "kube-system", NAME)
        assert got.code == 1 and "NotFound" in got.err, got
        listed = json.loads(await who.ok("get", "secrets", "-A", "-o", "json"))
        assert NAME not in {s["metadata"]["name"] for s in listed["items"]}

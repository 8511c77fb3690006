"""The client config's context resolution, credentials in URLs, the keyring's envelopes and the
NATS permission blocks (pure: files in a temporary directory, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from actors.api.encryption import ENVELOPE, KeyRing
from bus.auth import Credentials, authorization_block, permissions, url_with_credentials
from bus.connection import split_credentials
from cli import config as cfg
from schemas.errors import BadRequest, InternalError


def test_context_resolution(tmp_path: Path) -> None:
    path = tmp_path / "config"
    data = cfg.load(path)
    cfg.set_context(
        data, "viewer@x", {"server": "nats://h:1", "user": "viewer", "password": "v"}, current=False
    )
    cfg.set_context(data, "admin@x", {"server": "nats://h:1", "user": "admin", "password": "a"})
    cfg.set_context(
        data, "admin@y", {"server": "nats://h:2", "user": "admin", "password": "b"}, current=False
    )
    cfg.save(data, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert cfg.resolve(None, None, path).user == "admin"  # current context
    assert cfg.resolve(None, "viewer@x", path).user == "viewer"
    assert cfg.resolve("nats://h:2", None, path).password == "b"  # the server's own context
    assert cfg.resolve("nats://other:9", None, path).user is None  # unknown server: no credentials
    assert cfg.resolve("nats://u:p@h:1", None, path).user == "u"
    with pytest.raises(BadRequest, match='context "nope" not found'):
        cfg.resolve(None, "nope", path)
    assert "REDACTED" in json.dumps(cfg.redacted(cfg.load(path)))


def test_credentials_travel_in_urls(tmp_path: Path) -> None:
    target = cfg.Target("nats://h:1,nats://h:2", "node-a", "p@ss:word")
    plain, user, password = split_credentials(target.url)
    assert (plain, user, password) == ("nats://h:1,nats://h:2", "node-a", "p@ss:word")
    creds = tmp_path / "c.json"
    creds.write_text(json.dumps({"user": "node-a", "password": "x/y"}))
    assert split_credentials(url_with_credentials("nats://h:1", creds))[1:] == ("node-a", "x/y")


def test_credentials_are_kept_across_restarts(tmp_path: Path) -> None:
    first = Credentials.load_or_create(tmp_path / "auth.json", "admin", "viewer")
    again = Credentials.load_or_create(tmp_path / "auth.json", "admin", "node-n1")
    assert again.users["admin"] == first.users["admin"] and set(again.users) == {"admin", "viewer", "node-n1"}
    assert (tmp_path / "auth.json").stat().st_mode & 0o777 == 0o600
    assert '"user": "node-n1"' in authorization_block(again.users)


def test_permissions_per_role() -> None:
    viewer = permissions("viewer")
    assert viewer["publish"]["allow"] == ["jetkube.api.u.viewer.*"]
    assert viewer["subscribe"]["allow"] == ["_INBOX.viewer.>"]
    node = permissions("node-n1_example")
    assert "jetkube.node.n1_example.>" in node["subscribe"]["allow"]  # one token: n1 cannot reach it
    assert "jetkube.nodepods.n1.example" in node["subscribe"]["allow"]
    assert "$KV.jetkube.>" in node["publish"]["deny"]
    assert permissions("controlplane")["publish"]["allow"] == [">"]


def test_keyring_seals_and_opens(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "k.json")
    secret = {"kind": "Secret", "metadata": {"namespace": "ns", "name": "s"}, "data": {"k": "djE="}}
    sealed = ring.seal(secret)
    assert "data" not in sealed and ENVELOPE in sealed and "djE=" not in json.dumps(sealed)
    assert ring.open(sealed) == secret
    moved = {**sealed, "metadata": {"namespace": "ns", "name": "other"}}
    with pytest.raises(InvalidTag):
        ring.open(moved)  # the ciphertext is bound to its Secret's name
    old = ring.primary
    ring.add_primary()
    assert KeyRing.load(tmp_path / "k.json").primary == old  # not saved yet
    with pytest.raises(InternalError, match="does not hold the primary key"):
        ring.seal(secret)  # a ring with a file seals only with a key the file holds
    ring.save()
    assert ring.open(sealed) == secret and ring.seal(secret)[ENVELOPE]["keyId"] != old
    assert KeyRing.load(tmp_path / "k.json").retired.keys() == {old}  # kept for reading


def test_the_testbed_nats_config_carries_the_current_permissions() -> None:
    """images/testbed/nats.conf embeds the roles' permissions; regenerate it when they change:
    python -c "from cli.testbed import testbed_authorization; print(testbed_authorization())"."""
    from cli.testbed import testbed_authorization

    conf = (Path(__file__).resolve().parents[3] / "images" / "testbed" / "nats.conf").read_text()
    assert conf.endswith(testbed_authorization())

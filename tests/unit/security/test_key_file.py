"""The Secrets key file shared by several api replicas (actors/api/encryption.py): a replica seals
only with the primary the file holds now, every change of the file is a locked atomic replace, and
rotation keeps the old key for reading (pure: files in a temporary directory, no server)."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from actors.api.encryption import ENVELOPE, KeyRing
from schemas.errors import InternalError

SECRET = {"kind": "Secret", "metadata": {"namespace": "ns", "name": "s"}, "data": {"k": "djE="}}


def test_a_replica_that_did_not_rotate_seals_with_the_new_primary(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    rotating, other = KeyRing.load_or_create(path), KeyRing.load_or_create(path)
    first = other.primary
    before = other.seal(SECRET)
    new, old = rotating.rotate_primary()
    assert old == first and rotating.primary == new

    after = other.seal(SECRET)  # no unknown keyId met: the file's stat told it
    assert after[ENVELOPE]["keyId"] == new and other.primary == new
    restarted = KeyRing.load(path)
    assert restarted.open(after) == SECRET and restarted.open(before) == SECRET
    assert restarted.retired.keys() == {first} and set(restarted.keys) == {first, new}


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = KeyRing.load_or_create(tmp_path / "k.json")
    reads: list[int] = []
    real = KeyRing._read
    monkeypatch.setattr(KeyRing, "_read", lambda self: reads.append(1) or real(self))
    for _ in range(50):
        ring.seal(SECRET)
    assert reads == []  # one stat per seal, no read
    KeyRing.load(tmp_path / "k.json").rotate_primary()  # another replica
    reads.clear()
    assert ring.seal(SECRET)[ENVELOPE]["keyId"] == json.loads((tmp_path / "k.json").read_text())["primary"]
    ring.seal(SECRET)
    assert reads == [1]  # reloaded once, when the file had changed


def test_without_its_key_file_a_ring_stops_sealing_but_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    ring = KeyRing.load_or_create(path)
    sealed = ring.seal(SECRET)
    path.unlink()
    with pytest.raises(InternalError, match="does not hold the primary key"):
        ring.seal(SECRET)
    assert ring.open(sealed) == SECRET
    path.write_text("{not json")  # a hand edit gone wrong: fail closed, say why
    with pytest.raises(InternalError, match="cannot be read"):
        ring.seal(SECRET)


def test_the_file_is_replaced_atomically_and_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.json"
    ring = KeyRing.load_or_create(path)
    for _ in range(3):
        ring.rotate_primary()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["k.json", "k.json.lock"]  # no temp left
    on_disk = json.loads(path.read_text())
    assert on_disk["primary"] == ring.primary and len(on_disk["keys"]) == 4 and len(on_disk["retired"]) == 3


def test_a_key_file_without_retired_keys_loads(tmp_path: Path) -> None:
    """The format before retired keys: ``{"primary", "keys"}``."""
    path = tmp_path / "k.json"
    ring = KeyRing.load_or_create(path)
    path.write_text(json.dumps({"primary": ring.primary, "keys": json.loads(path.read_text())["keys"]}))
    again = KeyRing.load(path)
    assert again.primary == ring.primary and again.retired == {}
    assert again.open(ring.seal(SECRET)) == SECRET


def test_only_retired_keys_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    ring = KeyRing.load_or_create(path)
    first = ring.primary
    second, _ = ring.rotate_primary()
    assert ring.drop_retired([second, "nope"]) == []  # the primary, an unknown key
    other = KeyRing.load(path)
    assert ring.drop_retired([first]) == [first]
    on_disk = json.loads(path.read_text())
    assert list(on_disk["keys"]) == [second] and on_disk["retired"] == {}
    assert first in other.keys  # a running replica still opens what it could open
    assert other.seal(SECRET)[ENVELOPE]["keyId"] == second


def _rotate_many(path: str, times: int) -> list[str]:
    ring = KeyRing.load_or_create(Path(path))
    return [ring.rotate_primary()[0] for _ in range(times)]


def _load_or_create(path: str) -> str:
    return KeyRing.load_or_create(Path(path)).primary


def test_processes_rotating_at_once_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    first = KeyRing.load_or_create(path).primary
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        made = [k for keys in pool.map(_rotate_many, [str(path)] * 4, [10] * 4) for k in keys]
    assert len(set(made)) == 40
    ring = KeyRing.load(path)
    assert set(ring.keys) == {first, *made} and ring.primary in made
    assert set(ring.retired) == set(ring.keys) - {ring.primary}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_replicas_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "new" / "k.json"
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        primaries = set(pool.map(_load_or_create, [str(path)] * 8))
    assert primaries == {KeyRing.load(path).primary}

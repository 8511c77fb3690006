"""The informer's Cache, plain and compact (objects kept as msgpack, decoded on every read)."""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from typing import Any

import pytest

from actors.runtime.cache import Cache, DecodingView, by_node_name, by_owner_uid, key_of

Obj = dict[str, Any]


def pod(name: str, node: str | None = None, owners: tuple[str, ...] = (), rv: int = 1, **labels: str) -> Obj:
    meta: Obj = {"name": name, "namespace": "default", "resourceVersion": str(rv), "labels": dict(labels)}
    if owners:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": o, "uid": o} for o in owners]
    spec: Obj = {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Running"}}


def filled(compact: bool) -> Cache:
    cache = Cache(compact=compact)
    cache.add_index("node", by_node_name)
    for obj in (pod("a", "n1", ("rs1",)), pod("b", "n2", ("rs1", "rs2")), pod("c")):
        cache.put(key_of(obj), copy.deepcopy(obj))
    return cache


@pytest.mark.parametrize("compact", [False, True], ids=["plain", "compact"])
def test_reads_give_what_was_put_and_indexes_follow_puts_and_pops(compact: bool) -> None:
    cache = filled(compact)
    cache.add_index("owner", by_owner_uid)  # built over what is already cached
    a, b, c = pod("a", "n1", ("rs1",)), pod("b", "n2", ("rs1", "rs2")), pod("c")

    assert cache.get("default/a") == a and cache.get("default/missing") is None
    assert sorted(cache.list(), key=key_of) == [a, b, c]
    assert sorted(cache.items()) == [("default/a", a), ("default/b", b), ("default/c", c)]
    assert dict(cache.view()) == {"default/a": a, "default/b": b, "default/c": c}
    assert (
        len(cache) == 3
        and "default/b" in cache
        and sorted(cache.keys()) == ["default/a", "default/b", "default/c"]
    )
    assert cache.by_index("node", "n1") == [a]
    assert cache.by_index("owner", "rs1") == [a, b] and cache.index_keys("owner", "rs2") == ["default/b"]
    assert sorted(cache.index_values("node")) == ["n1", "n2"]  # c has no node: under no value

    # put returns the object it replaced (equal to what was put before); the indexes move
    moved = pod("a", "n2", (), rv=2)
    assert cache.put("default/a", copy.deepcopy(moved)) == a
    assert cache.put("default/d", pod("d", "n3")) is None
    assert cache.index_keys("node", "n1") == [] and "n1" not in cache.index_values("node")
    assert cache.by_index("node", "n2") == [moved, b]
    assert cache.index_keys("owner", "rs1") == ["default/b"]

    # pop returns the object and takes it out of every index
    assert cache.pop("default/b") == b
    assert cache.pop("default/b") is None
    assert cache.get("default/b") is None and "default/b" not in cache.view()
    assert cache.index_keys("node", "n2") == ["default/a"]
    assert cache.index_values("owner") == []
    assert sorted(cache.index_values("node")) == ["n2", "n3"]
    with pytest.raises(KeyError):
        cache.index_keys("no-such-index", "x")


def test_compact_reads_are_fresh_copies_that_change_nothing_cached() -> None:
    cache = filled(compact=True)
    original = pod("a", "n1", ("rs1",))

    reads = [
        cache.get("default/a"),
        next(o for o in cache.list() if key_of(o) == "default/a"),
        dict(cache.items())["default/a"],
        cache.by_index("node", "n1")[0],
        cache.view()["default/a"],
        cache.put("default/a", copy.deepcopy(original)),  # the old object put hands back
    ]
    for got in reads:
        assert got == original
        got["spec"]["nodeName"] = "elsewhere"  # a reader's change, deep inside the object
        got["metadata"]["labels"]["mutated"] = "yes"
        got["spec"]["containers"][0]["ports"].append({"containerPort": 1})
        got["status"] = None
    assert len({id(o) for o in reads}) == len(reads)  # each read its own dict
    assert cache.get("default/a") == original
    assert cache.by_index("node", "n1") == [original] and cache.index_keys("node", "elsewhere") == []

    # the caller's own object too: changing it after the put changes nothing cached
    mine = pod("e", "n4")
    cache.put("default/e", mine)
    mine["spec"]["nodeName"] = "n5"
    assert cache.get("default/e") == pod("e", "n4") and cache.index_keys("node", "n4") == ["default/e"]


def test_compact_and_plain_caches_agree_over_the_same_changes() -> None:
    rng = random.Random(7)
    plain, compact = Cache(), Cache(compact=True)
    for cache in (plain, compact):
        cache.add_index("node", by_node_name)
    names = [f"p{i}" for i in range(12)]
    for step in range(400):
        name = rng.choice(names)
        if rng.random() < 0.3:
            got = [cache.pop(f"default/{name}") for cache in (plain, compact)]
        else:
            owners = tuple(rng.sample(["rs1", "rs2", "rs3"], rng.randint(0, 2)))
            obj = pod(name, rng.choice([None, "n1", "n2", "n3"]), owners, rv=step)
            got = [cache.put(key_of(obj), copy.deepcopy(obj)) for cache in (plain, compact)]
        assert got[0] == got[1]
        if step == 150:  # an index added halfway is built over what is cached, then kept
            for cache in (plain, compact):
                cache.add_index("owner", by_owner_uid)
    for index, values in (("node", ["n1", "n2", "n3"]), ("owner", ["rs1", "rs2", "rs3"])):
        assert sorted(plain.index_values(index)) == sorted(compact.index_values(index))
        for value in values:
            assert plain.index_keys(index, value) == compact.index_keys(index, value)
            assert plain.by_index(index, value) == compact.by_index(index, value)
    assert sorted(plain.items()) == sorted(compact.items())
    assert dict(plain.view()) == dict(compact.view())


def test_decoding_view_is_a_live_read_only_mapping() -> None:
    cache = filled(compact=True)
    view = cache.view()
    assert isinstance(view, DecodingView) and isinstance(view, Mapping)
    assert len(view) == 3
    assert sorted(view) == ["default/a", "default/b", "default/c"]
    assert "default/a" in view and "default/z" not in view and 42 not in view
    with pytest.raises(KeyError):
        view["default/z"]
    assert view.get("default/z") is None
    assert view.get("default/c") == pod("c")
    cache.put("default/z", pod("z"))  # live: later changes show
    cache.pop("default/a")
    assert sorted(view) == ["default/b", "default/c", "default/z"] and len(view) == 3
    assert view["default/z"] == pod("z")
    with pytest.raises(TypeError):
        view["default/b"] = pod("x")  # type: ignore[index]
    assert view["default/b"] == pod("b", "n2", ("rs1", "rs2"))


def test_an_object_a_compact_cache_cannot_encode_changes_nothing() -> None:
    import datetime

    cache = filled(True)
    key = "default/a"
    before = cache.get(key)
    broken = pod("a", node="n9")
    broken["metadata"]["creationTimestamp"] = datetime.datetime.now()  # not msgpack
    with pytest.raises(TypeError):
        cache.put(key, broken)
    assert cache.get(key) == before
    assert key in cache.index_keys("node", (before or {})["spec"]["nodeName"])
    assert "n9" not in cache.index_values("node")


def test_a_compact_cache_with_a_loader_keeps_the_bytes_it_is_handed() -> None:
    from bus.codec import decode, encode

    loads: list[int] = []

    def load(raw: bytes, revision: int) -> Obj:  # as the store reads: its bytes, then the revision
        loads.append(revision)
        obj: Obj = decode(raw)
        obj["metadata"]["resourceVersion"] = str(revision)
        return obj

    cache = Cache(compact=True, loader=load)
    cache.add_index("node", by_node_name)
    stored = pod("a", "n1")
    del stored["metadata"]["resourceVersion"]
    read = {**stored, "metadata": {**stored["metadata"], "resourceVersion": "7"}}
    assert cache.put("default/a", read, raw=encode(stored), revision=7) is None
    assert cache.get("default/a") == read and loads == [7]
    assert cache.view()["default/a"] == read and cache.by_index("node", "n1") == [read]
    moved = pod("a", "n2", rv=8)
    assert cache.put("default/a", moved) == read  # no bytes handed over: encoded, as without a loader
    assert cache.get("default/a") == moved and len(loads) == 4
    assert cache.index_keys("node", "n2") == ["default/a"] and cache.index_values("node") == ["n2"]

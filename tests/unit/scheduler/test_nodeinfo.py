"""NodeCache: accounting of nodes and pods as tables of operations in, state out."""

from __future__ import annotations

from actors.scheduler.nodeinfo import NodeCache
from actors.scheduler.podinfo import pod_info
from tests.unit.scheduler.helpers import node, pod


def usage(cache: NodeCache, name: str) -> tuple[float, float, float]:
    i = cache.index[name]
    return (float(cache.req_cpu[i]), float(cache.req_mem[i]), float(cache.pod_count[i]))


def test_assume_confirm_forget() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    p = pod("p", cpu="250m", memory="1Mi")
    cache.assume(pod_info(p), "a")
    assert usage(cache, "a") == (250, 1024 * 1024, 1) and cache.is_assumed("default/p")
    bound = {**p, "spec": {**p["spec"], "nodeName": "a"}}
    cache.add_pod(bound)  # the informer confirms
    assert not cache.is_assumed("default/p") and usage(cache, "a") == (250, 1024 * 1024, 1)
    cache.forget("default/p")  # confirmed pods are not forgotten
    assert usage(cache, "a") == (250, 1024 * 1024, 1)
    cache.remove_pod("default/p")
    assert usage(cache, "a") == (0, 0, 0)


def test_failed_bind_is_forgotten() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.assume(pod_info(pod("p", cpu="1")), "a")
    cache.forget("default/p")
    assert usage(cache, "a") == (0, 0, 0) and "default/p" not in cache.pods


def test_pending_update_keeps_the_assumption() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.assume(pod_info(pod("p", cpu="1")), "a")
    cache.add_pod(pod("p", cpu="1"))  # a stale pending version from the informer
    assert cache.is_assumed("default/p")


def test_pod_bound_elsewhere_moves() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.set_node(node("b"))
    cache.assume(pod_info(pod("p", cpu="1")), "a")
    cache.add_pod(pod("p", cpu="1", node_name="b"))
    assert usage(cache, "a") == (0, 0, 0) and usage(cache, "b") == (1000, 0, 1)


def test_finished_pod_releases() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.add_pod(pod("p", cpu="1", node_name="a"))
    cache.add_pod(pod("p", cpu="1", node_name="a", phase="Succeeded"))
    assert usage(cache, "a") == (0, 0, 0)


def test_pod_before_its_node_is_a_ghost() -> None:
    cache = NodeCache()
    cache.add_pod(pod("p", cpu="1", node_name="late"))
    assert not cache.has_node("late") and cache.num_nodes == 0
    cache.set_node(node("late"))
    assert cache.has_node("late") and usage(cache, "late") == (1000, 0, 1)


def test_removed_node_with_pods_stays_a_ghost_until_they_go() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.add_pod(pod("p", node_name="a"))
    cache.remove_node("a")
    assert "a" in cache.index and not cache.has_node("a") and cache.num_nodes == 0
    cache.remove_pod("default/p")
    assert "a" not in cache.index


def test_unchanged_node_update_is_not_a_change() -> None:
    cache = NodeCache()
    assert cache.set_node(node("a"))
    heartbeat = node("a")
    heartbeat["status"]["conditions"][0]["lastHeartbeatTime"] = "2024-01-01T00:00:00Z"
    assert not cache.set_node(heartbeat)
    assert cache.set_node(node("a", unschedulable=True))
    assert cache.set_node(node("a", labels={"x": "y"}))


def test_label_change_updates_cached_masks() -> None:
    cache = NodeCache()
    cache.set_node(node("a", labels={"zone": "z1"}))
    cache.set_node(node("b", labels={"zone": "z2"}))
    sig = pod_info(pod(nodeSelector={"zone": "z1"})).required
    assert sig is not None
    mask = cache.required_mask(sig)
    assert [bool(mask[cache.index[n]]) for n in "ab"] == [True, False]
    cache.set_node(node("b", labels={"zone": "z1"}))
    cache.set_node(node("a", labels={}))
    mask = cache.required_mask(sig)
    assert [bool(mask[cache.index[n]]) for n in "ab"] == [False, True]


def test_growth_keeps_state() -> None:
    cache = NodeCache(capacity=2)
    for i in range(9):
        cache.set_node(node(f"n{i}", labels={"i": str(i)}))
        cache.add_pod(pod(f"p{i}", cpu="1", owner="rs", node_name=f"n{i}"))
    assert cache.capacity >= 9 and cache.num_nodes == 9
    assert all(usage(cache, f"n{i}") == (1000, 0, 1) for i in range(9))
    assert float(cache.owners["rs"].sum()) == 9


def test_host_ports_released() -> None:
    cache = NodeCache()
    cache.set_node(node("a"))
    cache.add_pod(pod("p", node_name="a", host_port=80))
    assert cache.port_conflicts((("TCP", 80, "0.0.0.0"),)) == [cache.index["a"]]
    cache.remove_pod("default/p")
    assert cache.port_conflicts((("TCP", 80, "0.0.0.0"),)) == [] and cache.ports == {}

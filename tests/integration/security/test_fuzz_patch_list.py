"""Hypothesis fuzz of patch bodies (merge, JSON, strategic), list and watch requests and their
label and field selectors, against a real api: never a 500, and a refused request changes nothing.

Kept short (a fixed number of examples, generation only) so it costs CI a few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bus.client import ApiClient
from schemas.errors import InternalError, JetkubeError

T = TypeVar("T")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
paths = st.sampled_from(
    ["/data", "/data/k", "/data/-", "/metadata/labels", "/metadata/name", "", "/", "/x/y", "bad"]
)
json_ops = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "nope"]), "path": paths},
    optional={"value": json_values, "from": paths},
)
patches = st.one_of(
    st.tuples(st.just("json"), st.one_of(st.lists(json_ops, max_size=6), json_values)),
    st.tuples(st.just("merge"), json_values),
    st.tuples(
        st.just("strategic"),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "data": json_values,
                    "metadata": st.dictionaries(st.sampled_from(["labels", "$patch", "name"]), json_values),
                }
            ),
        ),
    ),
    st.tuples(st.text(max_size=10), json_values),
)
selector_text = st.one_of(
    st.text(alphabet="abc=!,() in notin.-/", max_size=20),
    json_values,
    st.sampled_from(["a=b", "metadata.name=cm"]),
)
reads = st.fixed_dictionaries(
    {},
    optional={
        "labelSelector": selector_text,
        "fieldSelector": selector_text,
        "resourceVersion": st.one_of(st.text(max_size=6), st.integers(-3, 10**12), json_values),
        "limit": st.one_of(st.integers(-3, 5), st.text(max_size=4), json_values),
        "continue": st.one_of(st.text(max_size=12), json_values),
    },
)


def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)


async def test_fuzzed_patches_and_reads_never_fail_with_500(api: ApiClient) -> None:
    loop = asyncio.get_running_loop()
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}
    await api.create("configmaps", base, "default")
    inbox = api.bus.nc.new_inbox()

    async def ack(msg: Any) -> None:
        await msg.respond(b"")

    await api.bus.nc.subscribe(inbox, cb=ack)

    async def one_patch(kind: str, body: Any) -> None:
        before = await api.get("configmaps", "cm", "default")
        try:
            await api.call(
                "patch",
                {
                    "resource": "configmaps",
                    "namespace": "default",
                    "name": "cm",
                    "body": body,
                    "patchType": kind,
                },
            )
        except InternalError:
            raise
        except JetkubeError:
            after = await api.get("configmaps", "cm", "default")
            assert after == before, f"a refused {kind} patch {body!r} changed the object"

    async def one_read(verb: str, options: dict[str, Any]) -> None:
        payload = {"resource": "configmaps", "namespace": "default", **options}
        if verb == "watch":
            payload["stream"] = inbox
        try:
            await api.call(verb, payload)
        except InternalError:
            raise
        except JetkubeError:
            pass

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(patch=patches, read=reads, verb=st.sampled_from(["list", "watch"]))
    def examples(patch: tuple[str, Any], read: dict[str, Any], verb: str) -> None:
        run_on(loop, one_patch(*patch))
        run_on(loop, one_read(verb, read))

    await asyncio.to_thread(examples)
    # the api still serves
    assert (await api.get("configmaps", "cm", "default"))["metadata"]["name"] == "cm"

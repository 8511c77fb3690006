"""Big manifests: the reading of JSON documents in a YAML stream, the waves, the in-order report."""

from __future__ import annotations

import asyncio
import io
import random

import pytest

from cli.bulk import Progress, progress_line, send_all, waves
from cli.manifests import parse_documents
from schemas.errors import BadRequest, NotFound

POD_A = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}'
POD_B = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}'
LIST_C = '{"apiVersion": "v1", "kind": "List", "items": [' + POD_A.replace('"a"', '"c"') + "]}"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (POD_A + "\n---\n" + POD_B + "\n", ["a", "b"]),  # JSON documents separated by ---
        (POD_A + POD_B, ["a", "b"]),  # a JSON stream, as kubectl reads a .json file
        (POD_A + "\n--- \n" + LIST_C, ["a", "c"]),  # a List among them
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n" + POD_B, ["a", "b"]),
        ("{apiVersion: v1, kind: Pod, metadata: {name: a}}\n", ["a"]),  # a YAML flow mapping
        ("---\n" + POD_A + "\n---\n\n---\n", ["a"]),  # empty documents skipped
        ("apiVersion: v1\nkind: List\nitems:\n- " + POD_B + "\n", ["b"]),  # kind: List in YAML
    ],
)
def test_documents(text, names):
    assert [o["metadata"]["name"] for o in parse_documents(text, "f.yaml")] == names


def test_bad_document_names_the_file():
    with pytest.raises(BadRequest, match=r"error parsing f\.yaml"):
        parse_documents(POD_A + "\n---\n{: [\n", "f.yaml")


def key(kind: str, name: str, ns: str = "default") -> tuple[str, str, str, str]:
    return ("", kind, "" if kind == "Namespace" else ns, name)


@pytest.mark.parametrize(
    ("keys", "reverse", "expected"),
    [
        ([key("Pod", "a"), key("Pod", "b")], False, [[0, 1]]),
        ([key("Pod", "a"), key("Namespace", "x"), key("Pod", "b")], False, [[1], [0, 2]]),
        ([key("Pod", "a"), key("Namespace", "x"), key("Pod", "b")], True, [[0, 2], [1]]),
        ([("apiextensions.k8s.io", "CustomResourceDefinition", "", "c"), key("Pod", "a")], False, [[0], [1]]),
        ([key("Pod", "a"), key("Pod", "a"), key("Pod", "b"), key("Pod", "a")], False, [[0, 2], [1], [3]]),
        ([key("Pod", "a"), key("Pod", "a", ns="other")], False, [[0, 1]]),
        ([key("Pod", ""), key("Pod", "")], False, [[0, 1]]),  # generateName: never the same object
    ],
)
def test_waves(keys, reverse, expected):
    assert waves(keys, reverse) == expected


def test_results_are_reported_in_the_files_order_while_sent_concurrently():
    in_flight = 0
    most = 0
    reported: list[tuple[int, object, object]] = []

    async def send(i: int) -> int:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(random.random() / 1000)
        in_flight -= 1
        if i == 7:
            raise NotFound("seven")
        return i * 10

    plan = [[3, 9], [i for i in range(40) if i not in (3, 9)]]
    out = io.StringIO()
    progress = Progress("applied", 40, out=out, every=0)
    asyncio.run(send_all(40, plan, send, lambda *r: reported.append(r), progress, concurrency=8))
    assert [r[0] for r in reported] == list(range(40))
    assert [r[1] for r in reported if r[0] != 7] == [i * 10 for i in range(40) if i != 7]
    assert isinstance(reported[7][2], NotFound)
    assert most == 8
    assert out.getvalue() == ""  # fewer objects than PROGRESS_MIN: no progress line


def test_progress_lines_off_a_terminal():
    out = io.StringIO()
    progress = Progress("applied", 200, out=out, every=0)
    for _ in range(200):
        progress.tick()
    progress.finish()
    lines = out.getvalue().splitlines()
    assert len(lines) == 200 and lines[0].startswith("applied 1/200 objects (")
    assert lines[-1].startswith("applied 200/200 objects (") and "\r" not in out.getvalue()


def test_progress_line():
    assert progress_line("applied", 1200, 5000, 0.5) == "applied 1200/5000 objects (2,400/s)"

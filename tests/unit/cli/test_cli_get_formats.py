"""``get`` in every output format for the empty, single and many cases, as kubectl 1.32 prints them.

The expected texts were taken from /usr/bin/kubectl v1.32 run against an api server that served
the same objects (an empty PodList, or two pods): stdout and stderr apart, and the exit code.
"""

from __future__ import annotations

import pytest

EMPTY_JSON = """{
    "apiVersion": "v1",
    "items": [],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
"""
EMPTY_YAML = """apiVersion: v1
items: []
kind: List
metadata:
  resourceVersion: ""
"""
NS_MSG = "No resources found in default namespace.\n"
NF_X = 'Error from server (NotFound): pods "x" not found\n'
NF_Y = 'Error from server (NotFound): pods "y" not found\n'

# (args, exit code, stdout, stderr)
EMPTY = [
    (["get", "pods"], 0, "", NS_MSG),
    (["get", "pods", "-o", "wide"], 0, "", NS_MSG),
    (["get", "pods", "-A"], 0, "", "No resources found\n"),
    (["get", "nodes"], 0, "", NS_MSG),  # kubectl 1.32 names the namespace here too
    (["get", "pods", "-o", "json"], 0, EMPTY_JSON, ""),
    (["get", "pods", "-A", "-o", "json"], 0, EMPTY_JSON, ""),
    (["get", "pods", "-o", "yaml"], 0, EMPTY_YAML, ""),
    (["get", "pods", "-o", "name"], 0, "", ""),
    (["get", "pods", "-o", "jsonpath={.items}"], 0, "[]", ""),
    (["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"], 0, "", ""),
    (["get", "pods", "-o", "go-template={{len .items}}"], 0, "0", ""),
    (["get", "pods", "-o", "custom-columns=N:.metadata.name"], 0, "N\n", ""),
    (["get", "pods", "-l", "app=nomatch", "-o", "json"], 0, EMPTY_JSON, ""),
    (["get", "pods", "--ignore-not-found"], 0, "", ""),
    (["get", "pods", "--ignore-not-found", "-o", "json"], 0, "", ""),
    (["get", "pod", "x", "-o", "json"], 1, "", NF_X),
    (["get", "pod", "x", "--ignore-not-found", "-o", "json"], 0, "", ""),
    (["get", "pod", "x", "y", "-o", "json"], 1, EMPTY_JSON, NF_X + NF_Y),
    (["get", "pod", "x", "y", "-o", "name"], 1, "", NF_X + NF_Y),
    (["get", "pod", "x", "y"], 1, "", NF_X + NF_Y),
    (["get", "pod", "x", "y", "-o", "custom-columns=N:.metadata.name"], 1, "N\n", NF_X + NF_Y),
]


@pytest.mark.parametrize(("args", "code", "stdout", "stderr"), EMPTY, ids=[" ".join(c[0]) for c in EMPTY])
def test_empty_results_print_what_kubectl_prints(cli, args, code, stdout, stderr):
    res = cli(*args)
    assert (res.exit_code, res.stdout, res.stderr) == (code, stdout, stderr)


def pod(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


SOME = [
    (["get", "pods", "-o", "name"], "pod/p0\npod/p1\n"),
    (["get", "pod", "p0", "-o", "name"], "pod/p0\n"),
    (["get", "pod", "p0", "-o", "jsonpath={.metadata.name}"], "p0"),
    (["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"], "p0 p1"),
    (["get", "pod", "p0", "p0", "-o", "jsonpath={.items[*].metadata.name}"], "p0 p0"),
    (["get", "pod", "p0", "-o", "custom-columns=N:.metadata.name"], "N\np0\n"),
    (["get", "pods", "-o", "custom-columns=N:.metadata.name", "--no-headers"], "p0\np1\n"),
    (["get", "pods", "-o", "go-template={{len .items}}"], "2"),
    (["get", "pod", "p0", "-o", "go-template={{.kind}}"], "Pod"),
]


@pytest.mark.parametrize(("args", "stdout"), SOME, ids=[" ".join(c[0]) for c in SOME])
def test_one_and_many(cli, fake_api, args, stdout):
    fake_api.put("pods", pod("p0"))
    fake_api.put("pods", pod("p1"))
    res = cli(*args)
    assert (res.exit_code, res.stdout, res.stderr) == (0, stdout, "")


def test_json_and_yaml_of_one_is_the_object_and_of_many_a_list(cli, fake_api):
    import json

    import yaml

    fake_api.put("pods", pod("p0"))
    fake_api.put("pods", pod("p1"))
    one = json.loads(cli("get", "pod", "p0", "-o", "json").stdout)
    assert (one["kind"], one["metadata"]["name"]) == ("Pod", "p0")
    many = yaml.safe_load(cli("get", "pods", "-o", "yaml").stdout)
    assert (many["kind"], [i["metadata"]["name"] for i in many["items"]]) == ("List", ["p0", "p1"])
    partly = cli("get", "pod", "p0", "x", "-o", "json")
    assert partly.exit_code == 1 and partly.stderr == NF_X
    assert [i["metadata"]["name"] for i in json.loads(partly.stdout)["items"]] == ["p0"]


def test_watch_prints_each_listed_object_alone_and_nothing_for_none(cli, fake_api):
    import json

    assert cli("get", "pods", "-w", "-o", "json").stdout == ""  # kubectl: no empty List before a watch
    fake_api.put("pods", pod("p0"))
    fake_api.put("pods", pod("p1"))
    out = cli("get", "pods", "-w", "-o", "json").stdout
    decoder, pos, names = json.JSONDecoder(), 0, []
    while pos < len(out.rstrip()):
        obj, end = decoder.raw_decode(out, pos)
        names.append((obj["kind"], obj["metadata"]["name"]))
        pos = end + 1
    assert names == [("Pod", "p0"), ("Pod", "p1")]
    assert cli("get", "pods", "-w", "-o", "name").stdout == "pod/p0\npod/p1\n"

"""What managedFields cost the api per write, in CPU: the field-set walk, the ownership update and
the FieldsV1 encoding of ``record`` (schemas/managedfields.py) for the api bench's small pod (a
create) and for a Deployment whose image changes (an update), beside the msgpack encoding of the
object that every write does anyway, and the bytes the entries add to the stored object.

    python -m bench.managedfields [--rounds 20000]
"""

from __future__ import annotations

import argparse
import copy
import time

from bench.api import small_pod
from bench.common import print_table
from bus.codec import encode
from schemas.managedfields import Writer, read_entries, record, write_entries

NOW = "2026-12-07T05:00:00Z"


def deployment() -> dict:
    pod = small_pod("x")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod["spec"]},
        },
    }


def per_call_us(fn, rounds: int) -> float:
    t0 = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - t0) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    pod = small_pod("b-1")
    writer = Writer("kubectl-create", "Update", "v1")

    def create() -> None:
        pod["metadata"]["managedFields"] = write_entries(record([], None, pod, writer, NOW))

    create()
    created = copy.deepcopy(pod)
    old = deployment()
    old["metadata"]["managedFields"] = write_entries(record([], None, old, writer, NOW))
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:1.37"
    updater = Writer("kubectl-set", "Update", "apps/v1")

    def update() -> None:
        new["metadata"]["managedFields"] = write_entries(record(read_entries(old), old, new, updater, NOW))

    bare = copy.deepcopy(pod)
    bare["metadata"].pop("managedFields")
    rows = [
        ("create: record + encode entries, small pod", f"{per_call_us(create, args.rounds):.1f} µs", ""),
        ("update: read + record + encode, Deployment", f"{per_call_us(update, args.rounds):.1f} µs", ""),
        (
            "msgpack encode of the pod (every write)",
            f"{per_call_us(lambda: encode(created), args.rounds):.1f} µs",
            "",
        ),
        ("stored pod bytes without / with entries", f"{len(encode(bare))} / {len(encode(created))}", ""),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()

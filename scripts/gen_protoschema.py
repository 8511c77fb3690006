"""Write actors/gateway/protoschema.json from Kubernetes' generated.proto files.

kubectl's typed clients (``create namespace``, ``auth can-i``, ``drain``...) send bodies as
Kubernetes protobuf; the gateway decodes them with this table of field numbers (no protobuf
compiler or runtime needed). Run with the roots of the kubernetes/api and kubernetes/apimachinery
repositories (Apache-2.0; the table holds only message and field names, numbers and types):

    python scripts/gen_protoschema.py ~/src/api ~/src/apimachinery
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

API_GROUPS = (
    "core",
    "apps",
    "batch",
    "authorization",
    "authentication",
    "policy",
    "networking",
    "rbac",
    "coordination",
    "autoscaling",
)
MACHINERY = ("pkg/apis/meta/v1", "pkg/api/resource", "pkg/runtime", "pkg/util/intstr")
FIELD = re.compile(r"^\s*(optional|repeated)\s+(\S+)\s+(\w+)\s*=\s*(\d+)")
MAP = re.compile(r"^\s*map<\s*(\S+)\s*,\s*(\S+)\s*>\s+(\w+)\s*=\s*(\d+)")


def _qualify(name: str, package: str) -> str:
    if name.startswith("."):
        return name[1:]
    if name in ("string", "bool", "int32", "int64", "bytes", "double", "float", "uint32", "uint64"):
        return name
    return f"{package}.{name}"


def parse(text: str, out: dict[str, list[list[object]]]) -> None:
    package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)  # type: ignore[union-attr]
    current = None
    for line in text.splitlines():
        if line.startswith("message "):
            current = f"{package}.{line.split()[1]}"
            out[current] = []
        elif line.startswith("}"):
            current = None
        elif current is not None:
            if m := FIELD.match(line):
                label, typ, name, num = m.groups()
                kind = "rep" if label == "repeated" else "opt"
                out[current].append([int(num), name, kind, _qualify(typ, package)])
            elif m := MAP.match(line):
                _key, value, name, num = m.groups()
                out[current].append([int(num), name, "map", _qualify(value, package)])


def main(api_root: str, machinery_root: str) -> None:
    out: dict[str, list[list[object]]] = {}
    for group in API_GROUPS:
        parse((Path(api_root) / group / "v1" / "generated.proto").read_text(), out)
    for sub in MACHINERY:
        parse((Path(machinery_root) / sub / "generated.proto").read_text(), out)
    target = Path(__file__).resolve().parent.parent / "actors" / "gateway" / "protoschema.json"
    target.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(out)} messages -> {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:3])

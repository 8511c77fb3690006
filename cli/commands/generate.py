"""``create``'s generator words (kubectl's ``create deployment|job|configmap|secret generic|service``)
to the object cli/generators.py makes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli import generators
from schemas.errors import BadRequest

GENERATORS = ("configmap", "deployment", "job", "namespace", "secret", "service")
ALIASES = {"cm": "configmap", "deploy": "deployment", "ns": "namespace", "svc": "service"}


@dataclass(frozen=True)
class GeneratorFlags:
    images: list[str]
    replicas: int
    port: int
    from_literal: list[str]
    from_file: list[str]
    from_env_file: str | None
    secret_type: str
    tcp: list[str]
    node_port: int
    cluster_ip: str


def generate(args: list[str], f: GeneratorFlags) -> dict[str, Any]:
    """``args`` after ``create``: ``WHAT [SUBTYPE] NAME [-- COMMAND...]``."""
    what = ALIASES.get(args[0], args[0])
    rest = args[1:]
    if what == "secret" or what == "service":
        if not rest:
            raise BadRequest(f"create {what}: a subcommand is required")
        sub, rest = rest[0], rest[1:]
        if what == "secret" and sub != "generic":
            raise BadRequest(f'create secret {sub}: only "generic" is supported')
    if what not in GENERATORS:
        raise BadRequest(
            f'unknown resource to create: "{args[0]}"; one of: {", ".join(GENERATORS)}, or -f FILE'
        )
    if not rest:
        raise BadRequest("NAME is required")
    name, command = rest[0], rest[1:]
    if what == "namespace":
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if what == "deployment":
        return generators.deployment(name, f.images, f.replicas, f.port, command)
    if what == "job":
        if len(f.images) > 1:
            raise BadRequest("create job takes one --image")
        return generators.job(name, f.images[0] if f.images else "", command)
    if command:
        raise BadRequest(f"create {what} takes no command: {' '.join(command)}")
    if what == "configmap":
        return generators.config_map(name, f.from_literal, f.from_file, f.from_env_file)
    if what == "secret":
        return generators.secret(name, f.from_literal, f.from_file, f.from_env_file, f.secret_type)
    return generators.service(sub, name, f.tcp, f.node_port, f.cluster_ip)

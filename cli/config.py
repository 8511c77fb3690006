"""The client config file: contexts (a server and credentials), as kubeconfig holds them.

Where: ``$JETKUBE_CONFIG``, else ``~/.jetkube/config``. ``jetkube up`` writes (merges) its context
there, ``admin@<cluster>`` with the admin's password, and makes it current; the file is mode 0600.
Format (YAML)::

    apiVersion: v1
    kind: Config
    current-context: admin@local
    contexts:
    - name: admin@local
      context: {server: nats://127.0.0.1:4222, user: admin, password: ...}

Which server and user a command uses (:func:`resolve`): ``--context NAME`` picks that context;
otherwise ``--server``/``JETKUBE_SERVER`` picks the server, with the credentials of a context for
that same server when the config has one (the current context first) and none otherwise (an
unauthenticated server); with neither, the current context, else ``nats://127.0.0.1:4222`` without
credentials.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bus.auth import write_private
from bus.connection import split_credentials
from schemas.errors import BadRequest

DEFAULT_SERVER = "nats://127.0.0.1:4222"


def config_path() -> Path:
    env = os.environ.get("JETKUBE_CONFIG")
    return Path(env) if env else Path.home() / ".jetkube" / "config"


@dataclass(frozen=True)
class Target:
    """Where a command connects: the plain server URL and, maybe, a user and password."""

    server: str
    user: str | None = None
    password: str | None = None
    context: str | None = None
    ca: str | None = None  # the context's certificate-authority, for tls:// servers (bus/tls.py)

    @property
    def url(self) -> str:
        """The server URL with the credentials (and the CA file) in it: what ``Bus.connect`` takes."""
        from bus.tls import with_ca

        if not self.user:
            return with_ca(self.server, self.ca)
        cred = f"{urllib.parse.quote(self.user, safe='')}:{urllib.parse.quote(self.password or '', safe='')}@"
        return with_ca(
            ",".join(
                p.replace("://", f"://{cred}", 1) if "://" in p else cred + p for p in self.server.split(",")
            ),
            self.ca,
        )


def load(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    if not path.exists():
        return {"apiVersion": "v1", "kind": "Config", "current-context": "", "contexts": []}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise BadRequest(f"{path}: not a valid config file: {err}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{path}: not a valid config file")
    data.setdefault("contexts", [])
    data.setdefault("current-context", "")
    return data


def save(data: dict[str, Any], path: Path | None = None) -> Path:
    path = path or config_path()
    write_private(path, yaml.safe_dump(data, sort_keys=False))
    return path


def contexts(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(c.get("name")): dict(c.get("context") or {})
        for c in data.get("contexts") or []
        if isinstance(c, dict)
    }


def set_context(data: dict[str, Any], name: str, context: dict[str, Any], *, current: bool = True) -> None:
    entries = [c for c in data.get("contexts") or [] if c.get("name") != name]
    entries.append({"name": name, "context": context})
    data["contexts"] = entries
    if current:
        data["current-context"] = name


def _ca(context: dict[str, Any]) -> str | None:
    ca = context.get("certificate-authority")
    return str(ca) if ca else None


def _same_server(a: str, b: str) -> bool:
    return split_credentials(a)[0] == split_credentials(b)[0]


def resolve(server: str | None, context: str | None, path: Path | None = None) -> Target:
    """The server and credentials a command uses (rules in the module docstring)."""
    data = load(path)
    ctxs = contexts(data)
    if context:
        if context not in ctxs:
            raise BadRequest(
                f'context "{context}" not found in {path or config_path()} (jetkube config get-contexts)'
            )
        c = ctxs[context]
        return Target(
            str(c.get("server") or DEFAULT_SERVER), c.get("user"), c.get("password"), context, _ca(c)
        )
    current = str(data.get("current-context") or "")
    if server:
        plain, user, password = split_credentials(server)
        if user:
            return Target(plain, user, password)
        order = ([current] if current in ctxs else []) + [n for n in ctxs if n != current]
        for name in order:
            c = ctxs[name]
            if c.get("server") and _same_server(str(c["server"]), plain):
                return Target(plain, c.get("user"), c.get("password"), name, _ca(c))
        return Target(server)
    if current in ctxs:
        c = ctxs[current]
        return Target(
            str(c.get("server") or DEFAULT_SERVER), c.get("user"), c.get("password"), current, _ca(c)
        )
    return Target(DEFAULT_SERVER)


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    """The config with passwords shown as REDACTED (``config view``, as kubectl does)."""
    out = dict(data)
    out["contexts"] = [
        {
            "name": c.get("name"),
            "context": {
                k: ("REDACTED" if k == "password" else v) for k, v in (c.get("context") or {}).items()
            },
        }
        for c in data.get("contexts") or []
    ]
    return out

"""A kubeconfig for the gateway (actors/gateway), merged into the user's own.

``jetkube up`` writes the cluster, an admin user (a client certificate: CN=admin,
O=system:masters, signed by the cluster CA) and a context, all named ``jetkube-<cluster>``, into the
first file of ``$KUBECONFIG`` or ``~/.kube/config``. Other clusters, users and contexts in the file
are kept as they are; ours are replaced; the current context becomes ours (as kind and minikube do).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from bus.auth import write_private


def kubeconfig_path() -> Path:
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _put(items: list[dict[str, Any]], name: str, key: str, value: dict[str, Any]) -> list[dict[str, Any]]:
    kept = [i for i in items if isinstance(i, dict) and i.get("name") != name]
    return [*kept, {"name": name, key: value}]


def merge(
    config: dict[str, Any] | None, name: str, server: str, ca_pem: str, cert_pem: str, key_pem: str
) -> dict[str, Any]:
    """``config`` with this cluster's entries (pure)."""
    data = dict(config or {})
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    data.setdefault("preferences", {})
    data["clusters"] = _put(
        list(data.get("clusters") or []),
        name,
        "cluster",
        {"server": server, "certificate-authority-data": _b64(ca_pem)},
    )
    data["users"] = _put(
        list(data.get("users") or []),
        name,
        "user",
        {"client-certificate-data": _b64(cert_pem), "client-key-data": _b64(key_pem)},
    )
    data["contexts"] = _put(
        list(data.get("contexts") or []), name, "context", {"cluster": name, "user": name}
    )
    data["current-context"] = name
    return data


def write_kubeconfig(name: str, server: str, pki_dir: Path) -> Path:
    """Make the admin's client certificate and merge the context into the kubeconfig; its path."""
    from actors.gateway.pki import Pki, client_certificate

    pki = Pki.at(pki_dir)
    ca_pem, ca_key = pki.ca_cert.read_text(), pki.ca_key.read_text()
    cert, key = client_certificate(ca_pem, ca_key, "admin", ["system:masters"])
    path = kubeconfig_path()
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    merged = merge(current if isinstance(current, dict) else None, name, server, ca_pem, cert, key)
    write_private(path, yaml.safe_dump(merged, sort_keys=False))
    return path

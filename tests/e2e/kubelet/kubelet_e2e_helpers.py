"""Helpers for the kubelet's end-to-end tests (polling with deadlines, pod dicts, free ports)."""

from __future__ import annotations

import socket
import uuid


def pod(name: str, uid: str | None = None, node: str = "", namespace: str = "default") -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": uid or str(uuid.uuid4())},
        "spec": {"nodeName": node},
    }


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

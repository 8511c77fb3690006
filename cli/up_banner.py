"""What ``jetkube up`` prints once the cluster answers: what runs, what does not and why, what to try.

Pure: :func:`banner` takes what ``run_up`` found (cli/up.py) and returns the text. Each part that
could not start says so on its own line with what to do (Docker not answering, not root so no
service proxy, a port taken), and the rest goes on; then three commands to try, starting with
the images the seed's examples need (no registry serves these machines: ``jetkube images build``).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

#: the three commands a new user tries first (the README's quick start runs the same ones)
NEXT_STEPS = (
    ("jetkube images build busybox perl", "the images the seed's examples run (no registry here)"),
    ("jetkube apply -f seed/examples/job-pi.yaml", "the seed's Job: 2000 digits of pi, in perl"),
    ("jetkube logs job/pi", "once `jetkube get pods` shows it Completed"),
)


@dataclass
class UpReport:
    server_url: str
    data_dir: Path
    kubelet: str  # "node NAME" or why not
    network: str
    dashboard: str  # its URL or why not
    context: str
    config_path: Path
    ingress: str = ""  # its URL, why not, or "" (off)
    hollow: str = ""  # "N simulated nodes ..." or ""
    kubectl: str = ""  # the Kubernetes API gateway: its URL and context, or why not
    extra: list[str] = field(default_factory=list)


def banner(r: UpReport) -> str:
    lines = [
        f"jetkube is up: NATS at {r.server_url} (data in {r.data_dir})",
        f"  kubelet:   {r.kubelet}",
        f"  network:   {r.network}",
        f"  dashboard: {r.dashboard}",
    ]
    if r.ingress:
        lines.append(f"  ingress:   {r.ingress}")
    if r.hollow:
        lines.append(f"  hollow:    {r.hollow}")
    lines.append(f"  context:   {r.context} written to {r.config_path} (jetkube config get-contexts)")
    if r.kubectl:
        lines.append(f"  kubectl:   {r.kubectl}")
    lines += [f"  {x}" for x in r.extra]
    width = max(len(cmd) for cmd, _ in NEXT_STEPS)
    lines.append("next, in another shell:")
    lines += [f"  {cmd:<{width}}   # {why}" for cmd, why in NEXT_STEPS]
    lines.append("stop: Ctrl-C")
    return "\n".join(lines)


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (checked before ``up`` binds it)."""
    probe = "127.0.0.1" if host in ("", "0.0.0.0") else host
    with socket.socket(socket.AF_INET6 if ":" in probe else socket.AF_INET) as s:
        s.settimeout(0.2)
        return s.connect_ex((probe, port)) == 0


def ingress_line(host: str, port: int, taken: bool) -> str:
    if not port:
        return ""
    if taken:
        return f"port {port} is taken by another process: no Ingress here (use --ingress-port)"
    return f"http://{host}:{port}"


NO_DOCKER = "not started: no Docker engine answers (start Docker, then restart jetkube up)"

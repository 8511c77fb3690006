"""What ``jetkube up`` prints (cli/up_banner.py): parts that did not start say why, then what to try."""

from __future__ import annotations

import socket
from pathlib import Path

from cli.up_banner import NEXT_STEPS, NO_DOCKER, UpReport, banner, ingress_line, port_taken


def report(**kw: object) -> UpReport:
    base: dict = {
        "server_url": "nats://127.0.0.1:4222",
        "data_dir": Path("/d"),
        "kubelet": "node box",
        "network": "service proxy (nat chain JETKUBE-SERVICES), cluster DNS at 10.96.0.10",
        "dashboard": "http://127.0.0.1:8001/",
        "context": "admin@local",
        "config_path": Path("/home/u/.jetkube/config"),
    }
    return UpReport(**{**base, **kw})


def test_banner_names_context_dashboard_and_three_next_commands() -> None:
    text = banner(report(ingress="http://127.0.0.1:8080"))
    assert "context:   admin@local written to /home/u/.jetkube/config" in text
    assert "dashboard: http://127.0.0.1:8001/" in text
    assert "ingress:   http://127.0.0.1:8080" in text
    after = text.split("next, in another shell:\n", 1)[1].splitlines()
    assert [ln.split("#")[0].strip() for ln in after[:3]] == [cmd for cmd, _ in NEXT_STEPS]
    assert after[0].strip().startswith("jetkube images build")
    assert text.endswith("stop: Ctrl-C")


def test_what_did_not_start_is_one_line_each() -> None:
    text = banner(
        report(
            kubelet=NO_DOCKER,
            network="no service proxy (needs root and iptables), no cluster DNS",
            dashboard="not started (port 8001 is in use)",
            ingress=ingress_line("127.0.0.1", 8080, taken=True),
        )
    )
    lines = text.splitlines()
    assert (
        "  kubelet:   not started: no Docker engine answers (start Docker, then restart jetkube up)" in lines
    )
    assert any(ln.startswith("  network:   no service proxy") for ln in lines)
    assert any(ln.startswith("  dashboard: not started") for ln in lines)
    assert "  ingress:   port 8080 is taken by another process: no Ingress here (use --ingress-port)" in lines
    assert ingress_line("127.0.0.1", 0, taken=False) == ""


def test_port_taken() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port_taken("127.0.0.1", port)
    assert not port_taken("127.0.0.1", port)

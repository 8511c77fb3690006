"""The pod network's flags: bad values are one line naming the flag, and nothing starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["kubelet", "--pod-network", "calico"], '--pod-network: Unsupported value: "calico"'),
        (
            ["kubelet", "--pod-network", "flannel", "--flannel-backend", "udp"],
            '--flannel-backend: Unsupported value: "udp"',
        ),
        (
            ["kubelet", "--cluster-cidr", "fd00::/64"],
            '--cluster-cidr: Invalid value: "fd00::/64": must be an IPv4 CIDR',
        ),
        (["controlplane", "--cluster-cidr", "bogus"], '--cluster-cidr: Invalid value: "bogus"'),
        (["controlplane", "--node-cidr-mask-size", "12"], "--node-cidr-mask-size: Invalid value: 12"),
    ],
)
def test_bad_flags_name_the_flag(args: list[str], line: str) -> None:
    code, out = run(*args, "--server", "nats://127.0.0.1:1")
    assert code != 0
    assert line in out


def test_up_refuses_a_bad_cluster_cidr_before_making_its_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out = run("up", "--data-dir", str(data), "--cluster-cidr", "10.0.0.0/33")
    assert code != 0 and '--cluster-cidr: Invalid value: "10.0.0.0/33"' in out
    assert not data.exists()

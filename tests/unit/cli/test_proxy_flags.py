"""Bad proxy flags: one line naming the flag and the rule, exit 1, nothing started."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli.localcluster import ROOT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["proxy", "--proxy-mode", "ipvs"], "--proxy-mode: 'ipvs' is not one of iptables, userspace"),
        (["proxy", "--cluster-cidr", "10.244.0.0/33"], "--cluster-cidr: '10.244.0.0/33' is not an IPv4 CIDR"),
        (["up", "--proxy-mode", "kernel", "--data-dir", "/nonexistent/x"], "--proxy-mode: 'kernel'"),
    ],
)
def test_bad_proxy_flags(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr

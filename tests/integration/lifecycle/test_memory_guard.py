"""``--memory-limit``: the api refuses new work with 503 and the reason before the process would
cross its ceiling, and serves again once below it. A real api actor on a real nats-server; the
limit is set just above what this process holds, so the refusal line is crossed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from actors.runtime import memguard
from actors.runtime.memguard import GUARD, rss_bytes
from bus.embedded import EmbeddedNats
from cli.localcluster import ROOT
from schemas.errors import NotFound, ServiceUnavailable

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}}


async def test_the_api_answers_503_with_the_reason_past_its_memory_line(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(memguard, "TRIM_EVERY", float("inf"))  # no collect-and-trim: the line stays crossed
    monkeypatch.setattr(GUARD, "limit", int(rss_bytes() / 0.93))  # past 85% of it, under 100%
    with pytest.raises(ServiceUnavailable) as info:
        await api.create("configmaps", CM, namespace="default")
    assert info.value.code == 503
    assert "--memory-limit" in info.value.message and "refuses create requests" in info.value.message
    assert (await api.get("namespaces", "default"))["metadata"]["name"] == "default"  # cheap reads go on
    with pytest.raises(NotFound):  # and nothing was written
        await api.get("configmaps", "cm", namespace="default")
    monkeypatch.setattr(GUARD, "limit", None)
    assert (await api.create("configmaps", CM, namespace="default"))["metadata"]["name"] == "cm"


def test_a_bad_memory_limit_is_a_usage_error_naming_the_flag() -> None:
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["up", "--memory-limit", "10"])
    assert result.exit_code == 2
    assert "--memory-limit" in result.output and "at least 64Mi" in result.output


def test_a_process_past_a_watched_limit_stops_in_order_and_says_so(nats_server: EmbeddedNats) -> None:
    # a control plane holds more than 64 MiB once started: the watcher stops it, it is not killed
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "controlplane", "-s", nats_server.url, "--memory-limit", "64Mi"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines[-1] == "error: stopped in order: grown past its --memory-limit of 64 MiB"
    assert "memguard.limit_crossed" in proc.stderr and "Traceback" not in proc.stderr

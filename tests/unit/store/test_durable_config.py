"""The embedded server's durability and ping settings, and the flag's bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bus.embedded import EmbeddedNats, check_sync_interval
from schemas.errors import BadRequest


def test_the_embedded_server_fsyncs_before_it_acknowledges_by_default(tmp_path: Path) -> None:
    conf = EmbeddedNats(tmp_path).config_text()
    assert 'sync_interval: "always"' in conf
    assert 'ping_interval: "3s"' in conf and "ping_max: 2" in conf
    assert 'sync_interval: "2m"' in EmbeddedNats(tmp_path, sync_interval="2m").config_text()


@pytest.mark.parametrize("value", ["always", "2m", "10s", "500ms"])
def test_good_sync_intervals(value: str) -> None:
    assert check_sync_interval(value) == value


@pytest.mark.parametrize("value", ["", "never", "2 m", "-1s", "2"])
def test_bad_sync_intervals_name_the_flag(value: str) -> None:
    with pytest.raises(BadRequest, match="--sync-interval: must be 'always' or a duration"):
        check_sync_interval(value)


def _option_default(func: object, name: str) -> str:
    import inspect

    default = inspect.signature(func).parameters[name].default  # type: ignore[arg-type]
    return str(getattr(default, "default", default))


def test_every_way_of_starting_nats_is_durable_by_default() -> None:
    """`jetkube up`, `jetkube testbed up` and the compose files default to fsync before acknowledging
    (`controlplane` starts no server: it writes to the test bed's, or to `jetkube up`'s)."""
    from cli.testbed import up_cmd
    from cli.up import run_up, up

    assert _option_default(up, "sync_interval") == "always"
    assert _option_default(run_up, "sync_interval") == "always"
    assert _option_default(up_cmd, "sync_interval") == "always"
    root = Path(__file__).resolve().parents[3]
    for compose in ("compose.yaml", "compose.node-engines.yaml"):
        text = (root / compose).read_text()
        assert text.count("SYNC_INTERVAL: '\"${JETKUBE_SYNC_INTERVAL:-always}\"'") == 3, compose
    assert "sync_interval: $SYNC_INTERVAL" in (root / "images/testbed/nats.conf").read_text()

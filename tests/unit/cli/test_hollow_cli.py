"""``jetkube hollow-nodes --credentials``: bad input is one clear line and starts nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.hollow import _server_with_credentials
from cli.main import app
from cli.serving import DEFAULT_SERVER


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["hollow-nodes", *args])
    return result.exit_code, result.output


def test_store_heartbeats_with_credentials_are_refused(tmp_path: Path) -> None:
    creds = tmp_path / "c.json"
    creds.write_text(json.dumps({"server": "nats://127.0.0.1:1", "user": "hollow-nodes", "password": "p"}))
    code, out = run("--credentials", str(creds), "--heartbeat-via", "store")
    assert code == 2 and "with --credentials use --heartbeat-via api" in out


def test_a_bad_credentials_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, out = run("--credentials", str(bad))
    assert code == 2 and f"--credentials {bad}: " in out and "user and password" in out
    code, out = run("--credentials", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in out


def test_the_files_server_is_used_unless_server_is_given(tmp_path: Path) -> None:
    creds = tmp_path / "c.json"
    creds.write_text(
        json.dumps({"server": "nats://10.0.0.5:4222", "user": "hollow-nodes", "password": "p w"})
    )
    assert _server_with_credentials(DEFAULT_SERVER, str(creds)) == "nats://hollow-nodes:p%20w@10.0.0.5:4222"
    assert _server_with_credentials("nats://h:1", str(creds)) == "nats://hollow-nodes:p%20w@h:1"

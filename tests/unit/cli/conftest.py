from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli import context
from tests.unit.cli.fakeapi import FakeApi, connector_for


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    api = FakeApi()
    monkeypatch.setattr(context, "connector", connector_for(api))
    yield api


@pytest.fixture
def cli(fake_api: FakeApi):
    from cli.main import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return invoke

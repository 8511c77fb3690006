"""A lost compare-and-set is a Conflict whichever way JetStream words it (single server or R3)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bus.pipeline import AckPipeline, WrongLastSequence
from schemas.errors import InternalError


def ack(body: dict) -> SimpleNamespace:
    return SimpleNamespace(headers=None, data=json.dumps(body).encode())


@pytest.mark.parametrize(
    "error",
    [
        {"code": 400, "err_code": 10071, "description": "wrong last sequence: 41"},  # one server
        {"code": 400, "err_code": 10164, "description": "wrong last sequence"},  # an R3 stream
    ],
)
def test_both_forms_are_a_lost_compare_and_set(error: dict) -> None:
    with pytest.raises(WrongLastSequence):
        AckPipeline(None).parse(ack({"error": error}))


def test_other_errors_stay_internal() -> None:
    with pytest.raises(InternalError):
        AckPipeline(None).parse(
            ack({"error": {"code": 500, "err_code": 10077, "description": "stream full"}})
        )
    assert AckPipeline(None).parse(ack({"stream": "KV_jetkube", "seq": 7})) == 7

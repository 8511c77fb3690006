"""The store reads a delivery's sequences from its reply subject as nats-py's Msg.metadata does."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from bus.snapshot import sequences

REPLIES = [
    "$JS.ACK.KV_jetkube.ordered-1.1.4711.42.1732900000000000000.7",  # the server's short form
    "$JS.ACK.hub.ACCHASH.KV_jetkube.ordered-1.1.4711.42.1732900000000000000.0.tok",  # domain, account
    "$JS.ACK.hub.ACCHASH.KV_jetkube.ordered-1.3.9.8.1732900000000000000.123",  # without the token
]


@pytest.mark.parametrize("reply", REPLIES)
def test_sequences_agree_with_nats_py_metadata(reply: str) -> None:
    msg = Msg(None, subject="$KV.jetkube.pods.default.a", reply=reply)  # type: ignore[arg-type]
    meta = msg.metadata
    assert sequences(msg) == (meta.sequence.stream, meta.sequence.consumer, meta.num_pending)


def test_a_message_that_is_not_a_jetstream_delivery_is_refused_as_nats_py_refuses_it() -> None:
    from nats.errors import NotJSMessageError

    with pytest.raises(NotJSMessageError):
        sequences(Msg(None, subject="x", reply="_INBOX.abc"))  # type: ignore[arg-type]

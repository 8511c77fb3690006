"""The wire and storage format: msgpack of an object's API form (camelCase dicts, as in YAML).

Every value in the state bucket, every api request and reply and every event is msgpack. It is
compact, fast in both directions, and any NATS client in any language can read it. Strings are
UTF-8 (``raw=False``); bytes stay bytes (``use_bin_type=True``).
"""

from __future__ import annotations

from typing import Any

import msgpack

from schemas.errors import BadRequest


def encode(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def decode(data: bytes) -> Any:
    """Decode msgpack; malformed bytes are a BadRequest, never an unhandled exception."""
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as err:
        raise BadRequest(f"the payload is not valid msgpack: {err}") from err
    except UnicodeDecodeError as err:
        raise BadRequest(f"the payload holds invalid UTF-8: {err}") from err

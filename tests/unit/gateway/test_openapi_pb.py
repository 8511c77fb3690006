"""The gnostic protobuf encoding of OpenAPI v2 (actors/gateway/openapi_pb.py) against byte strings
worked out by hand from OpenAPIv2.proto (kubectl reading the whole document is
tests/integration/gateway/test_kubectl_list.py)."""

from __future__ import annotations

from actors.gateway.openapi_pb import document, schema

STRING = b"\xb2\x01\x08\x0a\x06string"  # Schema{type (22): TypeItem{value (1): "string"}}


def test_a_typed_schema_with_a_property() -> None:
    named = b"\x0a\x01a" + b"\x12\x0b" + STRING  # NamedSchema{name: "a", value: Schema}
    properties = (
        b"\xca\x01\x12" + b"\x0a\x10" + named
    )  # properties (25): Properties{additional_properties (1)}
    assert schema({"type": "string"}) == STRING
    assert schema({"type": "object", "properties": {"a": {"type": "string"}}}) == (
        b"\xb2\x01\x08\x0a\x06object" + properties
    )


def test_a_single_ref_allof_is_the_ref_and_extensions_are_yaml() -> None:
    got = schema({"allOf": [{"$ref": "#/definitions/X"}], "x-kubernetes-list-type": "map"})
    ref = b"\x0a\x0f#/definitions/X"  # _ref (1)
    any_ = b'\x12\x05"map"'  # Any{yaml (2): JSON, which is YAML}
    named = b"\x0a\x16x-kubernetes-list-type" + b"\x12\x07" + any_  # NamedAny
    assert got == ref + b"\xfa\x01\x21" + named  # vendor_extension (31)


def test_additional_properties_boolean_and_schema() -> None:
    assert schema({"additionalProperties": False}) == b"\xaa\x01\x02\x10\x00"  # (21) {boolean (2): false}
    assert schema({"additionalProperties": {"type": "string"}}) == b"\xaa\x01\x0d\x0a\x0b" + STRING


def test_a_document_names_its_version_info_and_definitions() -> None:
    got = document(
        {"swagger": "2.0", "info": {"title": "K", "version": "v1"}, "paths": {}, "definitions": {"D": {}}}
    )
    assert got == (
        b"\x0a\x032.0"  # swagger (1)
        + b"\x12\x07\x0a\x01K\x12\x02v1"  # info (2): title, version
        + b"\x42\x00"  # paths (8), none
        + b"\x4a\x07\x0a\x05\x0a\x01D\x12\x00"  # definitions (9): NamedSchema{"D", {}}
    )

"""normalize's ``field_validation``: Kubernetes' Strict, Warn and Ignore for unknown fields."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.decode import check_field_validation, normalize
from schemas.errors import BadRequest, Invalid


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"foo": 1, "containers": [{"name": "c", "image": "busybox", "bar": 2}]},
        "baz": 3,
    }


def test_strict_is_kubernetes_strict_decoding_error_naming_every_unknown_field() -> None:
    with pytest.raises(BadRequest) as err:
        normalize(pod(), field_validation="Strict")
    message = str(err.value)
    assert message.startswith('Pod in version "v1" cannot be handled as a Pod: strict decoding error: ')
    for path in ("spec.foo", "spec.containers[0].bar", "baz"):
        assert f'unknown field "{path}"' in message


def test_an_older_version_is_named_as_sent() -> None:
    doc = {
        "apiVersion": "extensions/v1beta1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "foo": 1,
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        },
    }
    with pytest.raises(BadRequest, match='Deployment in version "v1beta1" cannot be handled'):
        normalize(doc, field_validation="Strict")


def test_warn_and_ignore_drop_the_fields_and_keep_the_rest() -> None:
    said: list[str] = []
    obj = normalize(pod(), field_validation="Warn", warnings=said)
    assert sorted(said) == sorted(
        ['unknown field "spec.foo"', 'unknown field "spec.containers[0].bar"', 'unknown field "baz"']
    )
    assert "foo" not in obj["spec"] and "bar" not in obj["spec"]["containers"][0] and "baz" not in obj
    assert obj["spec"]["containers"][0]["image"] == "busybox"
    quiet: list[str] = []
    assert normalize(pod(), field_validation="Ignore", warnings=quiet) == obj and quiet == []


def test_other_errors_stay_errors_whatever_the_mode_and_the_default_is_unchanged() -> None:
    bad = pod()
    bad["spec"]["containers"][0]["image"] = ""
    for mode in ("Warn", "Ignore"):
        with pytest.raises(Invalid, match="image"):
            normalize(bad, field_validation=mode)
    with pytest.raises(Invalid, match=r'unknown field "spec\.foo"'):
        normalize(pod())  # no mode: the unknown fields are causes of a 422


def test_the_mode_is_one_of_three() -> None:
    assert check_field_validation(None) is None and check_field_validation("Warn") == "Warn"
    with pytest.raises(BadRequest, match='fieldValidation: Unsupported value: "strict"'):
        check_field_validation("strict")

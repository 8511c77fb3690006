"""The ingress routing table as tables: ingresses in, backend out for (host, path)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.ingress.routes import (
    Backend,
    NoUpstream,
    compile_routes,
    normal_host,
    prefix_matches,
    upstreams,
)


def path(p: str, svc: str, ptype: str = "Prefix", port: int | str = 80) -> dict[str, Any]:
    key = "name" if isinstance(port, str) else "number"
    return {"path": p, "pathType": ptype, "backend": {"service": {"name": svc, "port": {key: port}}}}


def ing(
    name: str,
    rules: list[dict[str, Any]],
    default: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
    cls: str | None = None,
    **meta: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules}
    if cls:
        spec["ingressClassName"] = cls
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": created, **meta},
        "spec": spec,
    }


def rule(host: str | None, *paths: dict[str, Any]) -> dict[str, Any]:
    r: dict[str, Any] = {"http": {"paths": list(paths)}}
    if host:
        r["host"] = host
    return r


TABLE = compile_routes(
    [
        ing(
            "main",
            [
                rule(
                    "a.example.com",
                    path("/", "root"),
                    path("/foo", "foo"),
                    path("/foo/bar", "foobar"),
                    path("/foo", "foo-exact", "Exact"),
                    path("/docs/", "docs"),
                    path("/impl", "impl", "ImplementationSpecific"),
                ),
                rule("*.example.com", path("/", "wild")),
                rule(None, path("/any", "any")),
            ],
            default="fallback",
        ),
        ing(
            "newer",
            [rule("a.example.com", path("/foo", "newer-foo"))],
            default="newer-fallback",
            created="2026-02-01T00:00:00Z",
        ),
        ing("other-class", [rule("z.other.org", path("/", "z"))], cls="nginx"),
    ]
)


@pytest.mark.parametrize(
    ("host", "request_path", "service"),
    [
        ("a.example.com", "/", "root"),
        ("a.example.com", "/foo", "foo-exact"),  # Exact beats Prefix
        ("a.example.com", "/foo/", "foo"),  # Prefix matches the element with a trailing slash
        ("a.example.com", "/foo/baz", "foo"),
        ("a.example.com", "/foo/bar/baz", "foobar"),  # the longest Prefix wins
        ("a.example.com", "/foobar", "root"),  # /foo is not a prefix of /foobar by elements
        ("a.example.com", "/docs", "docs"),  # a rule's trailing slash is ignored
        ("a.example.com", "/impl/x", "impl"),  # ImplementationSpecific as Prefix
        ("A.Example.COM:8080", "/foo/baz?q=1", "foo"),  # host case and port, query ignored
        ("b.example.com", "/anything", "wild"),  # one-label wildcard
        ("c.b.example.com", "/any", "any"),  # two labels: not the wildcard; hostless rules
        ("example.com", "/any/thing", "any"),
        ("example.com", "/nothing", "fallback"),  # no rule: the oldest default backend
        ("z.other.org", "/", "fallback"),  # another controller's class: not served
    ],
)
def test_match(host: str, request_path: str, service: str) -> None:
    backend = TABLE.match(host, request_path)
    assert backend is not None and backend.service == service


def test_the_older_ingress_wins_a_conflict_and_owns_the_default() -> None:
    assert TABLE.match("a.example.com", "/foo/x") == Backend("default", "foo", 80, "default/main")
    assert TABLE.default is not None and TABLE.default.service == "fallback"


def test_no_rule_and_no_default_is_none() -> None:
    table = compile_routes([ing("x", [rule("a.example.com", path("/api", "api", "Exact"))])])
    assert table.match("a.example.com", "/api/") is None
    assert table.match("b.example.com", "/api") is None
    assert table.match("a.example.com", "/api").service == "api"  # type: ignore[union-attr]


def test_classes() -> None:
    mine = ing("mine", [rule(None, path("/", "m"))], cls="custom")
    assert compile_routes([mine]).match("h", "/") is None
    assert compile_routes([mine], {"custom": "jetkube.io/ingress"}).match("h", "/").service == "m"  # type: ignore[union-attr]
    legacy = ing("old", [rule(None, path("/", "o"))], annotations={"kubernetes.io/ingress.class": "jetkube"})
    assert compile_routes([legacy]).match("h", "/").service == "o"  # type: ignore[union-attr]


def test_resource_backends_are_skipped_with_a_reason() -> None:
    bad = ing(
        "res",
        [
            rule(
                None, {"path": "/", "pathType": "Prefix", "backend": {"resource": {"kind": "X", "name": "y"}}}
            )
        ],
    )
    table = compile_routes([bad])
    assert table.match("h", "/") is None
    assert table.skipped == ["default/res: spec.rules[0].http.paths[0] is not a service backend"]


@pytest.mark.parametrize(
    ("prefix", "request_path", "ok"),
    [
        ("/", "/x", True),
        ("/aaa/bbb", "/aaa/bbb", True),
        ("/aaa/bbb", "/aaa/bbb/ccc", True),
        ("/aaa/bbb", "/aaa/bbbxyz", False),
        ("/aaa", "/aa", False),
    ],
)
def test_prefix_by_elements(prefix: str, request_path: str, ok: bool) -> None:
    assert prefix_matches(prefix, request_path) is ok


def test_normal_host() -> None:
    assert normal_host("Foo.COM:80") == "foo.com"
    assert normal_host("[::1]:8080") == "[::1]"
    assert normal_host("") == ""


SERVICE = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}, {"name": "admin", "port": 81}]},
}
ENDPOINTS = {
    "subsets": [
        {
            "addresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}],
            "notReadyAddresses": [{"ip": "10.0.0.9"}],
            "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
        }
    ]
}


def test_upstreams_map_the_service_port_to_ready_endpoints() -> None:
    assert upstreams(Backend("default", "web", 80), SERVICE, ENDPOINTS) == [
        ("10.0.0.1", 8080),
        ("10.0.0.2", 8080),
    ]
    assert upstreams(Backend("default", "web", "admin"), SERVICE, ENDPOINTS) == [
        ("10.0.0.1", 9090),
        ("10.0.0.2", 9090),
    ]


def test_no_upstream_reasons() -> None:
    b = Backend("default", "web", 80)
    assert upstreams(b, None, None) == NoUpstream('service "default/web" not found')
    assert upstreams(Backend("default", "web", 99), SERVICE, ENDPOINTS) == NoUpstream(
        'service "default/web" has no TCP port 99'
    )
    assert upstreams(
        b,
        SERVICE,
        {"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"name": "http", "port": 1}]}]},
    ) == NoUpstream('service "default/web" has no ready endpoints')
    single = {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    assert upstreams(
        b, single, {"subsets": [{"addresses": [{"ip": "10.0.0.3"}], "ports": [{"port": 8080}]}]}
    ) == [("10.0.0.3", 8080)]

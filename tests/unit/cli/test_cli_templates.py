"""go-template and jsonpath as tables."""

from __future__ import annotations

import pytest

from cli import gotemplate, jsonpath
from cli.gotemplate import TemplateError

POD = {
    "metadata": {"name": "p", "labels": {"app": "web", "app.kubernetes.io/name": "x"}},
    "status": {
        "containerStatuses": [
            {"name": "a", "restartCount": 2, "lastState": {"terminated": {"message": "bye"}}},
            {"name": "b", "restartCount": 0, "lastState": {}},
        ],
        "conditions": [{"type": "Ready", "status": "True"}],
    },
}

GO = [
    ("seed", "{{range .status.containerStatuses}}{{.lastState.terminated.message}}{{end}}", "bye"),
    ("field", "{{.metadata.name}}", "p"),
    ("missing key", "{{.metadata.nope}}", "<no value>"),
    ("range vars", "{{range $i, $c := .status.containerStatuses}}{{$i}}:{{$c.name}} {{end}}", "0:a 1:b "),
    (
        "range map",
        "{{range $k, $v := .metadata.labels}}{{$k}}={{$v}};{{end}}",
        "app=web;app.kubernetes.io/name=x;",
    ),
    ("range else", "{{range .spec}}x{{else}}empty{{end}}", "empty"),
    ("if else", "{{if .metadata.labels}}yes{{else}}no{{end}}", "yes"),
    ("else if", '{{if eq .metadata.name "q"}}q{{else if eq .metadata.name "p"}}P{{else}}-{{end}}', "P"),
    ("len", "{{len .status.containerStatuses}}", "2"),
    ("index", '{{index .metadata.labels "app.kubernetes.io/name"}}', "x"),
    ("index list", "{{(index .status.containerStatuses 1).name}}", "b"),
    ("printf", '{{printf "%s has %d" .metadata.name (len .status.containerStatuses)}}', "p has 2"),
    ("pipeline", '{{.metadata.name | printf "<%s>"}}', "<p>"),
    ("with", "{{with .status}}{{len .conditions}}{{end}}", "1"),
    ("trim", "a  {{- .metadata.name -}}  b", "apb"),
    ("comment", "{{/* hi */}}ok", "ok"),
    ("variable", "{{$n := .metadata.name}}{{$n}}{{$n}}", "pp"),
    ("and or not", "{{and 1 0}}{{or 0 2}}{{not false}}", "02true"),
    ("map print", "{{.status.conditions}}", "[map[status:True type:Ready]]"),
]


@pytest.mark.parametrize(("name", "template", "out"), GO, ids=[g[0] for g in GO])
def test_gotemplate(name, template, out):
    assert gotemplate.render(template, POD) == out


@pytest.mark.parametrize(
    "template",
    ["{{range .x}}", "{{end}}", "{{nofunc 1}}", "{{.metadata.name.x.y}}{{.status.containerStatuses.name}}"],
)
def test_gotemplate_errors(template):
    with pytest.raises(TemplateError):
        gotemplate.render(template, POD)


JP = [
    ("field", "{.metadata.name}", "p"),
    ("list", "{.status.containerStatuses[*].name}", "a b"),
    ("range", '{range .status.containerStatuses[*]}{.name}={.restartCount}{"\\n"}{end}', "a=2\nb=0\n"),
    ("filter", '{.status.conditions[?(@.type=="Ready")].status}', "True"),
    ("escaped dot", "{.metadata.labels.app\\.kubernetes\\.io/name}", "x"),
    ("map as json", "{.status.conditions[0]}", '{"type":"Ready","status":"True"}'),
    ("text around", "name={.metadata.name};", "name=p;"),
    ("missing", "{.metadata.nope}", ""),
    ("recursive", "{..message}", "bye"),
]


@pytest.mark.parametrize(("name", "template", "out"), JP, ids=[j[0] for j in JP])
def test_jsonpath(name, template, out):
    assert jsonpath.render(template, POD) == out

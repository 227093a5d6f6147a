"""controllers.reconcilers.ingress.domain and .gotemplate: upstream ``domain_test.go``
(GenerateDomainName, GenerateInternalDomainName, GetAdditionalHosts) plus the Go
``text/template`` behaviours the domain template relies on."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta

from apis.serving.v1beta1.configmap import (
    DEFAULT_DOMAIN_TEMPLATE,
    DEFAULT_INGRESS_DOMAIN,
    IngressConfig,
)
from apis.serving.v1beta1.inference_service import InferenceService
from controllers.reconcilers.ingress.domain import (
    IngressError,
    filter_keys,
    generate_domain_name,
    generate_internal_domain_name,
    get_additional_hosts,
    get_host_prefix,
    is_dns1123_subdomain,
    predictor_service_name,
    service_hostname,
)
from controllers.reconcilers.ingress.gotemplate import GoStruct, GoTemplateError, render

OBJ = ObjectMeta(
    name="model",
    namespace="test",
    annotations={"annotation": "annotation-value"},
    labels={"label": "label-value"},
)

# (case, template, want | None for an error, error fragment)
DOMAIN_CASES: list[tuple[str, str, str | None, str]] = [
    ("default domain template", DEFAULT_DOMAIN_TEMPLATE, "model-test.example.com", ""),
    (
        "template with dot",
        "{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}",
        "model.test.example.com",
        "",
    ),
    (
        "template with annotation",
        "{{ .Name }}.{{ .Namespace }}.{{ .Annotations.annotation }}.{{ .IngressDomain }}",
        "model.test.annotation-value.example.com",
        "",
    ),
    (
        "template with label",
        "{{ .Name }}.{{ .Namespace }}.{{ .Labels.label }}.{{ .IngressDomain }}",
        "model.test.label-value.example.com",
        "",
    ),
    (
        "unknown variable",
        "{{ .ModelName }}.{{ .Namespace }}.{{ .IngressDomain }}",
        None,
        'error rendering the domain template: template: domain-template:1:3: executing '
        '"domain-template" at <.ModelName>: can\'t evaluate field ModelName in type '
        "ingress.DomainTemplateValues",
    ),
    (
        "invalid domain name",
        "{{ .Name }}_{{ .Namespace }}_{{ .IngressDomain }}",
        None,
        'invalid domain name "model_test_example.com": url: Invalid value: '
        '"model_test_example.com": a lowercase RFC 1123 subdomain must consist of',
    ),
]


@pytest.mark.parametrize(("case", "template", "want", "err"), DOMAIN_CASES,
                         ids=[c[0] for c in DOMAIN_CASES])
def test_generate_domain_name(case: str, template: str, want: str | None, err: str) -> None:
    cfg = IngressConfig.model_validate(
        {"ingressDomain": DEFAULT_INGRESS_DOMAIN, "domainTemplate": template}
    )
    if want is None:
        with pytest.raises(IngressError) as e:
            generate_domain_name("model", OBJ, cfg)
        assert str(e.value).startswith(err)
    else:
        assert generate_domain_name("model", OBJ, cfg) == want


INTERNAL_WANT = {
    "default domain template": "model-test.cluster.local",
    "template with dot": "model.test.cluster.local",
    "template with annotation": "model.test.annotation-value.cluster.local",
    "template with label": "model.test.label-value.cluster.local",
}


@pytest.mark.parametrize(("case", "template", "want", "err"), DOMAIN_CASES,
                         ids=[c[0] for c in DOMAIN_CASES])
def test_generate_internal_domain_name(
    case: str, template: str, want: str | None, err: str
) -> None:
    cfg = IngressConfig.model_validate(
        {"ingressDomain": "should-not-be-used", "domainTemplate": template}
    )
    if want is None:
        with pytest.raises(IngressError):
            generate_internal_domain_name("model", OBJ, cfg)
    else:
        assert generate_internal_domain_name("model", OBJ, cfg) == INTERNAL_WANT[case]


@pytest.mark.parametrize(
    ("template", "err"),
    [
        ("", "invalid domain name \"\": url: Required value"),
        ("{{ .Name }}", 'invalid domain name "model": url: Invalid value: "model": should be a '
         "domain with at least two segments separated by dots"),
        ("{{ .Name }}.{{ .Labels.missing }}.com",
         'invalid domain name "model.<no value>.com"'),
        ("{{ .Name }}.{{ .Namespace", "template: domain-template:1: unclosed action"),
        ("{{ .Name }}.-x-.com", 'url: Invalid value: "model.-x-.com": a lowercase RFC 1123 '
         "subdomain"),
        ("{{ .Name }}.{{ printf \"%s\" \"a\" | len }}.com", ""),  # renders "model.1.com"
    ],
)
def test_generate_domain_name_errors(template: str, err: str) -> None:
    cfg = IngressConfig.model_validate({"ingressDomain": "example.com", "domainTemplate": template})
    if not err:
        assert generate_domain_name("model", OBJ, cfg) == "model.1.com"
        return
    with pytest.raises(IngressError) as e:
        generate_domain_name("model", OBJ, cfg)
    assert err in str(e.value)


def test_generate_domain_name_trailing_dot_and_nil_maps() -> None:
    cfg = IngressConfig.model_validate(
        {"ingressDomain": "example.com.", "domainTemplate": DEFAULT_DOMAIN_TEMPLATE}
    )
    # a trailing dot is a fully qualified name; the host is kept as rendered
    meta = ObjectMeta(name="m", namespace="ns")
    assert generate_domain_name("m", meta, cfg) == "m-ns.example.com."
    cfg = IngressConfig.model_validate(
        {
            "ingressDomain": "example.com",
            "domainTemplate": '{{ index .Labels "x" }}{{ .Name }}.{{ .IngressDomain }}',
        }
    )
    assert generate_domain_name("m", meta, cfg) == "m.example.com"


ADDITIONAL_CASES: list[tuple[str, list[str] | None, list[str] | None, list[str]]] = [
    ("nil domain list", None, ["secondary.com"], []),
    ("empty domain list", [], ["secondary.com"], []),
    ("nil additional domains", ["example.com"], None, []),
    ("empty additional domains", ["example.com"], [], []),
    ("no matching domain", ["other.com"], ["secondary.com"], []),
    ("single additional domain", ["example.com"], ["secondary.com"],
     ["model-test.secondary.com"]),
    ("multiple additional domains", ["example.com"], ["secondary.com", "tertiary.com"],
     ["model-test.secondary.com", "model-test.tertiary.com"]),
    ("duplicate additional domains", ["example.com"],
     ["secondary.com", "secondary.com", "tertiary.com"],
     ["model-test.secondary.com", "model-test.tertiary.com"]),
    ("invalid domain name", ["example.com"], ["invalid_domain", "secondary.com"],
     ["model-test.secondary.com"]),
    ("multiple domains in domain list", ["example.org", "example.com", "example.net"],
     ["secondary.com", "tertiary.com"], ["model-test.secondary.com", "model-test.tertiary.com"]),
]


@pytest.mark.parametrize(("case", "domains", "additional", "want"), ADDITIONAL_CASES,
                         ids=[c[0] for c in ADDITIONAL_CASES])
def test_get_additional_hosts(
    case: str, domains: list[str] | None, additional: list[str] | None, want: list[str]
) -> None:
    cfg = IngressConfig.model_validate({"additionalIngressDomains": additional})
    assert get_additional_hosts(domains, "model-test.example.com", cfg) == want


def _isvc(spec: dict[str, Any]) -> InferenceService:
    return InferenceService.model_validate(
        {"metadata": {"name": "m", "namespace": "ns"}, "spec": spec}
    )


@pytest.mark.parametrize(
    ("spec", "disable", "want"),
    [
        ({"predictor": {}}, False, "m"),
        ({"predictor": {}}, True, "m-predictor"),
        ({"predictor": {"name": "v2"}}, True, "m-v2-predictor"),
        ({"predictor": {}, "transformer": {}}, True, "m-transformer"),
        ({"predictor": {}, "transformer": {}}, False, "m"),
    ],
)
def test_get_host_prefix(spec: dict[str, Any], disable: bool, want: str) -> None:
    assert get_host_prefix(_isvc(spec), disable) == want


def test_names_and_filters() -> None:
    assert predictor_service_name("m") == "m-predictor"
    assert predictor_service_name("m", "") == "m-predictor"
    assert predictor_service_name("m", "v2") == "m-v2-predictor"
    assert service_hostname("m-predictor", "ns") == "m-predictor.ns.svc.cluster.local"
    assert filter_keys({"a": "1", "b": "2"}, ["b"]) == {"a": "1"}
    assert filter_keys({"a": "1"}, None) == {"a": "1"}
    assert filter_keys(None, ["a"]) == {}
    assert is_dns1123_subdomain("a.b-c.d")
    assert not is_dns1123_subdomain("a_b.c")
    assert not is_dns1123_subdomain("x" * 254)


# ---------------------------------------------------------------------------------------------
# the Go text/template subset
# ---------------------------------------------------------------------------------------------

DATA = GoStruct(
    "ingress.DomainTemplateValues",
    {
        "Name": "model",
        "Namespace": "test",
        "IngressDomain": "example.com",
        "Annotations": {"a": "x", "my-key": "v"},
        "Labels": {},
    },
)

TEMPLATE_CASES: list[tuple[str, str]] = [
    ("{{.Name}}-{{.Namespace}}", "model-test"),
    ("{{ .Annotations.a }}", "x"),
    ("{{ .Annotations.nope }}", "<no value>"),
    ("{{ .Labels.nope }}", "<no value>"),  # a nil/empty map too
    ('{{ index .Annotations "my-key" }}', "v"),
    ('{{ index .Annotations "nope" }}', ""),
    ("{{ $.Name }}", "model"),
    ("a {{- .Name -}} b", "amodelb"),
    ("a {{- /* comment */ -}} b", "ab"),
    ("a{{/* c */}}b", "ab"),
    ("{{ if .Labels }}L{{ else }}noL{{ end }}", "noL"),
    ('{{ if eq .Name "x" }}1{{ else if eq .Name "model" }}2{{ else }}3{{ end }}', "2"),
    ('{{ with .Annotations.a }}[{{ . }}]{{ end }}', "[x]"),
    ('{{ .Name | printf "%s-%s" .Namespace }}', "test-model"),
    ('{{ printf "%d|%q|%%" 3 "q" }}', '3|"q"|%'),
    ("{{ len .Annotations }}", "2"),
    ('{{ and .Name "" }}|{{ or "" .Name }}|{{ not .Labels }}', "|model|true"),
    ('{{ "a}}b" }}', "a}}b"),
    ("{{ `raw` }}", "raw"),
    ('{{ print "a" 1 2 "b" }}', "a1 2b"),
    ("plain }} text", "plain }} text"),
]


@pytest.mark.parametrize(("template", "want"), TEMPLATE_CASES)
def test_template_renders_like_go(template: str, want: str) -> None:
    assert render("t", template, DATA) == want


TEMPLATE_ERRORS: list[tuple[str, str]] = [
    ("{{ .Nope }}", 'template: t:1:3: executing "t" at <.Nope>: can\'t evaluate field Nope in '
     "type ingress.DomainTemplateValues"),
    ("x\n {{ .Name.x }}", 'template: t:2:4: executing "t" at <.Name.x>: can\'t evaluate field x '
     "in type string"),
    ("{{ index .Annotations 1 }}", 'template: t:1:3: executing "t" at <index .Annotations 1>: '
     "error calling index: value has type int; should be string"),
    ("{{ .Name .Namespace }}", "can't give argument to non-function .Name"),
    ("{{ lower .Name }}", 'template: t:1: function "lower" not defined'),
    ("/{{{ .Name }}", "template: t:1: unrecognized character in action: U+007B '{'"),
    ("{{ .Name", "template: t:1: unclosed action"),
    ("{{}}", "template: t:1: missing value for command"),
    ("{{ if .Name }}x", "template: t:1: unexpected EOF"),
    ("{{ end }}", "template: t:1: unexpected {{end}}"),
    ("{{ range .Labels }}{{ end }}", "{{range}} is not supported"),
    ("{{ $x := .Name }}", "variable declarations are not supported"),
    ("{{ .Annotations.my-key }}", 'bad number syntax: "-k"'),
    ('{{ eq .Name 1 }}', "incompatible types for comparison"),
    ("{{ ( .Name }}", "unclosed left paren"),
]


@pytest.mark.parametrize(("template", "err"), TEMPLATE_ERRORS)
def test_template_errors_like_go(template: str, err: str) -> None:
    with pytest.raises(GoTemplateError) as e:
        render("t", template, DATA)
    assert err in str(e.value)


def test_generate_domain_name_from_dict_meta() -> None:
    cfg = IngressConfig.model_validate(
        {
            "ingressDomain": "example.com",
            "domainTemplate": "{{ .Name }}.{{ .Labels.l }}.{{ .IngressDomain }}",
        }
    )
    meta = {"name": "x", "namespace": "ns", "labels": {"l": "team"}}
    assert generate_domain_name("model", meta, cfg) == "model.team.example.com"

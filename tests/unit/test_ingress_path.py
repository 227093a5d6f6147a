"""controllers.reconcilers.ingress.path: upstream ``path_test.go`` plus the Go
``url.ParseRequestURI`` behaviours upstream's check inherits."""

from __future__ import annotations

from typing import Any

import pytest

from apis.serving.v1beta1.configmap import IngressConfig
from controllers.reconcilers.ingress.domain import IngressError
from controllers.reconcilers.ingress.path import generate_url_path

# (case, config, want | None for an error, error text)
CASES: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("empty path template", {"ingressDomain": "my.domain"}, "", ""),
    ("valid path template", {"pathTemplate": "/path/to/{{ .Namespace }}/{{ .Name }}"},
     "/path/to/user/model", ""),
    (
        "invalid path template (not parsable)",
        {"urlScheme": "https", "ingressDomain": "my.domain",
         "pathTemplate": "/{{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}"},
        None,
        "template: url-template:1: unrecognized character in action: U+007B '{'",
    ),
    (
        "invalid path template (unknown keys)",
        {"urlScheme": "https", "ingressDomain": "my.domain",
         "pathTemplate": "/{{ .Unknownfield }}/serving/{{ .Namespace }}/{{ .Name }}"},
        None,
        'error rendering the url template: template: url-template:1:4: executing "url-template" '
        "at <.Unknownfield>: can't evaluate field Unknownfield in type ingress.PathTemplateValues",
    ),
    (
        "invalid path template (with host)",
        {"urlScheme": "https", "ingressDomain": "my.domain",
         "pathTemplate": "myhost/serving/{{ .Namespace }}/{{ .Name }}"},
        None,
        'invalid url "myhost/serving/user/model": parse "myhost/serving/user/model": invalid URI '
        "for request",
    ),
    (
        "invalid path template (with scheme)",
        {"urlScheme": "https", "ingressDomain": "my.domain",
         "pathTemplate": "http://myhost/serving/{{ .Namespace }}/{{ .Name }}"},
        None,
        'invalid url path "http://myhost/serving/user/model": contains either a scheme or a host',
    ),
    # beyond upstream's table: what ParseRequestURI does to the rendered text
    ("query dropped", {"pathTemplate": "/a/{{ .Name }}?x=1"}, "/a/model", ""),
    ("escapes decoded", {"pathTemplate": "/a%2Fb/{{ .Name }}"}, "/a/b/model", ""),
    ("trailing slash kept", {"pathTemplate": "/serving/{{ .Name }}/"}, "/serving/model/", ""),
    ("double slash is a path", {"pathTemplate": "//h/{{ .Name }}"}, "//h/model", ""),
    ("bad escape", {"pathTemplate": "/a%zz/{{ .Name }}"}, None,
     'invalid url "/a%zz/model": parse "/a%zz/model": invalid URL escape "%zz"'),
    ("IngressDomain is not a path variable",
     {"pathTemplate": "/{{ .IngressDomain }}/{{ .Name }}"}, None,
     "can't evaluate field IngressDomain in type ingress.PathTemplateValues"),
]


@pytest.mark.parametrize(("case", "config", "want", "err"), CASES, ids=[c[0] for c in CASES])
def test_generate_url_path(case: str, config: dict[str, Any], want: str | None, err: str) -> None:
    cfg = IngressConfig.model_validate(config)
    if want is None:
        with pytest.raises(IngressError) as e:
            generate_url_path("model", "user", cfg)
        assert err in str(e.value)
    else:
        assert generate_url_path("model", "user", cfg) == want

"""Path-based routing (upstream ``reconcilers/ingress/path.go``): ``ingress.pathTemplate``
rendered for an InferenceService and checked to be a bare absolute path, as Go's
``url.ParseRequestURI`` plus upstream's "no scheme, no host" rule decide."""

from __future__ import annotations

import re

from apis.serving.v1beta1.configmap import IngressConfig
from apis.serving.validation import go_quote

from .domain import IngressError
from .gotemplate import GoStruct, GoTemplateError, parse

__all__ = ["generate_url_path"]

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HEX = "0123456789abcdefABCDEF"


def _unescape_path(path: str) -> str:
    """``url.unescape(s, encodePath)``: %XX decoded (to UTF-8 text), ``+`` kept. Raises
    ``ValueError`` with Go's message for a bad escape."""
    out = bytearray()
    i = 0
    raw = path.encode()
    while i < len(raw):
        if raw[i] == ord("%"):
            esc = raw[i : i + 3].decode(errors="replace")
            if len(esc) < 3 or esc[1] not in _HEX or esc[2] not in _HEX:
                raise ValueError(f"invalid URL escape {go_quote(esc)}")
            out.append(int(esc[1:], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode(errors="replace")


def _parse_request_uri(raw: str) -> tuple[bool, str]:
    """The parts of Go's ``url.ParseRequestURI`` upstream relies on: whether the URI has a
    scheme or host, and its (unescaped) path. Raises ``ValueError`` with Go's error text."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError(f"parse {go_quote(raw)}: net/url: invalid control character in URL")
    if raw.startswith(":"):
        raise ValueError(f"parse {go_quote(raw)}: missing protocol scheme")
    m = _SCHEME_RE.match(raw)
    if m is not None:
        # scheme://host/... or scheme:opaque: upstream rejects either
        return True, ""
    rest = raw.split("?", 1)[0]  # the query is not part of the path
    if not rest.startswith("/"):
        raise ValueError(f"parse {go_quote(raw)}: invalid URI for request")
    try:
        return False, _unescape_path(rest)
    except ValueError as e:
        raise ValueError(f"parse {go_quote(raw)}: {e}") from None


def generate_url_path(name: str, namespace: str, ingress_config: IngressConfig) -> str:
    """``GenerateUrlPath``: ``ingress.pathTemplate`` rendered with ``Name`` and
    ``Namespace``; ``""`` when no template is configured. The result must be an absolute
    path without scheme or host. Raises :class:`IngressError` with upstream's messages."""
    template = ingress_config.path_template
    if not template:
        return ""
    try:
        tpl = parse("url-template", template)
    except GoTemplateError as e:
        raise IngressError(str(e)) from None
    values = GoStruct("ingress.PathTemplateValues", {"Name": name, "Namespace": namespace})
    try:
        rendered = tpl.execute(values)
    except GoTemplateError as e:
        raise IngressError(f"error rendering the url template: {e}") from None
    try:
        has_scheme_or_host, path = _parse_request_uri(rendered)
    except ValueError as e:
        raise IngressError(f"invalid url {go_quote(rendered)}: {e}") from None
    if has_scheme_or_host:
        raise IngressError(
            f"invalid url path {go_quote(rendered)}: contains either a scheme or a host"
        )
    return path

"""Host names of an InferenceService (upstream ``reconcilers/ingress/domain.go``): the
``ingress.domainTemplate`` rendered per object, the additional-domain variants of a host, and
the small naming helpers every routing kind shares.

Errors are :class:`IngressError` (a ``ValueError``) with upstream's message text, so a bad
template or a host that is not a DNS name surfaces in the same words upstream's controller
logs and events use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apis.serving.v1beta1.configmap import IngressConfig
from apis.serving.v1beta1.inference_service import InferenceService
from apis.serving.validation import go_quote

from .gotemplate import GoStruct, GoTemplateError, parse

__all__ = [
    "CLUSTER_DOMAIN",
    "IngressError",
    "explainer_service_name",
    "filter_keys",
    "generate_domain_name",
    "generate_host",
    "generate_internal_domain_name",
    "get_additional_hosts",
    "get_host_prefix",
    "is_dns1123_subdomain",
    "name_of",
    "namespace_of",
    "predictor_service_name",
    "service_hostname",
    "transformer_service_name",
]

CLUSTER_DOMAIN: Final = "cluster.local"
"""knative ``network.GetClusterDomainName()`` default: the suffix of in-cluster Service host
names (``<svc>.<ns>.svc.cluster.local``)."""


class IngressError(ValueError):
    """A host, path or route that cannot be built from the InferenceService and the
    ``ingress`` config (bad template, invalid DNS name, malformed gateway reference)."""


# ---------------------------------------------------------------------------------------------
# component names (upstream pkg/constants)
# ---------------------------------------------------------------------------------------------


def predictor_service_name(isvc_name: str, predictor_name: str | None = None) -> str:
    """``constants.PredictorServiceName``: ``<isvc>-predictor`` or
    ``<isvc>-<predictor.name>-predictor``."""
    if predictor_name:
        return f"{isvc_name}-{predictor_name}-predictor"
    return f"{isvc_name}-predictor"


def transformer_service_name(isvc_name: str) -> str:
    """``constants.TransformerServiceName``."""
    return f"{isvc_name}-transformer"


def explainer_service_name(isvc_name: str) -> str:
    """``constants.ExplainerServiceName``."""
    return f"{isvc_name}-explainer"


def service_hostname(name: str, namespace: str) -> str:
    """knative ``network.GetServiceHostname``: ``<name>.<ns>.svc.cluster.local``."""
    return f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"


def get_host_prefix(isvc: InferenceService, disable_istio_virtual_host: bool) -> str:
    """``getHostPrefix``: the Service name the Knative-mode address points at (the entry
    component's when the Istio virtual host is disabled, else the InferenceService's)."""
    name = name_of(isvc)
    if disable_istio_virtual_host:
        spec = isvc.spec
        if spec is not None and spec.transformer is not None:
            return transformer_service_name(name)
        return predictor_service_name(name, spec.predictor.name if spec is not None else None)
    return name


# ---------------------------------------------------------------------------------------------
# DNS validation (k8s.io/apimachinery/pkg/util/validation)
# ---------------------------------------------------------------------------------------------

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_FMT}')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN_FMT}')"
)


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if _SUBDOMAIN_RE.fullmatch(value) is None:
        errs.append(_SUBDOMAIN_MSG)
    return errs


def _dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if _LABEL_RE.fullmatch(value) is None:
        errs.append(_LABEL_MSG)
    return errs


def is_dns1123_subdomain(value: str) -> bool:
    """``validation.IsDNS1123Subdomain`` returned no errors."""
    return not _dns1123_subdomain_errors(value)


def _fqdn_error(name: str) -> str | None:
    """``validation.IsFullyQualifiedDomainName(field.NewPath("url"), name)`` as one message."""
    if not name:
        return "url: Required value"
    if name.endswith("."):
        name = name[:-1]
    errs = _dns1123_subdomain_errors(name)
    if errs:
        return f"url: Invalid value: {go_quote(name)}: {','.join(errs)}"
    labels = name.split(".")
    if len(labels) < 2:
        return (
            f"url: Invalid value: {go_quote(name)}: should be a domain with at least two "
            "segments separated by dots"
        )
    for label in labels:
        errs = _dns1123_label_errors(label)
        if errs:
            return f"url: Invalid value: {go_quote(label)}: {','.join(errs)}"
    return None


# ---------------------------------------------------------------------------------------------
# domain template
# ---------------------------------------------------------------------------------------------


def _meta_maps(meta: Any) -> tuple[str, dict[str, str], dict[str, str]]:
    """(namespace, annotations, labels) of an ObjectMeta (object or dict)."""
    if meta is None:
        return "", {}, {}

    def get(key: str) -> Any:
        return meta.get(key) if isinstance(meta, Mapping) else getattr(meta, key, None)

    return get("namespace") or "", dict(get("annotations") or {}), dict(get("labels") or {})


def _render_domain(name: str, meta: Any, ingress_domain: str, template: str) -> str:
    namespace, annotations, labels = _meta_maps(meta)
    values = GoStruct(
        "ingress.DomainTemplateValues",
        {
            "Name": name,
            "Namespace": namespace,
            "IngressDomain": ingress_domain,
            "Annotations": annotations,
            "Labels": labels,
        },
    )
    try:
        tpl = parse("domain-template", template)
    except GoTemplateError as e:
        raise IngressError(str(e)) from None
    try:
        host = tpl.execute(values)
    except GoTemplateError as e:
        raise IngressError(f"error rendering the domain template: {e}") from None
    err = _fqdn_error(host)
    if err is not None:
        raise IngressError(f"invalid domain name {go_quote(host)}: {err}")
    return host


def generate_domain_name(name: str, meta: Any, ingress_config: IngressConfig) -> str:
    """``GenerateDomainName``: ``ingress.domainTemplate`` rendered with ``Name`` = ``name``
    and ``Namespace``/``Annotations``/``Labels`` from ``meta`` (an ObjectMeta, object or dict:
    the InferenceService's, or a component's), ``IngressDomain`` from the config. The result must
    be a fully qualified domain name. Raises :class:`IngressError`."""
    return _render_domain(name, meta, ingress_config.ingress_domain, ingress_config.domain_template)


def generate_host(name: str, meta: Any, ingress_config: IngressConfig, failure: str) -> str:
    """:func:`generate_domain_name`, its :class:`IngressError` prefixed with ``failure`` (each
    upstream caller words it its own way)."""
    try:
        return generate_domain_name(name, meta, ingress_config)
    except IngressError as e:
        raise IngressError(f"{failure}: {e}") from None


def generate_internal_domain_name(name: str, meta: Any, ingress_config: IngressConfig) -> str:
    """``GenerateInternalDomainName``: the same template with the cluster domain
    (``cluster.local``) as ``IngressDomain``."""
    return _render_domain(name, meta, CLUSTER_DOMAIN, ingress_config.domain_template)


def get_additional_hosts(
    domain_list: Sequence[str] | None, service_host: str, ingress_config: IngressConfig
) -> list[str]:
    """``GetAdditionalHosts``: ``service_host`` with its domain (the first of
    ``domain_list`` it ends with) replaced by each ``additionalIngressDomains`` entry, in
    config order, duplicates dropped; a result that is not a DNS subdomain is skipped (upstream
    logs it). Empty when no domain matches or none are configured."""
    subdomain = ""
    for domain in domain_list or ():
        if service_host.endswith(domain):
            subdomain = service_host[: len(service_host) - len(domain)]
            break
    extra = ingress_config.additional_ingress_domains or []
    if not subdomain or not extra:
        return []
    hosts: list[str] = []
    seen: set[str] = set()
    for domain in extra:
        if domain in seen:
            continue
        host = subdomain + domain
        if not is_dns1123_subdomain(host):
            continue  # upstream: "the domain name ... in the additionalIngressDomains is not valid"
        hosts.append(host)
        seen.add(domain)
    return hosts


def filter_keys(
    values: Mapping[str, str] | None, disallowed: Sequence[str] | None
) -> dict[str, str]:
    """``utils.Filter(m, !utils.Includes(disallowed, key))``: ``values`` without the
    disallowed keys (a missing list disallows nothing)."""
    banned = set(disallowed or ())
    return {k: v for k, v in (values or {}).items() if k not in banned}


def name_of(isvc: InferenceService) -> str:
    """``metadata.name`` (required: every name here derives from it)."""
    if isvc.metadata is None or not isvc.metadata.name:
        raise IngressError("InferenceService has no metadata.name")
    return isvc.metadata.name


def namespace_of(isvc: InferenceService) -> str:
    """``metadata.namespace`` (``""`` when unset)."""
    return (isvc.metadata.namespace if isvc.metadata is not None else None) or ""

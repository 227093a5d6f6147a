"""Registered ``CustomResource`` kinds -> ``apiextensions.k8s.io/v1`` CRD documents.

Mirrors controller-gen's ``crd`` generator plus KServe's ``make manifests`` post-processing:

* one CRD per (group, plural); one ``versions[]`` entry per registered class, sorted by name;
* root ``metadata`` forced to ``{type: object}``; ``apiVersion``/``kind`` strings;
* the kind's class docstring becomes the root description; field docstrings the field ones;
  descriptions inside embedded Kubernetes core types are dropped (size, see
  docs/compatibility.md);
* named post-processing transforms per CRD (``POSTPROCESS``), the Python form of KServe's yq;
* ``minimal()``: ``spec``/``status`` replaced by preserve-unknown-fields + map-type atomic
  (``cmd/crd-gen removecrdvalidation``);
* YAML: keys sorted, block style (flow style for collections of scalars only), ``---``
  document start (byte-stable).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import yaml

from runtime.resource import CRD, CustomResource

from .schema import structural_schema

GENERATOR = "kserve-py/codegen"
GENERATOR_VERSION = "v1"

Schema = dict[str, Any]
Transform = Callable[[Schema], None]


# ----------------------------------------------------------------------------------------------
# KServe's yq patches (Makefile ``manifests``), as named transforms on openAPIV3Schema
# ----------------------------------------------------------------------------------------------


def _props(node: Schema | None) -> dict[str, Schema]:
    if not isinstance(node, dict):
        return {}
    props = node.get("properties")
    return props if isinstance(props, dict) else {}


def _spec_components(schema: Schema) -> Iterator[Schema]:
    """``.properties.spec.properties.*`` (predictor, transformer, explainer, canary)."""
    yield from _props(_props(schema).get("spec")).values()


def strip_framework_required(schema: Schema) -> None:
    """``del(...spec.properties.*.properties.*.required)``: framework ``name`` must be optional."""
    for comp in _spec_components(schema):
        for sub in _props(comp).values():
            sub.pop("required", None)


def drop_ephemeral_containers(schema: Schema) -> None:
    """``del(...spec.properties.*.properties.ephemeralContainers)`` (CRD size)."""
    for comp in _spec_components(schema):
        _props(comp).pop("ephemeralContainers", None)


def drop_probe_port_required(schema: Schema) -> None:
    """Knative forbids a probe port: drop ``required`` under readiness/liveness httpGet/tcpSocket
    of framework containers, and under httpGet of ``containers[]`` probes."""
    for comp in _spec_components(schema):
        for sub in _props(comp).values():
            for probe in ("readinessProbe", "livenessProbe"):
                for handler in ("httpGet", "tcpSocket"):
                    _props(_props(sub).get(probe)).get(handler, {}).pop("required", None)
        items = _props(comp).get("containers", {}).get("items")
        for probe in ("readinessProbe", "livenessProbe"):
            _props(_props(items).get(probe)).get("httpGet", {}).pop("required", None)


def default_protocol_tcp(schema: Schema) -> None:
    """Every ``protocol`` property below ``spec`` gets ``default: TCP`` (list-map key rule)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict) and isinstance(props.get("protocol"), dict):
                props["protocol"]["default"] = "TCP"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_props(schema).get("spec"))


POSTPROCESS: dict[str, tuple[Transform, ...]] = {
    "inferenceservices.serving.kserve.io": (
        strip_framework_required,
        drop_ephemeral_containers,
        drop_probe_port_required,
        default_protocol_tcp,
    ),
    "servingruntimes.serving.kserve.io": (default_protocol_tcp,),
    "clusterservingruntimes.serving.kserve.io": (default_protocol_tcp,),
}


# ----------------------------------------------------------------------------------------------
# CRD documents
# ----------------------------------------------------------------------------------------------


def version_schema(kind: type[CustomResource]) -> Schema:
    schema = structural_schema(kind)
    props = schema.setdefault("properties", {})
    props["metadata"] = {"type": "object"}  # controller-gen FixTopLevelMetadata
    schema["type"] = "object"
    for transform in POSTPROCESS.get(kind.__crd__.name, ()):
        transform(schema)
    return schema


def _version_entry(kind: type[CustomResource]) -> Schema:
    info: CRD = kind.__crd__
    entry: Schema = {
        "name": info.version,
        "schema": {"openAPIV3Schema": version_schema(kind)},
        "served": info.served,
        "storage": info.storage,
    }
    if info.printer_columns:
        cols = []
        for c in info.printer_columns:
            col: Schema = {"jsonPath": c.json_path, "name": c.name, "type": c.type}
            if c.description is not None:
                col["description"] = c.description
            if c.format is not None:
                col["format"] = c.format
            if c.priority is not None:
                col["priority"] = c.priority
            cols.append(col)
        entry["additionalPrinterColumns"] = cols
    sub: Schema = {}
    if info.status_subresource:
        sub["status"] = {}
    if info.scale is not None:
        scale: Schema = {
            "specReplicasPath": info.scale.spec_replicas_path,
            "statusReplicasPath": info.scale.status_replicas_path,
        }
        if info.scale.label_selector_path is not None:
            scale["labelSelectorPath"] = info.scale.label_selector_path
        sub["scale"] = scale
    if sub:
        entry["subresources"] = sub
    if info.deprecated:
        entry["deprecated"] = True
        if info.deprecation_warning is not None:
            entry["deprecationWarning"] = info.deprecation_warning
    return entry


def build_crd(kinds: Iterable[type[CustomResource]]) -> Schema:
    """One CRD from all registered versions of one kind."""
    versions = sorted(kinds, key=lambda k: k.__crd__.version)
    if not versions:
        raise ValueError("no versions")
    first = versions[0].__crd__
    for k in versions:
        c = k.__crd__
        if (c.group, c.kind, c.plural, c.scope) != (
            first.group,
            first.kind,
            first.plural,
            first.scope,
        ):
            raise ValueError(f"{k.__qualname__}: versions of {first.name} disagree on names/scope")
    storage = [k for k in versions if k.__crd__.storage]
    if len(versions) > 1 and len(storage) != 1:
        raise ValueError(f"{first.name} needs exactly one storage version, has {len(storage)}")
    names: Schema = {
        "kind": first.kind,
        "listKind": first.list_kind or f"{first.kind}List",
        "plural": first.plural,
        "singular": first.singular or first.kind.lower(),
    }
    if first.short_names:
        names["shortNames"] = list(first.short_names)
    if first.categories:
        names["categories"] = list(first.categories)
    entries = [_version_entry(k) for k in versions]
    if len(versions) == 1:
        entries[0]["storage"] = True
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "annotations": {f"{GENERATOR}-version": GENERATOR_VERSION},
            "name": first.name,
        },
        "spec": {
            "group": first.group,
            "names": names,
            "scope": first.scope,
            "versions": entries,
        },
    }


def minimal(crd: Schema) -> Schema:
    """``config/crd/minimal``: no validation below ``spec``/``status``."""
    out = copy.deepcopy(crd)
    for version in out["spec"]["versions"]:
        props = version["schema"]["openAPIV3Schema"].get("properties", {})
        for key in ("spec", "status"):
            if key in props:
                props[key] = {
                    "type": "object",
                    "x-kubernetes-map-type": "atomic",
                    "x-kubernetes-preserve-unknown-fields": True,
                }
    return out


def build_all(kinds: Iterable[type[CustomResource]]) -> dict[str, Schema]:
    """CRD name -> CRD document, for every kind."""
    groups: dict[str, list[type[CustomResource]]] = {}
    for k in kinds:
        groups.setdefault(k.__crd__.name, []).append(k)
    return {name: build_crd(group) for name, group in sorted(groups.items())}


def file_name(crd: Schema) -> str:
    """``serving.kserve.io_inferenceservices.yaml`` (controller-gen's ``<group>_<plural>``)."""
    spec = crd["spec"]
    return f"{spec['group']}_{spec['names']['plural']}.yaml"


def to_yaml(crd: Schema) -> str:
    """Byte-stable YAML: sorted keys, no line wrapping; block style except for collections of
    scalars only (a leaf property ``{type: string}``, ``required: [name]``), which are written
    in flow style: the InferenceService CRD is 1.7 MB so, 2.2 MB all in block style (the
    indentation of its deep schema), over what the repository keeps in git."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(
        crd,
        Dumper=dumper,
        sort_keys=True,
        default_flow_style=None,
        width=1 << 20,
        allow_unicode=True,
    )
    return "---\n" + text


_STERM = ".!?。"


def truncate_description(text: str, max_len: int) -> str | None:
    """controller-gen's ``crd:maxDescLen``: 0 drops the description; otherwise cut to the last
    sentence end within ``max_len``, else the last whitespace + ``...``."""
    if max_len <= 0:
        return None
    if len(text) <= max_len:
        return text
    head = text[:max_len]
    cut = max(head.rfind(c) for c in _STERM)
    if cut > 0:
        return head[: cut + 1]
    space = head.rfind(" ")
    return (head[:space] if space > 0 else head) + "..."


def limit_descriptions(crd: Schema, max_len: int) -> Schema:
    """A copy of ``crd`` with every schema description truncated (``max_len=0``: removed)."""
    out = copy.deepcopy(crd)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            desc = node.get("description")
            if isinstance(desc, str) and ("type" in node or "properties" in node or len(node) > 1):
                new = truncate_description(desc, max_len)
                if new is None:
                    del node["description"]
                else:
                    node["description"] = new
            for key, value in node.items():
                if key != "description":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for version in out["spec"]["versions"]:
        walk(version["schema"]["openAPIV3Schema"])
    return out

"""The typed-resource base classes: ``KubeModel`` (every nested API type) and
``CustomResource`` (a kind bound to its ``__crd__``), and the registry code generators use to
find kinds (``discover("apis")``)."""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import sys
from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from runtime.resource.coretypes import ObjectMeta, kube_schema
from runtime.resource.crd import CRD
from runtime.resource.markers import JsonDict

__all__ = ["CustomResource", "KubeModel", "discover", "registered"]


_MODULE_DOCS: dict[str, dict[str, dict[str, str]]] = {}


def _docs_in_tree(tree: ast.AST) -> dict[str, dict[str, str]]:
    """``{class qualname: {attribute: docstring}}`` for every class in a parsed module."""
    out: dict[str, dict[str, str]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                qual = prefix + child.name
                docs: dict[str, str] = {}
                for prev, nxt in itertools.pairwise(child.body):
                    if (
                        isinstance(prev, ast.AnnAssign)
                        and isinstance(prev.target, ast.Name)
                        and isinstance(nxt, ast.Expr)
                        and isinstance(nxt.value, ast.Constant)
                        and isinstance(nxt.value.value, str)
                    ):
                        docs[prev.target.id] = inspect.cleandoc(nxt.value.value)
                out[qual] = docs
                visit(child, qual + ".")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{prefix}{child.name}.<locals>.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``{attribute: docstring}``: the string literal right after each annotated attribute in
    ``cls``'s own body (pydantic's ``use_attribute_docstrings``, but parsing each module once
    instead of each class: that was a third of ``import apis`` time)."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path is None:
        return {}
    per_module = _MODULE_DOCS.get(path)
    if per_module is None:
        try:
            with open(path, encoding="utf-8") as f:
                per_module = _docs_in_tree(ast.parse(f.read()))
        except (OSError, SyntaxError, UnicodeDecodeError):
            per_module = {}
        _MODULE_DOCS[path] = per_module
    return per_module.get(cls.__qualname__, {})


class KubeModel(BaseModel):
    """Base of every nested API type: camelCase aliases, docstrings as descriptions."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        arbitrary_types_allowed=True,
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Attribute docstrings become field descriptions (``defer_build``: the schema that
        # carries them is built on first use, after this).
        for name, doc in _attribute_docstrings(cls).items():
            info = cls.model_fields.get(name)
            if info is not None and info.description is None:
                info.description = doc

    __kube_inline__: ClassVar[tuple[str, ...]] = ()
    """Kubernetes definitions inlined into this type (Go ``json:",inline"`` of a core struct, e.g.
    ``corev1.Container`` in KServe's predictor specs). The Python fields are declared on the
    class; their schemas are replaced by the definition's property schemas (list/map markers,
    defaults) so the CRD matches what controller-gen emits for the embedded struct."""

    __schema_required__: ClassVar[tuple[str, ...]] = ()
    """JSON names of fields the CRD schema lists as ``required`` although the Python type
    accepts their absence (the CRD may drop that ``required`` in places, as KServe's yq does,
    and objects the apiserver admitted must always decode)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, cs: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(cs)
        if cls.__schema_required__:
            target = handler.resolve_ref_schema(schema)
            required = set(target.get("required", [])) | set(cls.__schema_required__)
            target["required"] = sorted(required)
        if cls.__kube_inline__:
            target = handler.resolve_ref_schema(schema)
            props: JsonDict = target.get("properties", {})
            for name in cls.__kube_inline__:
                documented = kube_schema(name, keep_descriptions=True).get("properties", {})
                for key, sub in kube_schema(name).get("properties", {}).items():
                    if key in props:
                        # Inlined fields are this type's own fields: keep their top-level
                        # descriptions (``kubectl explain ...sklearn.env``) even when nested
                        # core-type descriptions are dropped.
                        own = props[key].get("description") or documented[key].get("description")
                        props[key] = sub
                        if own is not None:
                            sub["description"] = own
        return schema

    def to_kube(self) -> dict[str, Any]:
        """Plain JSON-ready dict as the apiserver wants it (camelCase, unset/None omitted)."""
        out: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return out


_REGISTRY: list[type[CustomResource]] = []


class CustomResource(KubeModel):
    """A custom resource kind; subclasses declare ``__crd__`` and their ``spec``/``status``."""

    __crd__: ClassVar[CRD]

    api_version: str | None = Field(None, alias="apiVersion")
    """APIVersion defines the versioned schema of this representation of an object."""
    kind: str | None = Field(None, alias="kind")
    """Kind is a string value representing the REST resource this object represents."""
    metadata: ObjectMeta | None = Field(None, alias="metadata")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "__crd__" in cls.__dict__:
            _REGISTRY.append(cls)

    @model_validator(mode="after")
    def _fill_type_meta(self) -> CustomResource:
        crd = getattr(type(self), "__crd__", None)
        if crd is not None:
            if self.api_version is None:
                self.api_version = crd.api_version
            if self.kind is None:
                self.kind = crd.kind
        return self


def registered(package: str | None = None) -> list[type[CustomResource]]:
    """Registered kinds (optionally only those defined below ``package``), sorted. A class
    registered again under the same module and name (a reloaded module) replaces the old one."""
    latest: dict[tuple[str, str], type[CustomResource]] = {}
    for c in _REGISTRY:
        if package is None or c.__module__ == package or c.__module__.startswith(package + "."):
            latest[(c.__module__, c.__qualname__)] = c
    return sorted(
        latest.values(), key=lambda c: (c.__crd__.group, c.__crd__.kind, c.__crd__.version)
    )


def _import_tree(package: str) -> None:
    pkg = importlib.import_module(package)
    paths: Iterable[str] = getattr(pkg, "__path__", [])
    names = sorted(m.name for m in pkgutil.walk_packages(list(paths), prefix=package + "."))
    for name in names:
        if name not in sys.modules:
            importlib.import_module(name)


def discover(package: str) -> list[type[CustomResource]]:
    """Import every module below ``package`` and return the kinds registered there."""
    _import_tree(package)
    return registered(package)

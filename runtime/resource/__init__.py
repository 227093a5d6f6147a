"""Typed custom resources: a Pydantic base bound to group/version/kind, schema markers, and
adapters that embed lightkube core models.

Usage (any project's API types)::

    from typing import Annotated
    from pydantic import Field
    from runtime.resource import (
        CRD, CustomResource, KubeModel, PrinterColumn, Container, Default, Int32, ListType,
    )

    class WidgetSpec(KubeModel):
        replicas: Annotated[Int32 | None, Default(1)] = Field(None, alias="replicas")
        '''How many widgets (this docstring becomes the CRD description).'''
        containers: Annotated[list[Container], ListType("map", "name")] = Field(alias="containers")

    class Widget(CustomResource):
        __crd__ = CRD(group="example.com", version="v1", kind="Widget", plural="widgets",
                      short_names=("wd",), status_subresource=True,
                      printer_columns=(PrinterColumn("Age", "date",
                                                     ".metadata.creationTimestamp"),))
        spec: WidgetSpec | None = Field(None, alias="spec")

Conventions
    * ``KubeModel`` is the base for every nested type: camelCase aliases (write them explicitly),
      attribute docstrings become descriptions, unknown fields ignored (the apiserver prunes them),
      ``model_dump()`` defaults to ``by_alias=True, exclude_none=True`` semantics via ``to_kube()``.
    * ``Optional[X] = None`` is Go's ``omitempty``: optional, no schema default. A CRD ``default``
      is emitted only for an explicit ``Default(value)`` marker, never for a Python default.
    * Markers are ``Annotated`` metadata (``Annotated[list[str], ListType("set"), MinItems(1)]``);
      each one maps to exactly one schema keyword (controller-gen's ``+kubebuilder`` markers).
      ``Items(marker, ...)`` applies markers to a list's ``items``.
      ``Pattern``/``Minimum``/``Maximum``/``*Length``/``*Items``/``Enum`` also validate in Python,
      and ``ListType("set"|"map", ...)`` refuses duplicate entries as the apiserver does.
      Full list: IntOrString, Quantity, Int32, Int64, Time (types); ListType, MapType, Default,
      Enum, Pattern, Minimum, Maximum, ExclusiveMinimum, ExclusiveMaximum, MultipleOf,
      MinLength, MaxLength, MinItems, MaxItems, MinProperties, MaxProperties, Format, Type,
      Nullable, PreserveUnknownFields, EmbeddedResource, Schemaless, XValidation, Items.
      ``typing.Literal[...]`` gives ``enum``; ``dict[str, Any]`` gives preserve-unknown-fields.
    * Core types: ``Container``, ``Volume``, ``PodSpec``... (below) are
      ``Annotated[lightkube_model, K8sType()]``: the value *is* the lightkube msgspec struct
      (validated with ``msgspec.convert``, strict), and the JSON schema is the structural schema
      controller-gen would emit for it, built from kubernetes-validate's offline Kubernetes
      definitions (``KUBE_SCHEMA_VERSION``). Any other lightkube model: ``Annotated[M, K8sType()]``.
      ``K8sType(optional=((core_v1.HTTPGetAction, "port"),))`` accepts values where a required
      field of the core type is absent (when the CRD relaxes it). ``KUBE_DESCRIPTIONS`` (a
      ContextVar) controls whether core-type descriptions are kept in schemas.
    * Go's ``corev1.Container `json:",inline"```: declare the fields on a ``KubeModel`` and set
      ``__kube_inline__ = ("io.k8s.api.core.v1.Container",)``; their schemas then come from the
      Kubernetes definition (list/map markers, defaults).

Modules: ``crd`` (the ``__crd__`` metadata), ``markers`` (schema markers and API scalar
types), ``coretypes`` (lightkube core models inside custom resources), ``model``
(``KubeModel``, ``CustomResource``, the registry). Import from this package.

Registration (how code generators find kinds)
    Every subclass of ``CustomResource`` that defines ``__crd__`` in its own class body is
    recorded in a process-wide registry when the class is created. ``discover("apis")`` imports
    every module below the package ``apis`` (recursively, sorted) and returns the registered
    kinds defined there, sorted by (group, kind, version). So a new kind only has to live in a
    module somewhere under ``apis/``; nothing else needs to list it. Several versions of one kind
    are several classes with the same group/kind/plural; exactly one has ``storage=True``.
"""

from __future__ import annotations

from runtime.resource.coretypes import (
    KUBE_DESCRIPTIONS,
    KUBE_SCHEMA_VERSION,
    Affinity,
    Container,
    ContainerPort,
    EnvFromSource,
    EnvVar,
    HostAlias,
    K8sType,
    LocalObjectReference,
    ObjectMeta,
    PodDNSConfig,
    PodReadinessGate,
    PodResourceClaim,
    PodSchedulingGate,
    PodSecurityContext,
    PodSpec,
    Probe,
    ResourceRequirements,
    SecurityContext,
    Toleration,
    TopologySpreadConstraint,
    Volume,
    VolumeMount,
    kube_definition_name,
    kube_schema,
)
from runtime.resource.crd import CRD, PrinterColumn, ScaleSubresource
from runtime.resource.markers import (
    Default,
    Duration,
    EmbeddedResource,
    Enum,
    ExclusiveMaximum,
    ExclusiveMinimum,
    Format,
    Int32,
    Int64,
    IntOrString,
    Items,
    ListType,
    MapType,
    Marker,
    Maximum,
    MaxItems,
    MaxLength,
    MaxProperties,
    Minimum,
    MinItems,
    MinLength,
    MinProperties,
    MultipleOf,
    Nullable,
    Pattern,
    PreserveUnknownFields,
    Quantity,
    Schemaless,
    Time,
    Type,
    XValidation,
)
from runtime.resource.model import CustomResource, KubeModel, discover, registered

__all__ = [
    "CRD",
    "KUBE_DESCRIPTIONS",
    "KUBE_SCHEMA_VERSION",
    "Affinity",
    "Container",
    "ContainerPort",
    "CustomResource",
    "Default",
    "Duration",
    "EmbeddedResource",
    "Enum",
    "EnvFromSource",
    "EnvVar",
    "ExclusiveMaximum",
    "ExclusiveMinimum",
    "Format",
    "HostAlias",
    "Int32",
    "Int64",
    "IntOrString",
    "Items",
    "K8sType",
    "KubeModel",
    "ListType",
    "LocalObjectReference",
    "MapType",
    "Marker",
    "MaxItems",
    "MaxLength",
    "MaxProperties",
    "Maximum",
    "MinItems",
    "MinLength",
    "MinProperties",
    "Minimum",
    "MultipleOf",
    "Nullable",
    "ObjectMeta",
    "Pattern",
    "PodDNSConfig",
    "PodReadinessGate",
    "PodResourceClaim",
    "PodSchedulingGate",
    "PodSecurityContext",
    "PodSpec",
    "PreserveUnknownFields",
    "PrinterColumn",
    "Probe",
    "Quantity",
    "ResourceRequirements",
    "ScaleSubresource",
    "Schemaless",
    "SecurityContext",
    "Time",
    "Toleration",
    "TopologySpreadConstraint",
    "Type",
    "Volume",
    "VolumeMount",
    "XValidation",
    "discover",
    "kube_definition_name",
    "kube_schema",
    "registered",
]

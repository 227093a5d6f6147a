"""CRD-level metadata of a kind: what ``__crd__`` on a ``CustomResource`` declares
(controller-gen's ``+kubebuilder:resource``, ``+kubebuilder:subresource``,
``+kubebuilder:printcolumn`` and ``+kubebuilder:storageversion`` markers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CRD", "PrinterColumn", "ScaleSubresource"]


@dataclass(frozen=True)
class PrinterColumn:
    """``+kubebuilder:printcolumn``: one ``additionalPrinterColumns`` entry."""

    name: str
    type: str
    json_path: str
    description: str | None = None
    format: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class ScaleSubresource:
    """``+kubebuilder:subresource:scale``."""

    spec_replicas_path: str
    status_replicas_path: str
    label_selector_path: str | None = None


@dataclass(frozen=True)
class CRD:
    """CRD-level metadata of one served version of a kind (``__crd__`` on the root class)."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str | None = None  # default: kind.lower()
    list_kind: str | None = None  # default: kind + "List"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    scope: Literal["Namespaced", "Cluster"] = "Namespaced"
    status_subresource: bool = False
    scale: ScaleSubresource | None = None
    printer_columns: tuple[PrinterColumn, ...] = ()
    storage: bool = True
    served: bool = True
    deprecated: bool = False
    deprecation_warning: str | None = None

    @property
    def name(self) -> str:
        """``<plural>.<group>``, the CRD object's name."""
        return f"{self.plural}.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

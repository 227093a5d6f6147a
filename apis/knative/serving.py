"""The part of a Knative Service's status (``serving.knative.dev/v1`` ``ServiceStatus``) that
KServe reads: ``duckv1.Status``, the configuration fields (latest created/ready revision
names) and the route fields (url, address, traffic). A ksvc's ``status`` validates into it
with ``ServiceStatus.model_validate(obj["status"])``; unknown fields are ignored."""

from __future__ import annotations

from pydantic import Field

from apis.knative.duck import Addressable, DuckStatus, TrafficTarget

__all__ = ["ServiceStatus"]


class ServiceStatus(DuckStatus):
    """``knservingv1.ServiceStatus`` (only what KServe reads)."""

    latest_ready_revision_name: str | None = Field(None, alias="latestReadyRevisionName")
    """Name of the last revision that was ready."""
    latest_created_revision_name: str | None = Field(None, alias="latestCreatedRevisionName")
    """Name of the last revision created from the configuration."""
    url: str | None = Field(None, alias="url")
    """The route's URL."""
    address: Addressable | None = Field(None, alias="address")
    """The route's cluster-local address."""
    traffic: list[TrafficTarget] | None = Field(None, alias="traffic")
    """The traffic split the route serves."""

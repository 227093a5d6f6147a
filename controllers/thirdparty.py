"""Kinds of other projects the controllers write or read, as lightkube generic resources.

They are optional: a cluster may lack the Gateway API, KEDA, the OpenTelemetry operator,
Istio or Knative. Controllers ``owns(..., optional=True)`` them and ask
``mgr.rest_mapper.is_served(kind)`` before writing one (upstream checks CRDs once at start;
here a CRD installed later is picked up without a restart).
"""

from __future__ import annotations

from lightkube.generic_resource import create_namespaced_resource

__all__ = ["HTTPRoute", "KnativeService", "OpenTelemetryCollector", "ScaledObject",
           "VirtualService"]

HTTPRoute = create_namespaced_resource(
    "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"
)
ScaledObject = create_namespaced_resource("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects")
OpenTelemetryCollector = create_namespaced_resource(
    "opentelemetry.io", "v1beta1", "OpenTelemetryCollector", "opentelemetrycollectors"
)
VirtualService = create_namespaced_resource(
    "networking.istio.io", "v1beta1", "VirtualService", "virtualservices"
)
KnativeService = create_namespaced_resource("serving.knative.dev", "v1", "Service", "services")

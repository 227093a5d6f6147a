"""Upstream's Standard-mode vectors with Gateway API routing off (``rawkube_controller_test.go``
"with gateway api disabled"): V12 KEDA ScaledObject, V13 OpenTelemetryCollector, V14
Kubernetes Ingress + HPA; whole objects and status.

KEDA's and the OpenTelemetry operator's CRDs (``tests/data/crds``) are installed for this
module and removed after it, so other tests still see them absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import Service
from lightkube.resources.networking_v1 import Ingress

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import OpenTelemetryCollector, ScaledObject

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    defaulted,
    deployment_available,
    eventually_status,
    eventually_stored,
    get,
    install_crds,
    isvc_manager,
    owner,
    tf_serving_runtime,
    uninstall_crds,
    upstream_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

KEDA_OTEL = ["scaledobjects.keda.sh", "opentelemetrycollectors.opentelemetry.io"]
OTEL_CONFIG = {"scrapeInterval": "5s",
               "metricReceiverEndpoint": "keda-otel-scaler.keda.svc:4317",
               "metricScalerEndpoint": "keda-otel-scaler.keda.svc:4318"}
MEMORY_10GI = {"metrics": [{"type": "Resource", "resource": {
    "name": "memory", "target": {"type": "AverageValue", "averageValue": "10Gi"}}}]}
OTEL_METRICS = {"metrics": [{"type": "PodMetric", "podmetric": {
    "metric": {"backend": "opentelemetry", "metricNames": ["process_cpu_seconds_total"],
               "query": "avg(process_cpu_seconds_total)"},
    "target": {"type": "Value"}}}]}
"""``getDefaultMetrics()`` (its ``NewMetricQuantity("")`` does not parse, so it is nil: no
``value``)."""


@pytest.fixture(scope="module")
def keda_otel(envtest: Any) -> Iterator[None]:
    installed = install_crds(envtest, *KEDA_OTEL)
    yield
    uninstall_crds(envtest, installed)


def gateway_off_config() -> dict[str, str]:
    """The Context's ``configs``: gateway API off, ``opentelemetryCollector`` set."""
    return upstream_config(ingress={"enableGatewayApi": False},
                           opentelemetryCollector=OTEL_CONFIG)


def tf_isvc(name: str, ns: str, annotations: dict[str, str], autoscaling: Any,
            **predictor: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "annotations": annotations},
            "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 3,
                                   "autoScaling": autoscaling, **predictor,
                                   "tensorflow": {"storageUri": x.STORAGE_URI,
                                                  "runtimeVersion": "1.14.0",
                                                  "name": "kserve-container",
                                                  "resources": DEFAULT_RESOURCES}}}}


def ingress(name: str, ns: str, annotations: dict[str, str], backend: str) -> dict[str, Any]:
    """``createRawIngress``: the ISVC's (unfiltered) annotations, no labels, one Prefix ``/``
    rule per host; no ``ingressClassName`` (the test config has none)."""
    def rule(host: str) -> dict[str, Any]:
        return {"host": host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}

    return {"metadata": {"name": name, "namespace": ns, "annotations": annotations,
                         "ownerReferences": owner(name)},
            "spec": {"rules": [rule(f"{name}-{ns}.example.com"),
                               rule(f"{name}-predictor-{ns}.example.com")]}}


async def test_v12_keda_scaled_object(envtest: Any, kube_client: AsyncClient, namespace: str,
                                      keda_otel: None) -> None:
    """V12 "Should have KEDA ScaledObject created": a memory AverageValue trigger, min 1 max
    3, no ``advanced`` (no ``autoscaler`` key in the config); no HPA of ours."""
    ns, name = namespace, "raw-foo-1"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, gateway_off_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, x.isvc_annotations("keda"),
                                                  MEMORY_10GI)))
        await eventually_stored(kube_client, ScaledObject, pred, ns, {
            "metadata": {"name": pred, "namespace": ns,
                         "labels": x.component_labels(pred, name, "predictor"),
                         "annotations": x.predictor_annotations("keda"),
                         "ownerReferences": owner(name)},
            "spec": {"scaleTargetRef": {"name": pred},
                     "triggers": [{"type": "memory", "metadata": {"value": "10Gi"},
                                   "metricType": "AverageValue"}],
                     "minReplicaCount": 1, "maxReplicaCount": 3}})
        await eventually_stored(kube_client, Service, pred, ns, x.service(
            pred, ns, name, "predictor", x.predictor_annotations("keda")))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns, autoscaler="keda"))
        assert await get(kube_client, HorizontalPodAutoscaler, pred, ns) is None
        await deployment_available(kube_client, pred, ns)
        await eventually_stored(kube_client, Ingress, name, ns,
                                ingress(name, ns, x.isvc_annotations("keda"), pred))
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))


async def test_v13_opentelemetry_collector(envtest: Any, kube_client: AsyncClient,
                                           namespace: str, keda_otel: None) -> None:
    """V13 "Should have OpenTelemetry Collector created": a sidecar collector scraping
    localhost:8080 every 5s, filtering the metric names, exporting to the receiver endpoint;
    the KEDA trigger reads it back through the scaler endpoint."""
    ns, name = namespace, "raw-foo-3"
    pred = f"{name}-predictor"
    annotations = x.isvc_annotations("keda", **{"sidecar.opentelemetry.io/inject": "true"})
    async with isvc_manager(envtest, kube_client, ns, gateway_off_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, annotations, OTEL_METRICS)))
        pred_annotations = {**x.predictor_annotations("keda"),
                            "sidecar.opentelemetry.io/inject": "true"}
        # upstream's collector carries the component's annotations but no labels; an empty
        # ``resources`` (no resource in the config); configVersions, ipFamilyPolicy and
        # managementState are the CRD's defaults
        await eventually_stored(kube_client, OpenTelemetryCollector, pred, ns, {
            "metadata": {"name": pred, "namespace": ns, "annotations": pred_annotations,
                         "ownerReferences": owner(name)},
            "spec": {"mode": "sidecar", "resources": {}, "configVersions": 3,
                     "ipFamilyPolicy": "SingleStack", "managementState": "managed", "config": {
                "receivers": {"prometheus": {"config": {"scrape_configs": [{
                    "job_name": "otel-collector", "scrape_interval": "5s",
                    "static_configs": [{"targets": ["localhost:8080"]}]}]}}},
                "processors": {
                    "filter/metrics": {"metrics": {"include": {
                        "match_type": "strict",
                        "metric_names": ["process_cpu_seconds_total"]}}},
                    "resourcedetection/env": {"detectors": ["env"], "override": False,
                                              "timeout": "2s"},
                    "transform": {"metric_statements": [{"context": "datapoint", "statements": [
                        'set(attributes["namespace"], resource.attributes["k8s.namespace.name"])',
                        'set(attributes["deployment"], resource.attributes["k8s.deployment.name"])',
                        'set(attributes["pod"], resource.attributes["k8s.pod.name"])']}]}},
                "exporters": {"otlp": {"endpoint": "keda-otel-scaler.keda.svc:4317",
                                       "compression": "none", "tls": {"insecure": True}}},
                "service": {"pipelines": {"metrics": {
                    "receivers": ["prometheus"],
                    "processors": ["resourcedetection/env", "transform", "filter/metrics"],
                    "exporters": ["otlp"]}}}}}})
        await eventually_stored(kube_client, ScaledObject, pred, ns, {
            "metadata": {"name": pred, "namespace": ns,
                         "labels": x.component_labels(pred, name, "predictor"),
                         "annotations": pred_annotations, "ownerReferences": owner(name)},
            "spec": {"scaleTargetRef": {"name": pred},
                     "triggers": [{"type": "external", "metadata": {
                         # upstream wraps the whole query: sum(<query>{namespace, deployment})
                         "metricQuery": f'sum(avg(process_cpu_seconds_total){{namespace="{ns}", '
                                        f'deployment="{pred}"}})',
                         "scalerAddress": "keda-otel-scaler.keda.svc:4318",
                         "targetValue": "0"}}],
                     "minReplicaCount": 1, "maxReplicaCount": 3}})


async def test_v14_ingress_and_hpa(envtest: Any, kube_client: AsyncClient, namespace: str,
                                   keda_otel: None) -> None:
    """V14 "Should have ingress/service/deployment/hpa created" with gateway API off."""
    ns, name = namespace, "raw-foo"
    pred = f"{name}-predictor"
    async with isvc_manager(envtest, kube_client, ns, gateway_off_config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving-raw",
                                                                                 ns)))
        await run.client.create(defaulted(tf_isvc(name, ns, x.isvc_annotations(),
                                                  {"metrics": [x.cpu_utilization(75)]})))
        await eventually_stored(kube_client, Deployment, pred, ns,
                                x.tf_predictor_deployment(name, ns))
        await eventually_stored(kube_client, Service, pred, ns,
                                x.service(pred, ns, name, "predictor", x.predictor_annotations()))
        await deployment_available(kube_client, pred, ns)
        await eventually_stored(kube_client, Ingress, name, ns,
                                ingress(name, ns, x.isvc_annotations(), pred))
        await eventually_status(kube_client, name, ns, x.ready_status(name, ns))
        await eventually_stored(kube_client, HorizontalPodAutoscaler, pred, ns, x.hpa(
            pred, ns, name, "predictor", x.predictor_annotations(), [x.cpu_utilization(75)],
            min_replicas=1, max_replicas=3))
        assert await get(kube_client, ScaledObject, pred, ns) is None

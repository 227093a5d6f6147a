"""controllers.reconcilers.service: the Standard-mode Services as upstream builds them.

Ported from upstream ``service_reconciler_test.go``: TestCreateDefaultDeployment (default and
multi-node services; upstream checks them with DeepDerivative, we assert whole objects) and the
six TestCreateServiceRaw* cluster-IP cases (one table). Not ported: TestGetServiceList (a list
accessor) and TestServiceSetControllerReferences (owner references are set by the reconcile).
The port rules of the behaviour reference (section 2.3) are tested beside them.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import core_v1, meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import ServiceConfig
from controllers.reconcilers.service import create_service


def meta(d: dict[str, Any]) -> meta_v1.ObjectMeta:
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


def pod(d: dict[str, Any]) -> core_v1.PodSpec:
    return cast(core_v1.PodSpec, core_v1.PodSpec.from_dict(d))


EXAMPLE_POD: dict[str, Any] = {
    "volumes": [{"name": "default-predictor-example-volume"}],
    "containers": [
        {
            "name": "kserve-container",
            "image": "default-predictor-example-image",
            "env": [{"name": "default-predictor-example-env", "value": "example-env"}],
        }
    ],
}


def test_default_service() -> None:
    got = create_service(
        meta(
            {
                "name": "default-predictor",
                "namespace": "default-predictor-namespace",
                "annotations": {"annotation": "annotation-value"},
                "labels": {
                    "serving.kserve.io/deploymentMode": "Standard",
                    "serving.kserve.io/autoscalerClass": "hpa",
                },
            }
        ),
        ComponentExtensionSpec(),
        pod(EXAMPLE_POD),
        False,
        ServiceConfig(),
    )
    assert [s.to_dict() for s in got] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "default-predictor",
                "namespace": "default-predictor-namespace",
                "labels": {
                    "serving.kserve.io/autoscalerClass": "hpa",
                    "serving.kserve.io/deploymentMode": "Standard",
                },
                "annotations": {"annotation": "annotation-value"},
            },
            "spec": {
                "ports": [
                    {"name": "default-predictor", "protocol": "TCP", "port": 80, "targetPort": 8080}
                ],
                "selector": {"app": "isvc.default-predictor"},
            },
        }
    ]


def test_multinode_services() -> None:
    labels = {
        "app": "isvc.default-predictor",
        "serving.kserve.io/inferenceservice": "default-predictor",
        "component": "predictor",
        "isvc.generation": "1",
    }
    got = create_service(
        meta(
            {
                "name": "default-predictor",
                "namespace": "default-predictor-namespace",
                "annotations": {"annotation": "annotation-value"},
                "labels": labels,
            }
        ),
        ComponentExtensionSpec(),
        pod(EXAMPLE_POD),
        True,
        ServiceConfig(),
    )
    common = {
        "namespace": "default-predictor-namespace",
        "annotations": {"annotation": "annotation-value"},
    }
    assert [s.to_dict() for s in got] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "default-predictor", **common, "labels": labels},
            "spec": {
                "ports": [
                    {"name": "default-predictor", "protocol": "TCP", "port": 80, "targetPort": 8080}
                ],
                "selector": {"app": "isvc.default-predictor"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "default-head-1",
                **common,
                "labels": {**labels, "multinode/role": "head"},
            },
            "spec": {
                "selector": {"app": "isvc.default-predictor", "isvc.generation": "1"},
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "default-workers-1",
                **common,
                "labels": {**labels, "multinode/role": "worker"},
            },
            "spec": {
                "selector": {"app": "isvc.default-predictor-worker", "isvc.generation": "1"},
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
            },
        },
    ]


@pytest.mark.parametrize(
    ("config", "cluster_ip"),
    [
        pytest.param(ServiceConfig(), None, id="config empty"),
        pytest.param(None, None, id="config nil"),
        pytest.param(ServiceConfig(serviceClusterIPNone=True), "None", id="config true"),
        pytest.param(ServiceConfig(serviceClusterIPNone=False), None, id="config false"),
    ],
)
def test_cluster_ip_none(config: ServiceConfig | None, cluster_ip: str | None) -> None:
    component_meta = meta({"name": "test-service", "namespace": "default"})
    got = create_service(
        component_meta, ComponentExtensionSpec(), pod({"containers": []}), False, config
    )
    assert got[0].to_dict() == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "test-service", "namespace": "default"},
        "spec": {
            "selector": {"app": "isvc.test-service"},
            **({"clusterIP": cluster_ip} if cluster_ip else {}),
        },
    }


@pytest.mark.parametrize(
    ("containers", "ext", "ports"),
    [
        pytest.param(
            [{"name": "kserve-container", "ports": [{"containerPort": 9000, "name": "http1"}]}],
            {},
            [{"name": "http1", "port": 80, "targetPort": 9000, "protocol": "TCP"}],
            id="first port behind 80, name kept, TCP when unset",
        ),
        pytest.param(
            [
                {
                    "name": "kserve-container",
                    "ports": [
                        {"containerPort": 8080, "name": "http1", "protocol": "TCP"},
                        {"containerPort": 8081, "name": "grpc-port"},
                        {"containerPort": 8082, "name": "h2c", "protocol": "SCTP"},
                    ],
                }
            ],
            {},
            [
                {"name": "http1", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {
                    "name": "grpc-port",
                    "port": 8081,
                    "targetPort": 8081,
                    "protocol": "TCP",
                    "appProtocol": "kubernetes.io/h2c",
                },
                {
                    "name": "h2c",
                    "port": 8082,
                    "targetPort": 8082,
                    "protocol": "SCTP",
                    "appProtocol": "kubernetes.io/h2c",
                },
            ],
            id="other ports 1:1, h2c appProtocol for grpc/h2c names",
        ),
        pytest.param(
            [{"name": "kserve-container", "ports": [{"containerPort": 9000, "name": "grpc"}]}],
            {},
            [
                {
                    "name": "grpc",
                    "port": 80,
                    "targetPort": 9000,
                    "protocol": "TCP",
                    "appProtocol": "kubernetes.io/h2c",
                }
            ],
            id="grpc first port",
        ),
        pytest.param(
            [
                {"name": "kserve-container", "ports": [{"containerPort": 9000, "name": "p"}]},
                {"name": "transformer-container", "ports": [{"containerPort": 7000, "name": "t"}]},
            ],
            {},
            [{"name": "t", "port": 80, "targetPort": 7000, "protocol": "TCP"}],
            id="transformer-container ports win (collocation)",
        ),
        pytest.param(
            [{"name": "kserve-container", "ports": [{"containerPort": 9000, "name": "p"}]}],
            {"batcher": {"maxBatchSize": 4}},
            [{"name": "p", "port": 80, "targetPort": 9081, "protocol": "TCP"}],
            id="batcher: first port targets the agent",
        ),
        pytest.param(
            [{"name": "kserve-container"}],
            {"logger": {"mode": "all"}},
            [{"name": "comp", "port": 80, "targetPort": 9081, "protocol": "TCP"}],
            id="logger with the default port",
        ),
        pytest.param(
            [],
            {"logger": {"mode": "all"}},
            None,
            id="no containers: no ports even with a logger (upstream panics)",
        ),
    ],
)
def test_ports(
    containers: list[dict[str, Any]], ext: dict[str, Any], ports: list[dict[str, Any]] | None
) -> None:
    got = create_service(
        meta({"name": "comp", "namespace": "ns"}),
        ComponentExtensionSpec.model_validate(ext),
        pod({"containers": containers}),
        False,
        None,
    )
    assert got[0].to_dict()["spec"].get("ports") == ports


def test_inputs_not_modified() -> None:
    m = meta({"name": "comp", "namespace": "ns", "labels": {"isvc.generation": "3"}})
    p = pod({"containers": [{"name": "kserve-container", "ports": [{"containerPort": 1}]}]})
    before = (m.to_dict(), p.to_dict())
    got = create_service(m, ComponentExtensionSpec(batcher={}), p, True, None)
    assert (m.to_dict(), p.to_dict()) == before
    assert [s.metadata.name for s in got if s.metadata] == ["comp", "comp-head-3", "comp-workers-3"]

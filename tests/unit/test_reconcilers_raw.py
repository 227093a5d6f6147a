"""controllers.reconcilers.raw: a Standard-mode component's objects built together.

The first case is upstream's envtest vector V1 (``rawkube_controller_test.go`` "Should have
httproute/service/deployment/httproute created", expected objects from ``tests_common.go``
``getDeploymentWithKServiceLabel`` / ``getExectedService`` and the HPA it checks): the objects
here are what that test finds stored (the server adds only status, uid, ... and, for the
Service, clusterIP/ipFamilies).
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import core_v1, meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import parse_inferenceservice_config
from controllers.reconcilers.autoscaler import UnknownAutoscalerClassError
from controllers.reconcilers.raw import build_raw_kube_objects

ISVC_LABELS = {"component": "predictor", "serving.kserve.io/inferenceservice": "raw-foo"}
ISVC_ANNOTATIONS = {
    "internal.serving.kserve.io/storage-initializer-sourceuri": "s3://test/mnist/export",
    "serving.kserve.io/deploymentMode": "Standard",
    "serving.kserve.io/autoscalerClass": "hpa",
}
RESOURCES = {
    "limits": {"cpu": "1", "memory": "2Gi"},
    "requests": {"cpu": "1", "memory": "2Gi"},
}
CONTAINER = {
    "name": "kserve-container",
    "image": "tensorflow/serving:1.14.0",
    "command": ["/usr/bin/tensorflow_model_server"],
    "args": [
        "--port=9000",
        "--rest_api_port=8080",
        "--model_base_path=/mnt/models",
        "--rest_api_timeout_in_ms=60000",
    ],
    "env": [{"name": "INFERENCE_SERVICE_NAME", "value": "raw-foo"}],
    "resources": RESOURCES,
}


def meta(name: str, labels: dict[str, str], annotations: dict[str, str]) -> meta_v1.ObjectMeta:
    return meta_v1.ObjectMeta(
        name=name, namespace="default", labels=dict(labels), annotations=dict(annotations)
    )


def pod(d: dict[str, Any]) -> core_v1.PodSpec:
    return cast(core_v1.PodSpec, core_v1.PodSpec.from_dict(d))


EXT = ComponentExtensionSpec.model_validate(
    {
        "minReplicas": 1,
        "maxReplicas": 3,
        "timeout": 30,
        "autoScaling": {
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "10Gi"},
                    },
                }
            ]
        },
    }
)
SHARED_META = {
    "name": "raw-foo-predictor",
    "namespace": "default",
    "labels": {**ISVC_LABELS, "app": "isvc.raw-foo-predictor"},
    "annotations": ISVC_ANNOTATIONS,
}


def test_v1_raw_predictor() -> None:
    objs = build_raw_kube_objects(
        meta("raw-foo-predictor", ISVC_LABELS, ISVC_ANNOTATIONS),
        None,
        EXT,
        pod({"automountServiceAccountToken": False, "containers": [CONTAINER]}),
        None,
        parse_inferenceservice_config({}),
    )
    assert [d.to_dict() for d in objs.deployments] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": SHARED_META,
            "spec": {
                "selector": {"matchLabels": {"app": "isvc.raw-foo-predictor"}},
                "template": {
                    "metadata": SHARED_META,
                    "spec": {
                        "containers": [
                            {
                                **CONTAINER,
                                "readinessProbe": {
                                    "tcpSocket": {"port": 8080},
                                    "timeoutSeconds": 1,
                                    "periodSeconds": 10,
                                    "successThreshold": 1,
                                    "failureThreshold": 3,
                                },
                                "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File",
                                "imagePullPolicy": "IfNotPresent",
                            }
                        ],
                        "schedulerName": "default-scheduler",
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "securityContext": {},
                        "automountServiceAccountToken": False,
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
        }
    ]
    assert [s.to_dict() for s in objs.services] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": SHARED_META,
            "spec": {
                "ports": [
                    {"name": "raw-foo-predictor", "protocol": "TCP", "port": 80, "targetPort": 8080}
                ],
                "selector": {"app": "isvc.raw-foo-predictor"},
            },
        }
    ]
    assert objs.autoscaler_class == "hpa"
    assert not isinstance(objs.autoscaler, dict)
    assert objs.autoscaler.to_dict() == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": SHARED_META,
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "raw-foo-predictor",
            },
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "target": {"type": "AverageValue", "averageValue": "10Gi"},
                    },
                }
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "selectPolicy": "Max",
                    "policies": [
                        {"type": "Pods", "value": 4, "periodSeconds": 15},
                        {"type": "Percent", "value": 100, "periodSeconds": 15},
                    ],
                },
                "scaleDown": {
                    "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                },
            },
        },
    }
    assert objs.otel_collector is None


def test_keda_with_otel() -> None:
    annotations = {**ISVC_ANNOTATIONS, "serving.kserve.io/autoscalerClass": "keda"}
    ext = ComponentExtensionSpec.model_validate(
        {
            "minReplicas": 1,
            "maxReplicas": 5,
            "autoScaling": {
                "metrics": [
                    {
                        "type": "PodMetric",
                        "podmetric": {
                            "metric": {
                                "backend": "opentelemetry",
                                "metricNames": ["process_cpu_seconds_total"],
                                "query": "avg_over_time(process_cpu_seconds_total[1m])",
                            },
                            "target": {"type": "Value", "value": "50"},
                        },
                    }
                ]
            },
        }
    )
    config = parse_inferenceservice_config(
        {
            "opentelemetryCollector": '{"scrapeInterval": "5s", "metricReceiverEndpoint": '
            '"keda-otel-scaler.keda.svc:4317", "metricScalerEndpoint": '
            '"keda-otel-scaler.keda.svc:4318"}',
            "autoscaler": '{"scaleUpStabilizationWindowSeconds": "0", '
            '"scaleDownStabilizationWindowSeconds": "300"}',
        }
    )
    objs = build_raw_kube_objects(
        meta("raw-foo-predictor", ISVC_LABELS, annotations),
        None,
        ext,
        pod({"containers": [CONTAINER]}),
        None,
        config,
    )
    assert objs.autoscaler_class == "keda"
    assert objs.autoscaler == {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {**SHARED_META, "annotations": annotations},
        "spec": {
            "scaleTargetRef": {"name": "raw-foo-predictor"},
            "minReplicaCount": 1,
            "maxReplicaCount": 5,
            "triggers": [
                {
                    "type": "external",
                    "metadata": {
                        "metricQuery": "sum(avg_over_time(process_cpu_seconds_total[1m])"
                        '{namespace="default", deployment="raw-foo-predictor"})',
                        "targetValue": "50",
                        "scalerAddress": "keda-otel-scaler.keda.svc:4318",
                    },
                }
            ],
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleDown": {"stabilizationWindowSeconds": 300},
                        "scaleUp": {"stabilizationWindowSeconds": 0},
                    }
                },
                "scalingModifiers": {},
            },
        },
    }
    assert objs.otel_collector is not None
    # the collector carries no labels (upstream copies only name, namespace, annotations)
    assert objs.otel_collector["metadata"] == {
        "name": "raw-foo-predictor",
        "namespace": "default",
        "annotations": annotations,
    }
    processors = objs.otel_collector["spec"]["config"]["processors"]
    assert processors["filter/metrics"]["metrics"]["include"]["metric_names"] == [
        "process_cpu_seconds_total"
    ]


def test_multinode_objects() -> None:
    labels = {**ISVC_LABELS, "isvc.generation": "1"}
    annotations = {**ISVC_ANNOTATIONS, "serving.kserve.io/autoscalerClass": "none"}
    head = pod(
        {
            "containers": [
                {
                    "name": "kserve-container",
                    "env": [
                        {"name": "RAY_NODE_COUNT", "value": "2"},
                        {"name": "REQUEST_GPU_COUNT", "value": "1"},
                    ],
                }
            ]
        }
    )
    worker = pod(
        {
            "containers": [
                {"name": "worker-container", "env": [{"name": "REQUEST_GPU_COUNT", "value": "1"}]}
            ]
        }
    )
    objs = build_raw_kube_objects(
        meta("raw-foo-predictor", labels, annotations),
        meta("raw-foo-predictor-worker", labels, annotations),
        ComponentExtensionSpec(minReplicas=1),
        head,
        worker,
        parse_inferenceservice_config({}),
    )
    assert [d.metadata.name for d in objs.deployments if d.metadata] == [
        "raw-foo-predictor",
        "raw-foo-predictor-worker",
    ]
    assert [d.to_dict()["spec"].get("replicas") for d in objs.deployments] == [1, 1]
    assert [s.metadata.name for s in objs.services if s.metadata] == [
        "raw-foo-predictor",
        "raw-foo-head-1",
        "raw-foo-workers-1",
    ]
    # the headless services inherit the shared app label, as upstream's deep copy does
    assert [(s.metadata.labels or {}).get("app") for s in objs.services if s.metadata] == [
        "isvc.raw-foo-predictor"
    ] * 3
    assert objs.autoscaler_class == "none"


def test_unknown_autoscaler_class() -> None:
    annotations = {**ISVC_ANNOTATIONS, "serving.kserve.io/autoscalerClass": "kpa"}
    with pytest.raises(UnknownAutoscalerClassError):
        build_raw_kube_objects(
            meta("raw-foo-predictor", ISVC_LABELS, annotations),
            None,
            EXT,
            pod({"containers": [CONTAINER]}),
            None,
            parse_inferenceservice_config({}),
        )


def test_rollout_and_cluster_ip_from_config() -> None:
    config = parse_inferenceservice_config(
        {
            "deploy": '{"defaultDeploymentMode": "RawDeployment", "deploymentRolloutStrategy": '
            '{"defaultRollout": {"maxSurge": "1", "maxUnavailable": "0"}}}',
            "service": '{"serviceClusterIPNone": true}',
        }
    )
    objs = build_raw_kube_objects(
        meta("raw-foo-predictor", ISVC_LABELS, ISVC_ANNOTATIONS),
        None,
        EXT,
        pod({"containers": [CONTAINER]}),
        None,
        config,
    )
    assert objs.deployments[0].to_dict()["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert objs.services[0].to_dict()["spec"]["clusterIP"] == "None"

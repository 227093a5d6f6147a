"""controllers.reconcilers.deployment: the Standard-mode Deployment(s) as upstream builds them.

Ported from upstream ``deployment_reconciler_test.go``:
TestCreateDefaultDeployment (all 7 cases, asserting whole objects, including the pod defaults
upstream's test ignores), TestNewDeploymentReconciler (object count), TestSetDefaultDeploymentSpec,
TestApplyRolloutStrategyFromConfigmap, TestCreateRawDeploymentWithPrecedence.
Not ported: TestCheckDeploymentExist and TestDeploymentReconciler_Reconcile (Go client calls:
the lead's compare-then-apply replaces them), TestGetWorkloads (a list accessor),
TestSetControllerReferences (owner references are set by the reconcile).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import pytest
from lightkube.models import apps_v1, core_v1, meta_v1

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import DeployConfig, MultiNodeConfig
from controllers.reconcilers.deployment import (
    add_gpu_resource_to_deployment,
    apply_rollout_strategy_from_configmap,
    create_raw_default_deployment,
    create_raw_deployment,
    set_default_deployment_spec,
    set_default_pod_spec,
    with_raw_app_label,
)
from controllers.reconcilers.multinode import gpu_resource_types

GPU_ANN = "serving.kserve.io/gpu-resource-types"


def meta(d: dict[str, Any]) -> meta_v1.ObjectMeta:
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


def pod(d: dict[str, Any]) -> core_v1.PodSpec:
    return cast(core_v1.PodSpec, core_v1.PodSpec.from_dict(d))


def dspec(d: dict[str, Any]) -> apps_v1.DeploymentSpec:
    return cast(apps_v1.DeploymentSpec, apps_v1.DeploymentSpec.from_dict(d))


def ext(d: dict[str, Any] | None = None) -> ComponentExtensionSpec:
    return ComponentExtensionSpec.model_validate(d or {})


PROBE_8080: dict[str, Any] = {
    "tcpSocket": {"port": 8080},
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
CONTAINER_DEFAULTS: dict[str, Any] = {
    "imagePullPolicy": "IfNotPresent",
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
POD_DEFAULTS: dict[str, Any] = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "terminationGracePeriodSeconds": 30,
    "securityContext": {},
    "schedulerName": "default-scheduler",
}
DEFAULT_STRATEGY: dict[str, Any] = {
    "type": "RollingUpdate",
    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
}

# --- upstream testInput["defaultDeployment"] -------------------------------------------------

DEFAULT_META: dict[str, Any] = {
    "name": "default-predictor",
    "namespace": "default-predictor-namespace",
    "annotations": {"annotation": "annotation-value"},
    "labels": {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": "hpa",
    },
}
DEFAULT_POD: dict[str, Any] = {
    "volumes": [{"name": "default-predictor-example-volume"}],
    "containers": [
        {
            "name": "kserve-container",
            "image": "default-predictor-example-image",
            "env": [{"name": "default-predictor-example-env", "value": "example-env"}],
        }
    ],
}


def expected_default() -> dict[str, Any]:
    labels = {
        "app": "isvc.default-predictor",
        "serving.kserve.io/autoscalerClass": "hpa",
        "serving.kserve.io/deploymentMode": "Standard",
    }
    obj_meta = {
        "name": "default-predictor",
        "namespace": "default-predictor-namespace",
        "annotations": {"annotation": "annotation-value"},
        "labels": labels,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": obj_meta,
        "spec": {
            "selector": {"matchLabels": {"app": "isvc.default-predictor"}},
            "strategy": DEFAULT_STRATEGY,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": copy.deepcopy(obj_meta),
                "spec": {
                    "volumes": [{"name": "default-predictor-example-volume"}],
                    **POD_DEFAULTS,
                    "containers": [
                        {
                            "name": "kserve-container",
                            "image": "default-predictor-example-image",
                            "env": [
                                {"name": "default-predictor-example-env", "value": "example-env"}
                            ],
                            **CONTAINER_DEFAULTS,
                            "readinessProbe": PROBE_8080,
                        }
                    ],
                },
            },
        },
    }


# --- upstream testInput["multiNode-deployment"] -----------------------------------------------

MN_META: dict[str, Any] = {
    "name": "default-predictor",
    "namespace": "default-predictor-namespace",
    "annotations": {"annotation": "annotation-value"},
    "labels": {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": "none",
    },
}
MN_WORKER_META: dict[str, Any] = {
    "name": "worker-predictor",
    "namespace": "worker-predictor-namespace",
    "annotations": {"annotation": "annotation-value"},
    "labels": {
        "serving.kserve.io/deploymentMode": "Standard",
        "serving.kserve.io/autoscalerClass": "none",
    },
}
GPU1: dict[str, Any] = {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}
MN_POD: dict[str, Any] = {
    "volumes": [{"name": "default-predictor-example-volume"}],
    "containers": [
        {
            "name": "kserve-container",
            "image": "default-predictor-example-image",
            "env": [
                {"name": "TENSOR_PARALLEL_SIZE", "value": "1"},
                {"name": "MODEL_NAME"},
                {"name": "PIPELINE_PARALLEL_SIZE", "value": "2"},
                {"name": "RAY_NODE_COUNT", "value": "2"},
                {"name": "REQUEST_GPU_COUNT", "value": "1"},
            ],
            "resources": GPU1,
        }
    ],
}
MN_WORKER_POD: dict[str, Any] = {
    "volumes": [{"name": "worker-predictor-example-volume"}],
    "containers": [
        {
            "name": "worker-container",
            "image": "worker-predictor-example-image",
            "env": [
                {"name": "worker-predictor-example-env", "value": "example-env"},
                {"name": "RAY_NODE_COUNT", "value": "2"},
                {"name": "REQUEST_GPU_COUNT", "value": "1"},
                {"name": "ISVC_NAME"},
            ],
            "resources": GPU1,
        }
    ],
}


def expected_multinode() -> list[dict[str, Any]]:
    head_meta = {
        "name": "default-predictor",
        "namespace": "default-predictor-namespace",
        "annotations": {"annotation": "annotation-value"},
        "labels": {
            "app": "isvc.default-predictor",
            "serving.kserve.io/autoscalerClass": "none",
            "serving.kserve.io/deploymentMode": "Standard",
        },
    }
    worker_meta = {
        "name": "worker-predictor",
        "namespace": "worker-predictor-namespace",
        "annotations": {"annotation": "annotation-value"},
        "labels": {
            "app": "isvc.default-predictor-worker",
            "serving.kserve.io/autoscalerClass": "none",
            "serving.kserve.io/deploymentMode": "Standard",
        },
    }
    head = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": head_meta,
        "spec": {
            # autoscalerClass none is a *label* here, not the annotation: no replicas
            "selector": {"matchLabels": {"app": "isvc.default-predictor"}},
            "strategy": DEFAULT_STRATEGY,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": copy.deepcopy(head_meta),
                "spec": {
                    "volumes": [{"name": "default-predictor-example-volume"}],
                    **POD_DEFAULTS,
                    "containers": [
                        {
                            **copy.deepcopy(MN_POD["containers"][0]),
                            **CONTAINER_DEFAULTS,
                            "readinessProbe": PROBE_8080,
                        }
                    ],
                },
            },
        },
    }
    worker = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": worker_meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "isvc.default-predictor-worker"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "0%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": copy.deepcopy(worker_meta),
                "spec": {
                    "volumes": [{"name": "worker-predictor-example-volume"}],
                    **POD_DEFAULTS,
                    # worker-container gets no default readiness probe
                    "containers": [
                        {**copy.deepcopy(MN_WORKER_POD["containers"][0]), **CONTAINER_DEFAULTS}
                    ],
                },
            },
        },
    }
    return [head, worker]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    for var in container["env"]:
        if var["name"] == name:
            var["value"] = value
            return
    container["env"].append({"name": name, "value": value})


def _args() -> dict[str, Any]:
    return {
        "meta": copy.deepcopy(MN_META),
        "worker_meta": copy.deepcopy(MN_WORKER_META),
        "pod": copy.deepcopy(MN_POD),
        "worker_pod": copy.deepcopy(MN_WORKER_POD),
    }


def _containers(deps: list[dict[str, Any]], i: int) -> dict[str, Any]:
    return deps[i]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def _ray3(a: dict[str, Any], e: list[dict[str, Any]]) -> None:
    # "Set RAY_NODE_COUNT to 3 when pipelineParallelSize is 3 and tensorParallelSize is 1,
    # with 2 worker node replicas"
    _set_env(a["pod"]["containers"][0], "PIPELINE_PARALLEL_SIZE", "3")
    _set_env(a["pod"]["containers"][0], "RAY_NODE_COUNT", "3")
    _set_env(a["worker_pod"]["containers"][0], "RAY_NODE_COUNT", "3")
    _set_env(_containers(e, 0), "PIPELINE_PARALLEL_SIZE", "3")
    _set_env(_containers(e, 0), "RAY_NODE_COUNT", "3")
    _set_env(_containers(e, 1), "RAY_NODE_COUNT", "3")
    e[1]["spec"]["replicas"] = 2


def _gpu5(a: dict[str, Any], e: list[dict[str, Any]]) -> None:
    # "Use the value of GPU in resources request of container"
    _set_env(a["pod"]["containers"][0], "REQUEST_GPU_COUNT", "5")
    _set_env(a["worker_pod"]["containers"][0], "REQUEST_GPU_COUNT", "5")
    for i in (0, 1):
        _set_env(_containers(e, i), "REQUEST_GPU_COUNT", "5")
        _containers(e, i)["resources"] = {
            "limits": {"nvidia.com/gpu": "5"},
            "requests": {"nvidia.com/gpu": "5"},
        }


def _intel(a: dict[str, Any], e: list[dict[str, Any]]) -> None:
    # "Use specified gpuResourceType if it is in gpuResourceTypeList"
    a["pod"]["containers"][0]["resources"] = {
        "limits": {"intel.com/gpu": "3"},
        "requests": {"intel.com/gpu": "3"},
    }
    _set_env(a["pod"]["containers"][0], "REQUEST_GPU_COUNT", "3")
    _set_env(a["worker_pod"]["containers"][0], "REQUEST_GPU_COUNT", "3")
    for i in (0, 1):
        _set_env(_containers(e, i), "REQUEST_GPU_COUNT", "3")
    _containers(e, 0)["resources"] = {
        "limits": {"intel.com/gpu": "3"},
        "requests": {"intel.com/gpu": "3"},
    }
    # the worker keeps the default type (nvidia)
    _containers(e, 1)["resources"] = {
        "limits": {"nvidia.com/gpu": "3"},
        "requests": {"nvidia.com/gpu": "3"},
    }


def _custom(head_type: str, worker_type: str, annotation: str) -> Callable[..., None]:
    def modify(a: dict[str, Any], e: list[dict[str, Any]]) -> None:
        a["pod"]["containers"][0]["resources"] = {
            "limits": {head_type: "3"},
            "requests": {head_type: "3"},
        }
        a["worker_pod"]["containers"][0]["resources"] = {
            "limits": {worker_type: "3"},
            "requests": {worker_type: "3"},
        }
        a["meta"]["annotations"][GPU_ANN] = annotation
        a["worker_meta"]["annotations"][GPU_ANN] = annotation
        _set_env(a["pod"]["containers"][0], "REQUEST_GPU_COUNT", "3")
        _set_env(a["worker_pod"]["containers"][0], "REQUEST_GPU_COUNT", "3")
        for i, t in ((0, head_type), (1, worker_type)):
            e[i]["metadata"]["annotations"][GPU_ANN] = annotation
            e[i]["spec"]["template"]["metadata"]["annotations"][GPU_ANN] = annotation
            _set_env(_containers(e, i), "REQUEST_GPU_COUNT", "3")
            _containers(e, i)["resources"] = {"limits": {t: "3"}, "requests": {t: "3"}}

    return modify


def _noop(a: dict[str, Any], e: list[dict[str, Any]]) -> None:
    return None


@pytest.mark.parametrize(
    "modify",
    [
        pytest.param(_noop, id="multiNode-deployment"),
        pytest.param(_ray3, id="RAY_NODE_COUNT=3 gives 2 worker replicas"),
        pytest.param(_gpu5, id="REQUEST_GPU_COUNT becomes the GPU limit and request"),
        pytest.param(_intel, id="GPU type already on the container wins (intel.com/gpu)"),
        pytest.param(
            _custom("custom.com/gpu", "custom.com/gpu", '["custom.com/gpu"]'),
            id="custom GPU type from the annotation",
        ),
        pytest.param(
            _custom("custom.com/gpu", "custom.com/gpu2", '["custom.com/gpu", "custom.com/gpu2"]'),
            id="several custom GPU types from the annotation",
        ),
    ],
)
def test_create_raw_deployment_multinode(modify: Callable[..., None]) -> None:
    a = _args()
    expected = expected_multinode()
    modify(a, expected)
    snapshot = copy.deepcopy(a)
    got = create_raw_deployment(
        meta(a["meta"]),
        meta(a["worker_meta"]),
        ext(),
        pod(a["pod"]),
        pod(a["worker_pod"]),
        None,
    )
    assert [d.to_dict() for d in got] == expected
    assert a == snapshot


def test_create_raw_deployment_default() -> None:
    got = create_raw_deployment(meta(DEFAULT_META), None, ext(), pod(DEFAULT_POD), None, None)
    assert [d.to_dict() for d in got] == [expected_default()]


def test_inputs_are_not_modified() -> None:
    m, p, e = meta(DEFAULT_META), pod(DEFAULT_POD), ext({"minReplicas": 2})
    before = (m.to_dict(), p.to_dict(), e.model_dump())
    create_raw_deployment(m, None, e, p, None, None)
    assert (m.to_dict(), p.to_dict(), e.model_dump()) == before


@pytest.mark.parametrize(
    ("annotation", "min_replicas", "expected"),
    [
        pytest.param("none", 3, 3, id="class none: replicas = minReplicas"),
        pytest.param("none", None, None, id="class none without minReplicas: unset"),
        pytest.param("hpa", 3, None, id="class hpa: unset (the HPA owns it)"),
        pytest.param("keda", 3, None, id="class keda: unset"),
        pytest.param("external", 3, None, id="class external: unset"),
        pytest.param(None, 3, None, id="no class: unset"),
    ],
)
def test_replicas_only_for_autoscaler_class_none(
    annotation: str | None, min_replicas: int | None, expected: int | None
) -> None:
    m = copy.deepcopy(DEFAULT_META)
    if annotation is not None:
        m["annotations"]["serving.kserve.io/autoscalerClass"] = annotation
    got = create_raw_default_deployment(
        meta(m), ext({"minReplicas": min_replicas}), pod(DEFAULT_POD), None
    )
    assert got.spec is not None
    assert got.spec.replicas == expected


@pytest.mark.parametrize(
    ("containers", "probes"),
    [
        pytest.param(
            [{"name": "kserve-container", "ports": [{"containerPort": 9000, "name": "h"}]}],
            [9000],
            id="first container port",
        ),
        pytest.param(
            [
                {"name": "kserve-container"},
                {"name": "transformer-container", "ports": [{"containerPort": 8081}]},
                {"name": "sidecar"},
            ],
            [8080, 8081, None],
            id="transformer-container too, other containers none",
        ),
        pytest.param(
            [{"name": "kserve-container", "readinessProbe": {"httpGet": {"port": 1}}}],
            ["kept"],
            id="an existing probe is kept",
        ),
    ],
)
def test_default_readiness_probe(containers: list[dict[str, Any]], probes: list[Any]) -> None:
    got = set_default_pod_spec(pod({"containers": containers}))
    for container, want in zip(got.containers or [], probes, strict=True):
        probe = container.readinessProbe
        if want is None:
            assert probe is None
        elif want == "kept":
            assert probe is not None and probe.to_dict() == {"httpGet": {"port": 1}}
        else:
            assert probe is not None and probe.to_dict() == {
                **PROBE_8080,
                "tcpSocket": {"port": want},
            }


def test_set_default_pod_spec_keeps_set_values() -> None:
    spec = pod(
        {
            "dnsPolicy": "None",
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "securityContext": {"runAsUser": 1},
            "schedulerName": "s",
            "containers": [
                {
                    "name": "c",
                    "imagePullPolicy": "Always",
                    "terminationMessagePath": "/x",
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                }
            ],
        }
    )
    assert set_default_pod_spec(spec).to_dict() == spec.to_dict()


@pytest.mark.parametrize(
    ("spec", "surge", "unavailable"),
    [
        pytest.param({}, "25%", "25%", id="empty spec gets KServe defaults"),
        pytest.param(
            {"strategy": {"type": "RollingUpdate"}},
            "25%",
            "25%",
            id="RollingUpdate without rollingUpdate gets KServe defaults",
        ),
        pytest.param(
            {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "10%"},
                }
            },
            "50%",
            "10%",
            id="existing rollingUpdate is not modified",
        ),
    ],
)
def test_set_default_deployment_spec(spec: dict[str, Any], surge: str, unavailable: str) -> None:
    base = {"selector": {}, "template": {}, **spec}
    got = set_default_deployment_spec(dspec(base))
    assert got.to_dict() == {
        **base,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }


def _deploy_config(mode: str, surge: str, unavailable: str) -> DeployConfig:
    return DeployConfig.model_validate(
        {
            "defaultDeploymentMode": mode,
            "deploymentRolloutStrategy": {
                "defaultRollout": {"maxSurge": surge, "maxUnavailable": unavailable}
            },
        }
    )


@pytest.mark.parametrize(
    ("config", "surge", "unavailable"),
    [
        # a number of pods is an integer (upstream keeps "1", which the API server refuses)
        pytest.param(_deploy_config("Standard", "1", "1"), 1, 1, id="Standard mode"),
        pytest.param(_deploy_config("Standard", "50%", "0%"), "50%", "0%", id="percentages"),
        pytest.param(
            _deploy_config("Serverless", "50%", "25%"), "25%", "25%", id="not for Serverless"
        ),
        pytest.param(None, "25%", "25%", id="no deploy config"),
        pytest.param(
            DeployConfig.model_validate({"defaultDeploymentMode": "Standard"}),
            "25%",
            "25%",
            id="no rollout strategy configured",
        ),
        pytest.param(
            _deploy_config("Standard", "3", ""), 3, "25%", id="empty value keeps the default"
        ),
    ],
)
def test_apply_rollout_strategy_from_configmap(
    config: DeployConfig | None, surge: str | int, unavailable: str | int
) -> None:
    spec = set_default_deployment_spec(dspec({"selector": {}, "template": {}}))
    got = apply_rollout_strategy_from_configmap(spec, config)
    assert got.strategy is not None
    assert got.strategy.to_dict() == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }


def test_rollout_strategy_turns_recreate_into_rolling_update() -> None:
    spec = dspec({"selector": {}, "template": {}, "strategy": {"type": "Recreate"}})
    got = apply_rollout_strategy_from_configmap(spec, _deploy_config("Standard", "2", "0"))
    assert got.strategy is not None
    assert got.strategy.to_dict() == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0},
    }


USER_STRATEGY: dict[str, Any] = {
    "type": "RollingUpdate",
    "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "50%"},
}


@pytest.mark.parametrize(
    ("user_strategy", "config", "expected_spec"),
    [
        pytest.param(
            USER_STRATEGY,
            _deploy_config("Standard", "1", "1"),
            {"strategy": USER_STRATEGY},
            id="user strategy takes precedence over configmap (verbatim, no other defaults)",
        ),
        pytest.param(
            None,
            _deploy_config("Standard", "2", "1"),
            {
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            id="configmap strategy when no user strategy",
        ),
        pytest.param(
            None,
            _deploy_config("Serverless", "1", "1"),
            {
                "strategy": DEFAULT_STRATEGY,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            id="no configmap strategy for Serverless mode",
        ),
    ],
)
def test_create_raw_deployment_strategy_precedence(
    user_strategy: dict[str, Any] | None, config: DeployConfig, expected_spec: dict[str, Any]
) -> None:
    got = create_raw_default_deployment(
        meta({"name": "test-deployment", "namespace": "test-namespace", "labels": {}}),
        ext({"deploymentStrategy": user_strategy}),
        pod({"containers": [{"name": "test-container", "image": "test-image"}]}),
        config,
    )
    spec = got.to_dict()["spec"]
    assert {k: v for k, v in spec.items() if k not in ("selector", "template")} == expected_spec


def test_worker_strategy_forced_even_over_user_rolling_update() -> None:
    a = _args()
    got = create_raw_deployment(
        meta(a["meta"]),
        meta(a["worker_meta"]),
        ext({"deploymentStrategy": USER_STRATEGY}),
        pod(a["pod"]),
        pod(a["worker_pod"]),
        None,
    )
    assert got[0].to_dict()["spec"]["strategy"] == USER_STRATEGY
    assert got[1].to_dict()["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "0%"},
    }


def test_worker_recreate_strategy_is_kept() -> None:
    a = _args()
    got = create_raw_deployment(
        meta(a["meta"]),
        meta(a["worker_meta"]),
        ext({"deploymentStrategy": {"type": "Recreate"}}),
        pod(a["pod"]),
        pod(a["worker_pod"]),
        None,
    )
    assert got[1].to_dict()["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize(
    ("worker", "count"),
    [pytest.param(False, 1, id="default deployment"), pytest.param(True, 2, id="multi-node")],
)
def test_deployment_count(worker: bool, count: int) -> None:
    # upstream TestNewDeploymentReconciler
    head = {
        "containers": [
            {
                "name": "kserve-container",
                "image": "test-image",
                "env": [
                    {"name": "RAY_NODE_COUNT", "value": "2"},
                    {"name": "REQUEST_GPU_COUNT", "value": "1"},
                ],
            }
        ]
    }
    worker_pod = {
        "containers": [
            {
                "name": "worker-container",
                "image": "worker-image",
                "env": [{"name": "REQUEST_GPU_COUNT", "value": "1"}],
            }
        ]
    }
    got = create_raw_deployment(
        meta({"name": "test-predictor", "namespace": "test-ns"}),
        meta({"name": "worker-predictor", "namespace": "test-ns"}) if worker else None,
        ext(),
        pod(head),
        pod(worker_pod) if worker else None,
        None,
    )
    assert [d.metadata.name for d in got if d.metadata] == (
        ["test-predictor", "worker-predictor"] if worker else ["test-predictor"]
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            [
                {"name": "RAY_NODE_COUNT", "value": "two"},
                {"name": "REQUEST_GPU_COUNT", "value": "1"},
            ],
            "invalid RAY_NODE_COUNT of container kserve-container",
            id="RAY_NODE_COUNT not an integer",
        ),
        pytest.param(
            [{"name": "RAY_NODE_COUNT", "value": "2"}],
            "multi-node container kserve-container has no REQUEST_GPU_COUNT env var",
            id="REQUEST_GPU_COUNT missing",
        ),
        pytest.param(
            [{"name": "RAY_NODE_COUNT", "value": "2"}, {"name": "REQUEST_GPU_COUNT", "value": "x"}],
            "invalid REQUEST_GPU_COUNT 'x' for container kserve-container",
            id="REQUEST_GPU_COUNT not a quantity",
        ),
    ],
)
def test_multinode_env_errors(env: list[dict[str, str]], message: str) -> None:
    a = _args()
    a["pod"]["containers"][0]["env"] = env
    with pytest.raises(ValueError, match=message):
        create_raw_deployment(
            meta(a["meta"]),
            meta(a["worker_meta"]),
            ext(),
            pod(a["pod"]),
            pod(a["worker_pod"]),
            None,
        )


def test_bad_gpu_types_annotation() -> None:
    a = _args()
    a["meta"]["annotations"][GPU_ANN] = "custom.com/gpu"
    with pytest.raises(ValueError, match=r"invalid GPU format\(custom.com/gpu\)"):
        create_raw_deployment(
            meta(a["meta"]),
            meta(a["worker_meta"]),
            ext(),
            pod(a["pod"]),
            pod(a["worker_pod"]),
            None,
        )


def test_custom_gpu_type_from_multinode_config() -> None:
    a = _args()
    a["worker_pod"]["containers"][0]["resources"] = {"requests": {"example.com/tpu": "2"}}
    types = gpu_resource_types(MultiNodeConfig(customGPUResourceTypeList=["example.com/tpu"]))
    got = create_raw_deployment(
        meta(a["meta"]),
        meta(a["worker_meta"]),
        ext(),
        pod(a["pod"]),
        pod(a["worker_pod"]),
        None,
        types,
    )
    assert got[1].to_dict()["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"example.com/tpu": "1"},
        "requests": {"example.com/tpu": "1"},
    }


@pytest.mark.parametrize(
    ("count", "stored"),
    [("1000m", "1"), ("2", "2"), ("0", "0")],
)
def test_gpu_count_written_canonically(count: str, stored: str) -> None:
    dep = create_raw_default_deployment(meta(DEFAULT_META), None, pod(DEFAULT_POD), None)
    got = add_gpu_resource_to_deployment(dep, "kserve-container", count)
    resources = got.to_dict()["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {
        "limits": {"nvidia.com/gpu": stored},
        "requests": {"nvidia.com/gpu": stored},
    }
    assert "resources" not in dep.to_dict()["spec"]["template"]["spec"]["containers"][0]


def test_with_raw_app_label() -> None:
    got = with_raw_app_label(meta(DEFAULT_META))
    assert got.to_dict() == {
        **DEFAULT_META,
        "labels": {**DEFAULT_META["labels"], "app": "isvc.default-predictor"},
    }

"""controllers.reconcilers.utils: stop annotation, env vars on pod specs, component meta copies."""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import core_v1, meta_v1

from controllers.reconcilers.utils import (
    ContainerNotFoundError,
    add_env_var_to_pod_spec,
    add_inference_service_name_env,
    get_env_var_value,
    get_force_stop_runtime,
    object_meta,
)

STOP = "serving.kserve.io/stop"


def pod(d: dict[str, Any]) -> core_v1.PodSpec:
    return cast(core_v1.PodSpec, core_v1.PodSpec.from_dict(d))


@pytest.mark.parametrize(
    ("meta", "stopped"),
    [
        pytest.param(None, False, id="no meta"),
        pytest.param(meta_v1.ObjectMeta(name="a"), False, id="no annotations"),
        pytest.param(meta_v1.ObjectMeta(annotations={STOP: "true"}), True, id="true"),
        pytest.param(meta_v1.ObjectMeta(annotations={STOP: "TrUe"}), True, id="case-insensitive"),
        pytest.param(meta_v1.ObjectMeta(annotations={STOP: "yes"}), False, id="not true"),
        pytest.param({"annotations": {STOP: "True"}}, True, id="dict metadata (CRs)"),
        pytest.param({"name": "x"}, False, id="dict without annotations"),
    ],
)
def test_get_force_stop_runtime(meta: Any, stopped: bool) -> None:
    assert get_force_stop_runtime(meta) is stopped


def test_add_env_var_to_pod_spec() -> None:
    spec = pod(
        {
            "containers": [
                {"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}]},
                {"name": "b"},
            ]
        }
    )
    got = add_env_var_to_pod_spec(spec, "a", "X", "9")
    got = add_env_var_to_pod_spec(got, "a", "Y", "y")
    got = add_env_var_to_pod_spec(got, "b", "X", "b")
    assert [c.to_dict().get("env") for c in got.containers] == [
        [{"name": "X", "value": "9"}, {"name": "X", "value": "2"}, {"name": "Y", "value": "y"}],
        [{"name": "X", "value": "b"}],
    ]
    assert spec.containers[0].env is not None and spec.containers[0].env[0].value == "1"
    assert spec.containers[1].env is None
    assert get_env_var_value(got.containers[0].env, "X") == ("9", True)
    assert get_env_var_value(got.containers[1].env, "Z") == ("", False)
    with pytest.raises(ContainerNotFoundError, match=r"^target container\(c\) does not exist$"):
        add_env_var_to_pod_spec(spec, "c", "X", "1")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(None, [True, True], id="predictor: every container"),
        pytest.param(["transformer-container"], [False, True], id="transformer: its container"),
    ],
)
def test_add_inference_service_name_env(names: list[str] | None, expected: list[bool]) -> None:
    spec = pod({"containers": [{"name": "kserve-container"}, {"name": "transformer-container"}]})
    got = add_inference_service_name_env(spec, "my-isvc", names)
    assert [
        (c.env or []) == [core_v1.EnvVar(name="INFERENCE_SERVICE_NAME", value="my-isvc")]
        for c in got.containers
    ] == expected
    assert all(c.env is None for c in spec.containers)
    assert got is not spec


def test_object_meta() -> None:
    src = meta_v1.ObjectMeta(
        name="a",
        namespace="ns",
        labels={"l": "1"},
        annotations={},
        uid="u",
        resourceVersion="3",
    )
    got = object_meta(src)
    assert got.to_dict() == {"name": "a", "namespace": "ns", "labels": {"l": "1"}}
    got.labels["x"] = "y"  # type: ignore[index]
    assert src.labels == {"l": "1"}
    assert object_meta(src, name="b", labels={}).to_dict() == {"name": "b", "namespace": "ns"}

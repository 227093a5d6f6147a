"""controllers.reconcilers.autoscaler: which autoscaler object a component gets.

Ported from upstream ``autoscaler_reconciler_test.go``: TestGetAutoscalerClass (4 cases),
TestCreateAutoscaler and TestNewAutoscalerReconciler (the same 6 cases: the object kind per
class, error for an unknown class), TestExternalAutoscalerWithNilComponentExt,
TestNoneAutoscalerWithNilComponentExt. Not ported: TestAutoscalerReconciler_Reconcile (it only
checks that a wrapper forwards a Go call) and TestNoOpAutoscaler (a type with no behaviour).
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from lightkube.models import meta_v1
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler

from apis.serving.v1beta1.component import ComponentExtensionSpec
from apis.serving.v1beta1.configmap import AutoscalerConfig, OtelCollectorConfig
from controllers.reconcilers.autoscaler import (
    UnknownAutoscalerClassError,
    create_autoscaler,
    get_autoscaler_class,
)
from controllers.reconcilers.hpa import create_hpa
from controllers.reconcilers.keda import create_keda_scaled_object

CLASS = "serving.kserve.io/autoscalerClass"


def meta(annotations: dict[str, str] | None) -> meta_v1.ObjectMeta:
    d: dict[str, Any] = {"name": "my-model", "namespace": "test"}
    if annotations is not None:
        d["annotations"] = annotations
    return cast(meta_v1.ObjectMeta, meta_v1.ObjectMeta.from_dict(d))


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param({}, "hpa", id="default when the annotation is not set"),
        pytest.param(None, "hpa", id="default without annotations"),
        pytest.param({CLASS: "hpa"}, "hpa", id="hpa"),
        pytest.param({CLASS: "external"}, "external", id="external"),
        pytest.param({CLASS: "none"}, "none", id="none"),
        pytest.param({CLASS: "keda"}, "keda", id="keda"),
        pytest.param({CLASS: ""}, "", id="an empty value is returned as is"),
    ],
)
def test_get_autoscaler_class(annotations: dict[str, str] | None, expected: str) -> None:
    assert get_autoscaler_class(meta(annotations)) == expected


@pytest.mark.parametrize(
    ("annotations", "component_ext", "kind"),
    [
        pytest.param({}, {}, "hpa", id="HPA for default (no annotation)"),
        pytest.param({CLASS: "hpa"}, {}, "hpa", id="HPA for hpa"),
        pytest.param({CLASS: "external"}, {}, "hpa", id="HPA for external"),
        pytest.param({CLASS: "none"}, {}, "hpa", id="HPA for none"),
        pytest.param({CLASS: "keda"}, {}, "keda", id="ScaledObject for keda"),
        pytest.param({CLASS: "external"}, None, "hpa", id="external with nil componentExt"),
        pytest.param({CLASS: "none"}, None, "hpa", id="none with nil componentExt"),
    ],
)
def test_create_autoscaler(
    annotations: dict[str, str], component_ext: dict[str, Any] | None, kind: str
) -> None:
    m = meta(annotations)
    e = None if component_ext is None else ComponentExtensionSpec.model_validate(component_ext)
    got = create_autoscaler(m, e, OtelCollectorConfig(), AutoscalerConfig())
    if kind == "hpa":
        assert isinstance(got, HorizontalPodAutoscaler)
        assert got.to_dict() == create_hpa(m, e).to_dict()
    else:
        assert got == create_keda_scaled_object(m, e, OtelCollectorConfig(), AutoscalerConfig())
        assert isinstance(got, dict) and got["kind"] == "ScaledObject"


@pytest.mark.parametrize("value", ["unknown", "kpa", ""])
def test_unknown_autoscaler_class(value: str) -> None:
    with pytest.raises(
        UnknownAutoscalerClassError, match=f"^unknown autoscaler class type: {value}$"
    ):
        create_autoscaler(
            meta({CLASS: value}),
            ComponentExtensionSpec(),
            OtelCollectorConfig(),
            AutoscalerConfig(),
        )

"""Upstream's Knative stop vectors (``controller_test.go`` "serving.kserve.io/stop", 12 Its:
predictor only, with a transformer, with an explainer; four each): ``stop: "false"`` at
create keeps the Knative Services, the VirtualService and the ExternalName Service and the
InferenceService becomes Ready; ``"true"`` at create creates none of them (checked for 3 s,
upstream's ``fastTimeout``); ``"true"`` later deletes them; ``"false"`` later recreates them.
Two tests per variant cover the four Its (false -> true, true -> false); each step checks the
whole status.

Stopped status (upstream's): everything cleared but ``deploymentMode``, PredictorReady (hence
Ready), the other components and IngressReady False ``Stopped``, Stopped True; no
RoutesReady/LatestDeploymentReady while stopped. As in Standard mode, ``servingRuntimeName``
is written with it at once (upstream's status flaps: cleared, then set again)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Service

from apis.serving.v1alpha1 import ServingRuntime
from controllers.thirdparty import KnativeService, VirtualService
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    defaulted,
    eventually_status,
    get,
    tf_serving_runtime,
    upstream_config,
)
from .knative_env import component_url, knative_crds, knative_manager, ksvc_status, patch_isvc
from .test_isvc_knative import ready_status

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

VARIANTS = ["predictor", "transformer", "explainer"]
STOP = "serving.kserve.io/stop"
REVISIONS = {"predictor": "revision-v1", "transformer": "t-revision-v1",
             "explainer": "e-revision-v1"}


@pytest.fixture(scope="module")
def crds(envtest: Any) -> Iterator[None]:
    yield from knative_crds(envtest)


def case(variant: str, name: str, ns: str, stop: str) -> dict[str, Any]:
    """Upstream's ``defaultIsvc`` / ``defaultTransformerIsvc`` / ``defaultExplainerIsvc``."""
    spec: dict[str, Any] = {"predictor": {
        "minReplicas": 1, "maxReplicas": 3,
        "tensorflow": {"storageUri": x.STORAGE_URI, "runtimeVersion": "1.14.0",
                       "name": "kserve-container", "resources": DEFAULT_RESOURCES}}}
    if variant == "transformer":
        spec["transformer"] = {"minReplicas": 1, "maxReplicas": 3, "containers": [
            {"image": "transformer:v1", "resources": DEFAULT_RESOURCES}]}
    elif variant == "explainer":
        spec["explainer"] = {"minReplicas": 1, "maxReplicas": 2, "scaleTarget": 80,
                             "timeout": 30,
                             "art": {"type": "SquareAttack", "config": {"nb_classes": "10"},
                                     "name": "kserve-container", "resources": DEFAULT_RESOURCES,
                                     "runtimeVersion": "latest"}}
    return {"metadata": {"name": name, "namespace": ns,
                         "annotations": {"serving.kserve.io/deploymentMode": "Knative",
                                         STOP: stop}},
            "spec": spec}


def owned(variant: str, name: str) -> list[tuple[Any, str]]:
    out = [(KnativeService, f"{name}-predictor"), (VirtualService, name), (Service, name)]
    if variant != "predictor":
        out.append((KnativeService, f"{name}-{variant}"))
    return out


def components(variant: str, name: str, ns: str) -> list[str]:
    return ["predictor"] + ([variant] if variant != "predictor" else [])


async def make_ready(kube: AsyncClient, variant: str, name: str, ns: str) -> None:
    """Knative's part: each component's Knative Service Ready with its URL."""
    for comp in components(variant, name, ns):
        await ksvc_status(kube, f"{name}-{comp}", ns, revision=REVISIONS[comp],
                          url=component_url(comp, name, ns))


def running(variant: str, name: str, ns: str) -> dict[str, Any]:
    return ready_status(name, ns, {c: (REVISIONS[c], component_url(c, name, ns))
                                   for c in components(variant, name, ns)})


def stopped(variant: str) -> dict[str, Any]:
    conds = [{"type": "IngressReady", "status": "False", "reason": "Stopped"},
             {"type": "PredictorReady", "status": "False", "reason": "Stopped"},
             {"type": "Ready", "status": "False", "reason": "Stopped"},
             {"type": "Stopped", "status": "True", "severity": "Info"}]
    if variant != "predictor":
        cond = "TransformerReady" if variant == "transformer" else "ExplainerReady"
        conds.append({"type": cond, "status": "False", "reason": "Stopped", "severity": "Info"})
        conds.sort(key=lambda c: c["type"])
    return {"conditions": conds, "modelStatus": {"transitionStatus": ""},
            "deploymentMode": "Knative", "servingRuntimeName": "tf-serving"}


async def all_exist(kube: AsyncClient, objects: list[tuple[Any, str]], ns: str) -> bool:
    return all([await get(kube, kind, n, ns) is not None for kind, n in objects])


async def none_exist(kube: AsyncClient, objects: list[tuple[Any, str]], ns: str) -> bool:
    return all([await get(kube, kind, n, ns) is None for kind, n in objects])


@pytest.mark.parametrize("variant", VARIANTS)
async def test_running_then_stopped(envtest: Any, kube_client: AsyncClient, namespace: str,
                                    crds: None, variant: str) -> None:
    """``stop: "false"`` at create: the Knative Services, the VirtualService and the
    ExternalName Service exist, Ready; ``"true"`` later deletes them all, status stopped."""
    ns, name = namespace, f"stop-edit-true-{variant[:5]}"
    async with knative_manager(envtest, kube_client, ns, upstream_config(gateway_api=False)) \
            as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(defaulted(case(variant, name, ns, "false")))
        await eventually(lambda: get(kube_client, KnativeService, f"{name}-predictor", ns))
        await make_ready(kube_client, variant, name, ns)
        await eventually(lambda: all_exist(kube_client, owned(variant, name), ns))
        await eventually_status(kube_client, name, ns, running(variant, name, ns))

        await patch_isvc(kube_client, name, ns, {"metadata": {"annotations": {STOP: "true"}}})
        await eventually(lambda: none_exist(kube_client, owned(variant, name), ns))
        await eventually_status(kube_client, name, ns, stopped(variant))


@pytest.mark.parametrize("variant", VARIANTS)
async def test_stopped_then_resumed(envtest: Any, kube_client: AsyncClient, namespace: str,
                                    crds: None, variant: str) -> None:
    """``stop: "true"`` at create: nothing is created (3 s), the status says stopped;
    ``"false"`` later creates everything and the InferenceService becomes Ready."""
    ns, name = namespace, f"stop-edit-false-{variant[:5]}"
    async with knative_manager(envtest, kube_client, ns, upstream_config(gateway_api=False)) \
            as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf-serving",
                                                                                 ns)))
        await run.client.create(defaulted(case(variant, name, ns, "true")))
        await eventually_status(kube_client, name, ns, stopped(variant))
        with anyio.move_on_after(3):
            while True:
                assert await none_exist(kube_client, owned(variant, name), ns)
                await anyio.sleep(0.25)

        await patch_isvc(kube_client, name, ns, {"metadata": {"annotations": {STOP: "false"}}})
        await eventually(lambda: get(kube_client, KnativeService, f"{name}-predictor", ns))
        for comp in components(variant, name, ns)[1:]:
            await eventually(lambda c=comp: get(kube_client, KnativeService, f"{name}-{c}", ns))
        await make_ready(kube_client, variant, name, ns)
        await eventually(lambda: all_exist(kube_client, owned(variant, name), ns))
        await eventually_status(kube_client, name, ns, running(variant, name, ns))

"""Bad input to the InferenceService controller: each problem is a condition reason on the
InferenceService and a Warning event naming it; the manager keeps running and the other
InferenceServices are not touched (no write to their objects).

- no runtime for the model format, the only runtime disabled, the protocol unsupported, an
  explicit runtime that does not exist, an unparseable storage URI;
- a malformed ``inferenceservice-config`` key: a Warning event on the ConfigMap,
  InferenceServiceConfigValid False on every InferenceService, the last good config stays
  in force (new InferenceServices deploy with it), repaired -> the condition goes;
- ``enableGatewayApi`` with no HTTPRoute CRD: IngressReady False naming the kind; the CRD
  installed later -> the routes come without a restart.

Beyond upstream: upstream leaves PredictorReady Unknown for runtime and storage URI
problems (only ``modelStatus`` / the event tell), panics on some malformed keys and fails
at startup without the HTTPRoute CRD.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from lightkube import AsyncClient
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.events_v1 import Event
from lightkube.resources.networking_v1 import Ingress

from apis.serving.v1alpha1 import ServingRuntime
from controllers.config import CONFIG_MAP_NAME
from controllers.thirdparty import HTTPRoute
from runtime.testing.eventually import eventually

from . import isvc_expected as x
from .isvc_env import (
    DEFAULT_RESOURCES,
    accept_routes,
    crd_installed,
    defaulted,
    deployment_available,
    get,
    install_crds,
    isvc_manager,
    isvc_status,
    tf_serving_runtime,
    uninstall_crds,
    upstream_config,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"


def config(gateway_api: bool = False, **merge: Any) -> dict[str, str]:
    return upstream_config(gateway_api=gateway_api,
                           **{"deploy": {"defaultDeploymentMode": "Standard"}, **merge})


def isvc(name: str, ns: str, **model: Any) -> Any:
    spec: dict[str, Any] = {"modelFormat": {"name": "tensorflow"}, "storageUri": x.STORAGE_URI,
                            "runtimeVersion": "1.14.0", "resources": DEFAULT_RESOURCES}
    spec.update(model)
    return defaulted({"metadata": {"name": name, "namespace": ns},
                      "spec": {"predictor": {"model": spec}}})


async def condition(kube: AsyncClient, name: str, ns: str, ctype: str) -> dict[str, Any] | None:
    st = await isvc_status(kube, name, ns) or {}
    return {c["type"]: c for c in st.get("conditions") or ()}.get(ctype)


async def warnings(kube: AsyncClient, ns: str, name: str, reason: str) -> list[Any]:
    return [e async for e in kube.list(Event, namespace=ns)
            if e.reason == reason and e.regarding.name == name and e.type == "Warning"]


async def make_ready(run: Any, kube: AsyncClient, name: str, ns: str) -> None:
    await deployment_available(kube, f"{name}-predictor", ns)
    await wait_ready(run.client, name, ns)


async def versions(kube: AsyncClient, ns: str, name: str) -> dict[str, str]:
    """resourceVersions of an InferenceService's Deployment and Ingress."""
    out = {}
    for kind, obj in ((Deployment, f"{name}-predictor"), (Ingress, name)):
        found = await get(kube, kind, obj, ns)
        assert found is not None, obj
        out[obj] = found.metadata.resourceVersion
    return out


@pytest.mark.parametrize(("case", "model", "reason", "note"), [
    ("no-runtime", {"modelFormat": {"name": "unknownfmt"}}, "NoSupportingRuntime",
     "no runtime found to support predictor with model type: {unknownfmt <nil>}"),
    ("disabled-runtime", {"modelFormat": {"name": "onlydisabled"}}, "NoSupportingRuntime",
     "no runtime found to support predictor with model type: {onlydisabled <nil>}"),
    ("unsupported-protocol", {"modelFormat": {"name": "v1only"}, "protocolVersion": "grpc-v2"},
     "NoSupportingRuntime", "no runtime found to support predictor with model type"),
    ("missing-runtime", {"runtime": "nowhere"}, "RuntimeNotRecognized", "nowhere"),
    ("bad-storage-uri", {"storageUri": "foo://bar/baz"}, "ReconcileFailed",
     "StorageUri [foo://bar/baz] is not supported"),
])
async def test_bad_spec_is_a_condition_and_an_event(
        envtest: Any, kube_client: AsyncClient, namespace: str, case: str,
        model: dict[str, Any], reason: str, note: str) -> None:
    ns = namespace
    async with isvc_manager(envtest, kube_client, ns, config()) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf", ns)))
        disabled = tf_serving_runtime("tf-disabled", ns)
        disabled["spec"]["supportedModelFormats"][0]["name"] = "onlydisabled"
        disabled["spec"]["disabled"] = True
        v1only = tf_serving_runtime("tf-v1-only", ns)
        v1only["spec"]["supportedModelFormats"][0]["name"] = "v1only"
        v1only["spec"]["protocolVersions"] = ["v1"]
        for rt in (disabled, v1only):
            await run.client.create(ServingRuntime.model_validate(rt))
        await run.client.create(isvc("good", ns))
        await make_ready(run, kube_client, "good", ns)
        await anyio.sleep(1)
        before = await versions(kube_client, ns, "good")
        good_status = await isvc_status(kube_client, "good", ns)

        name = f"bad-{case}"
        await run.client.create(isvc(name, ns, **model))

        async def predictor_reason() -> Any:
            c = await condition(kube_client, name, ns, "PredictorReady")
            return c if c is not None and c.get("reason") == reason else None

        c = await eventually(predictor_reason)
        assert c["status"] == "False" and c.get("message"), c
        found = await eventually(lambda: warnings(kube_client, ns, name, "InternalError"))
        assert note in found[0].note, found[0].note
        assert await get(kube_client, Deployment, f"{name}-predictor", ns) is None

        # the others: untouched, and the manager still works
        assert await versions(kube_client, ns, "good") == before
        assert await isvc_status(kube_client, "good", ns) == good_status
        await run.client.create(isvc("after", ns))
        await make_ready(run, kube_client, "after", ns)


async def test_malformed_config_keeps_the_last_good_one(envtest: Any, kube_client: AsyncClient,
                                                        namespace: str) -> None:
    ns = namespace
    good_config = config()
    async with isvc_manager(envtest, kube_client, ns, good_config) as run:
        await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf", ns)))
        await run.client.create(isvc("good", ns))
        await make_ready(run, kube_client, "good", ns)
        await anyio.sleep(1)
        before = await versions(kube_client, ns, "good")

        broken = {**good_config, "ingress": "{not json",
                  "storageInitializer": json.dumps({**json.loads(
                      good_config["storageInitializer"]), "memoryRequest": "lots"})}
        await kube_client.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns),
                                          data=broken), field_manager="test", force=True)

        async def invalid() -> Any:
            c = await condition(kube_client, "good", ns, "InferenceServiceConfigValid")
            return c if c is not None and c["status"] == "False" else None

        c = await eventually(invalid)
        assert c["reason"] == "MalformedConfig" and c.get("severity") == "Info", c
        assert "inferenceservice-config" in c["message"], c
        found = await eventually(lambda: warnings(kube_client, ns, CONFIG_MAP_NAME,
                                                  "InvalidConfig"))
        assert "inferenceservice-config" in found[0].note, found[0].note
        # still Ready, nothing rewritten
        assert (await condition(kube_client, "good", ns, "Ready") or {})["status"] == "True"
        assert await versions(kube_client, ns, "good") == before

        # a new InferenceService deploys with the last good config, and says so
        await run.client.create(isvc("during", ns))
        await make_ready(run, kube_client, "during", ns)
        assert (await condition(kube_client, "during", ns, "InferenceServiceConfigValid")
                or {}).get("reason") == "MalformedConfig"
        assert await get(kube_client, Ingress, "during", ns) is not None

        await kube_client.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns),
                                          data=good_config), field_manager="test", force=True)
        for name in ("good", "during"):
            await eventually(lambda n=name: _none(condition(kube_client, n, ns,
                                                            "InferenceServiceConfigValid")))


async def _none(value: Any) -> bool:
    return await value is None


async def test_gateway_api_kind_absent(envtest: Any, kube_client: AsyncClient,
                                       namespace: str) -> None:
    """``enableGatewayApi`` while the HTTPRoute CRD is absent: the workloads are deployed,
    IngressReady False naming the kind, an InternalError event; the CRD installed later ->
    the routes come and the InferenceService becomes Ready, no restart."""
    ns, name = namespace, "needs-routes"
    if crd_installed(envtest, HTTPROUTE_CRD):
        await anyio.to_thread.run_sync(uninstall_crds, envtest, [HTTPROUTE_CRD])
    try:
        async with isvc_manager(envtest, kube_client, ns, config(gateway_api=True)) as run:
            await run.client.create(ServingRuntime.model_validate(tf_serving_runtime("tf", ns)))
            await run.client.create(isvc(name, ns))
            await deployment_available(kube_client, f"{name}-predictor", ns)

            async def ingress_reason() -> Any:
                c = await condition(kube_client, name, ns, "IngressReady")
                return c if c is not None and c["status"] == "False" else None

            c = await eventually(ingress_reason)
            assert c["reason"] == "ReconcileFailed", c
            assert "HTTPRoute.gateway.networking.k8s.io is not served" in c["message"], c
            found = await eventually(lambda: warnings(kube_client, ns, name, "InternalError"))
            assert "HTTPRoute" in found[0].note

            await anyio.to_thread.run_sync(install_crds, envtest, HTTPROUTE_CRD)
            await eventually(lambda: get(kube_client, HTTPRoute, name, ns), within=60)
            await accept_routes(kube_client, ns, name, f"{name}-predictor")
            await wait_ready(run.client, name, ns)
    finally:
        await anyio.to_thread.run_sync(install_crds, envtest, HTTPROUTE_CRD)

"""The manager restarted while its webhooks stay registered (``failurePolicy: Fail``): while it
is down the API server refuses InferenceServices with a clear error and stores nothing; once
it is back (same port, a new dev CA patched in) creates go through again, and nothing that
was accepted is lost. Also: the shipped config/webhook kustomization is accepted by the API
server as is (server-side dry run)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from lightkube import AsyncClient, KubeConfig

from runtime.client import Client
from tests.integration._webhook_harness import (
    api,
    create,
    delete_configurations,
    object_path,
    webhook_manager,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]


def isvc(ns: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"predictor": {"sklearn": {"storageUri": "gs://kfserving/m"}}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_manager_restart_with_webhooks_registered(envtest: Any, namespace: str) -> None:
    kube = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="test")
    client = Client(kube, None)
    port = free_port()
    config_ns = f"kserve-wh-{uuid.uuid4().hex[:6]}"
    try:
        async with webhook_manager(envtest, kube, port=port, config_namespace=config_ns,
                                   remove=False):
            assert (await create(client, isvc(namespace, "before"))).status_code == 201
        # down: refused by the API server (failurePolicy Fail), clearly, and nothing stored
        resp = await create(client, isvc(namespace, "while-down"))
        body = resp.json()
        assert resp.status_code == 500, body
        assert body["reason"] == "InternalError"
        assert ('failed calling webhook "inferenceservice.kserve-webhook-server.defaulter"'
                in body["message"])
        assert "connection refused" in body["message"]
        assert (await api(client, "GET", object_path(isvc(namespace, "x"), "while-down"))
                ).status_code == 404
        # back on the same port with a new certificate authority, patched in at start
        async with webhook_manager(envtest, kube, port=port, config_namespace=config_ns,
                                   install=False):
            resp = await create(client, isvc(namespace, "while-down"))
            assert resp.status_code == 201, resp.json()
            got = await api(client, "GET", object_path(isvc(namespace, "x")))
            names = sorted(i["metadata"]["name"] for i in got.json()["items"])
            assert names == ["before", "while-down"]
            assert got.json()["items"][0]["spec"]["predictor"]["model"]["modelFormat"] == {
                "name": "sklearn"}
    finally:
        await delete_configurations(kube)
        await kube.close()


async def test_shipped_kustomization_is_accepted(envtest: Any) -> None:
    kubectl = Path(os.environ["KUBEBUILDER_ASSETS"]) / "kubectl"
    if not kubectl.exists():
        pytest.fail(f"{kubectl} is missing (make envtest builds it)")
    done = await anyio.run_process([str(kubectl), "kustomize", str(ROOT / "config" / "webhook")])
    out = done.stdout.decode()
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert sorted(d["kind"] for d in docs) == [
        "MutatingWebhookConfiguration", "Service", *["ValidatingWebhookConfiguration"] * 5]
    kube = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_path), field_manager="test")
    client = Client(kube, None)
    try:
        for doc in docs:
            if doc["kind"] == "Service":
                continue  # its namespace (kserve) need not exist here
            group = "admissionregistration.k8s.io/v1"
            plural = ("mutatingwebhookconfigurations" if doc["kind"].startswith("Mutating")
                      else "validatingwebhookconfigurations")
            resp = await api(client, "POST", f"/apis/{group}/{plural}?dryRun=All", doc)
            assert resp.status_code == 201, resp.json()
    finally:
        await kube.close()

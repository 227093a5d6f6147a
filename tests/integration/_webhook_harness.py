"""The manager's webhooks on envtest, called by the real kube-apiserver over HTTPS.

:func:`webhook_manager` starts a Manager in-process with ``setup_webhooks`` on a webhook
server bound to 127.0.0.1 (an ephemeral port, or a given one), in development mode: it makes
its own CA and serving certificate and patches ``caBundle`` plus a
``url: https://127.0.0.1:<port><path>`` into the WebhookConfigurations of ``config/webhook``,
which :func:`install_configurations` created beforehand exactly as shipped (service
references). The ``inferenceservice-config`` lives in its own namespace. Everything is
removed at the end: a configuration left behind with ``failurePolicy: Fail`` would refuse
every later test's objects.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import yaml
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import (
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
from lightkube.resources.core_v1 import ConfigMap, Namespace

from controllers.config import CONFIG_MAP_NAME
from controllers.webhooks.registration import (
    MUTATING_CONFIGURATIONS,
    VALIDATING_CONFIGURATIONS,
    KServeWebhooks,
    setup_webhooks,
)
from e2e.local import VALIDATOR_NAME, webhook_probe
from runtime.client import Client
from runtime.manager import Manager
from runtime.testing.eventually import eventually
from runtime.webhook import DevCertificates, WebhookServer, webhook_server_for

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_DIR = ROOT / "config" / "webhook"


def shipped_config(**overrides: Mapping[str, Any]) -> dict[str, str]:
    """``config/configmap/inferenceservice.yaml`` in Standard mode with local models on and
    ``overrides`` merged over its keys."""
    doc = yaml.safe_load((ROOT / "config/configmap/inferenceservice.yaml").read_text())
    data: dict[str, str] = dict(doc["data"])
    merged: dict[str, Mapping[str, Any]] = {
        "deploy": {"defaultDeploymentMode": "Standard"},
        "localModel": {"enabled": True},
        **overrides,
    }
    for key, value in merged.items():
        base = json.loads(data[key]) if key in data else {}
        base.update(value)
        data[key] = json.dumps(base)
    return data


def configuration_docs() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in ("manifests.yaml", "localmodel/manifests.yaml"):
        out += [d for d in yaml.safe_load_all((WEBHOOK_DIR / f).read_text()) if d]
    return out


async def install_configurations(kube: AsyncClient) -> None:
    """Create the shipped configurations (replacing any left over)."""
    await delete_configurations(kube)
    for doc in configuration_docs():
        kind = (MutatingWebhookConfiguration if doc["kind"] == "MutatingWebhookConfiguration"
                else ValidatingWebhookConfiguration)
        await kube.create(kind.from_dict(doc))  # type: ignore[call-overload]


async def delete_configurations(kube: AsyncClient) -> None:
    for kind, names in ((MutatingWebhookConfiguration, MUTATING_CONFIGURATIONS),
                        (ValidatingWebhookConfiguration, VALIDATING_CONFIGURATIONS)):
        for name in names:
            try:
                await kube.delete(kind, name)
            except ApiError as err:
                if err.status.code != 404:
                    raise


@dataclass
class Webhooks:
    """A running manager with the webhooks, and what tests need around it."""

    mgr: Manager
    hooks: KServeWebhooks
    dev: DevCertificates
    config_namespace: str
    client: Client  # uncached reads and writes as cluster-admin

    @property
    def server(self) -> WebhookServer:
        return self.hooks.server

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.dev.ca_pem.decode())


async def _ensure_namespace(kube: AsyncClient, name: str) -> None:
    try:
        await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    except ApiError as err:
        if err.status.code != 409:
            raise


@asynccontextmanager
async def webhook_manager(
    envtest: Any,
    kube: AsyncClient,
    *,
    port: int = 0,
    config: Mapping[str, str] | None = None,
    config_namespace: str | None = None,
    install: bool = True,
    remove: bool = True,
    **setup: Any,
) -> AsyncIterator[Webhooks]:
    """Start the manager with the webhooks (see the module docstring); on exit stop it and,
    with ``remove``, delete the configurations."""
    ns = config_namespace or f"kserve-wh-{uuid.uuid4().hex[:6]}"
    await _ensure_namespace(kube, ns)
    await kube.apply(ConfigMap(metadata=ObjectMeta(name=CONFIG_MAP_NAME, namespace=ns),
                               data=dict(config if config is not None else shipped_config())),
                     field_manager="test", force=True)
    if install:
        await install_configurations(kube)
    mgr = Manager(str(envtest.kubeconfig_path), metrics_bind_address="0",
                  health_probe_bind_address="127.0.0.1:0", graceful_shutdown_timeout=10)
    dev = DevCertificates(mgr.client, mutating=MUTATING_CONFIGURATIONS,
                          validating=VALIDATING_CONFIGURATIONS, url_host="127.0.0.1")
    cert_dir = Path(envtest.dir) / f"webhook-certs-{uuid.uuid4().hex[:6]}"
    server = webhook_server_for(mgr, host="127.0.0.1", port=port, cert_dir=cert_dir, dev=dev,
                                shutdown_timeout=5)
    hooks = setup_webhooks(mgr, namespace=ns, **setup)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(mgr.start)
            try:
                await eventually(lambda: server.started and bool(dev.patched), within=60)
                client = Client(kube, None)
                await eventually(lambda: _answered(client, ns), within=30, interval=0.1)
                yield Webhooks(mgr, hooks, dev, ns, client)
            finally:
                mgr.stop()
    finally:
        if remove:
            await delete_configurations(kube)


async def _answered(client: Client, namespace: str) -> bool:
    """The validator refused :func:`e2e.local.webhook_probe`: the configurations as patched
    are in effect (until then a request may go to the old address or fail the old CA)."""
    probe = webhook_probe(namespace)
    resp = await api(client, "POST", object_path(probe) + "?dryRun=All", probe)
    return resp.status_code == 403 and VALIDATOR_NAME in resp.text


# ------------------------------------------------------------------------------ raw API calls

PLURALS = {
    "InferenceService": "inferenceservices", "ServingRuntime": "servingruntimes",
    "ClusterServingRuntime": "clusterservingruntimes", "TrainedModel": "trainedmodels",
    "InferenceGraph": "inferencegraphs", "LocalModelCache": "localmodelcaches",
    "LocalModelNamespaceCache": "localmodelnamespacecaches",
    "LocalModelNodeGroup": "localmodelnodegroups", "Pod": "pods", "Node": "nodes",
}
CLUSTER_SCOPED = {"ClusterServingRuntime", "LocalModelCache", "LocalModelNodeGroup", "Node"}


def object_path(obj: Mapping[str, Any], name: str | None = None) -> str:
    """The collection path of ``obj`` (or of the object ``name``)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    ns = obj.get("metadata", {}).get("namespace")
    if kind not in CLUSTER_SCOPED and ns:
        base += f"/namespaces/{ns}"
    base += f"/{PLURALS[kind]}"
    return f"{base}/{name}" if name else base


async def api(client: Client, method: str, path: str, body: Any = None,
              content_type: str = "application/json") -> Any:
    """One raw request as cluster-admin; the httpx response (status, JSON, Warning headers)."""
    content = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": content_type} if content is not None else None
    return await client.http.request(method, path, content=content, headers=headers)


async def create(client: Client, obj: Mapping[str, Any]) -> Any:
    return await api(client, "POST", object_path(obj), obj)


def warnings_of(resp: Any) -> list[str]:
    """The ``Warning: 299 - "..."`` headers of a response, unquoted."""
    out = []
    for value in resp.headers.get_list("warning"):
        text = value.split(" ", 2)[2] if value.startswith("299 ") else value
        out.append(text.strip().strip('"').replace('\\"', '"'))
    return out

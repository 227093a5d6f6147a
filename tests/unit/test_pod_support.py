"""Builders shared by the pod mutator tests (``test_pod_*.py``): pods, containers, Secrets and
the configs upstream's tests use, as JSON. No tests here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

from apis.serving.v1alpha1 import ClusterStorageContainer
from apis.serving.v1beta1.configmap import (
    CredentialConfig,
    InferenceServiceConfig,
    StorageInitializerConfig,
    parse_inferenceservice_config,
)
from controllers.storage.credentials import CredentialBuilder
from controllers.webhooks.pod.storage_initializer import inject_storage_initializer

JsonDict = dict[str, Any]

SRC = "internal.serving.kserve.io/storage-initializer-sourceuri"
READONLY = "storage.kserve.io/readonly"
KSERVE = "kserve-container"
TRANSFORMER = "transformer-container"
WORKER = "worker-container"
SI = "storage-initializer"
SI_IMAGE = "kserve/storage-initializer:latest"
MODELS = "/mnt/models"
PROVISION = "kserve-provision-location"

#: upstream ``storageInitializerConfig`` (storage_initializer_injector_test.go)
SI_CONFIG = StorageInitializerConfig(
    cpuRequest="100m",
    cpuLimit="1",
    memoryRequest="200Mi",
    memoryLimit="1Gi",
    caBundleConfigMapName="",
    caBundleVolumeMountPath="/etc/ssl/custom-certs",
)
#: upstream ``resourceRequirement``
RESOURCES = {
    "limits": {"cpu": "1", "memory": "1Gi"},
    "requests": {"cpu": "100m", "memory": "200Mi"},
}
HF_ENV = [
    {"name": "HF_HUB_ENABLE_HF_TRANSFER", "value": "1"},
    {"name": "HF_XET_HIGH_PERFORMANCE", "value": "1"},
    {"name": "HF_XET_NUM_CONCURRENT_RANGE_GETS", "value": "8"},
]
PROVISION_VOLUME = {"name": PROVISION, "emptyDir": {}}
PROVISION_MOUNT_RO = {"name": PROVISION, "mountPath": MODELS, "readOnly": True}
PROVISION_MOUNT_RW = {"name": PROVISION, "mountPath": MODELS}

#: upstream TestCredentialInjection's ``credentials`` key
CREDENTIALS_JSON = json.dumps(
    {
        "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
        "s3": {
            "s3AccessKeyIDName": "awsAccessKeyID",
            "s3SecretAccessKeyName": "awsSecretAccessKey",
        },
    }
)

#: the four keys upstream's mutator_test.go ConfigMap carries
MUTATOR_CONFIG_DATA = {
    "storageInitializer": json.dumps(
        {
            "image": "kserve/storage-initializer:latest",
            "memoryRequest": "100Mi",
            "memoryLimit": "1Gi",
            "cpuRequest": "100m",
            "cpuLimit": "1",
            "cpuModelcar": "100m",
            "memoryModelcar": "50Mi",
            "storageSpecSecretName": "storage-config",
        }
    ),
    "logger": json.dumps(
        {
            "image": "kserve/agent:latest",
            "memoryRequest": "100Mi",
            "memoryLimit": "1Gi",
            "cpuRequest": "100m",
            "cpuLimit": "1",
            "defaultUrl": "http://default-broker",
        }
    ),
    "batcher": json.dumps(
        {
            "image": "kserve/agent:latest",
            "memoryRequest": "1Gi",
            "memoryLimit": "1Gi",
            "cpuRequest": "1",
            "cpuLimit": "1",
        }
    ),
    "agent": json.dumps(
        {
            "image": "kserve/agent:latest",
            "memoryRequest": "100Mi",
            "memoryLimit": "1Gi",
            "cpuRequest": "100m",
            "cpuLimit": "1",
        }
    ),
}


def mutator_config(**extra: Any) -> InferenceServiceConfig:
    """The mutator_test.go ConfigMap, with keys added or replaced (values: JSON-able)."""
    data = dict(MUTATOR_CONFIG_DATA)
    for key, value in extra.items():
        data[key] = value if isinstance(value, str) else json.dumps(value)
    return parse_inferenceservice_config(data)


def container(name: str, **fields: Any) -> JsonDict:
    return {"name": name, **fields}


def pod(
    annotations: Mapping[str, str] | None = None,
    containers: Iterable[JsonDict] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    name: str | None = None,
    namespace: str | None = None,
    **spec: Any,
) -> JsonDict:
    meta: JsonDict = {}
    if name is not None:
        meta["name"] = name
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = dict(labels)
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    body: JsonDict = {"containers": list(containers or [container(KSERVE)]), **spec}
    return {"metadata": meta, "spec": body}


def si_container(
    args: list[str],
    env: list[JsonDict] | None = None,
    mounts: list[JsonDict] | None = None,
    *,
    image: str = SI_IMAGE,
    resources: JsonDict | None = None,
    **extra: Any,
) -> JsonDict:
    """The storage-initializer init container as the injector writes it."""
    out: JsonDict = {
        "name": SI,
        "image": image,
        "args": args,
        "resources": resources or RESOURCES,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": mounts if mounts is not None else [PROVISION_MOUNT_RW],
        "env": env if env is not None else list(HF_ENV),
    }
    out.update(extra)
    return out


def secret_ref(name: str, secret: str, key: str) -> JsonDict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def secret(
    name: str,
    data: Mapping[str, str] | Iterable[str],
    annotations: Mapping[str, str] | None = None,
) -> JsonDict:
    """A Secret as the API returns it (``data`` base64); an iterable of keys means empty
    values (upstream's ``map[string][]byte{"k": {}}``)."""
    values = dict(data) if isinstance(data, Mapping) else dict.fromkeys(data, "")
    meta: JsonDict = {"name": name, "namespace": "default"}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def service_account(
    name: str = "default", secrets: Iterable[str] = (), annotations: Mapping[str, str] | None = None
) -> JsonDict:
    meta: JsonDict = {"name": name, "namespace": "default"}
    if annotations:
        meta["annotations"] = dict(annotations)
    out: JsonDict = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    refs = [{"name": s, "namespace": "default"} for s in secrets]
    if refs:
        out["secrets"] = refs
    return out


def credential_config(raw: str | None = None) -> CredentialConfig:
    if raw is None:
        return CredentialConfig()
    return parse_inferenceservice_config({"credentials": raw}).credentials


def builder(
    cred: CredentialConfig | None = None,
    sas: Iterable[JsonDict] = (),
    secrets: Iterable[JsonDict] = (),
) -> CredentialBuilder:
    return CredentialBuilder(
        cred or CredentialConfig(),
        service_accounts={s["metadata"]["name"]: s for s in sas},
        secrets={s["metadata"]["name"]: s for s in secrets},
    )


def csc(
    name: str, container: JsonDict, formats: list[JsonDict], **fields: Any
) -> ClusterStorageContainer:
    """A ClusterStorageContainer as the API returns it."""
    spec: JsonDict = {"container": container, "supportedUriFormats": formats}
    disabled = fields.pop("disabled", None)
    spec.update(fields)
    obj: JsonDict = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterStorageContainer",
        "metadata": {"name": name},
        "spec": spec,
    }
    if disabled is not None:
        obj["disabled"] = disabled
    return ClusterStorageContainer.model_validate(obj)


def inject(
    p: JsonDict,
    config: StorageInitializerConfig = SI_CONFIG,
    creds: CredentialBuilder | None = None,
    cscs: Iterable[ClusterStorageContainer] = (),
    kserve_namespace: str = "kserve",
) -> JsonDict:
    """``InjectStorageInitializer`` on ``p`` (in place), returning it."""
    inject_storage_initializer(p, config, creds or builder(), tuple(cscs), kserve_namespace)
    return p

"""Download Jobs of the node agent, as pure functions over JSON dicts (upstream
``localmodelnode/controller.go``: ``launchJob``, ``getContainerSpecFromConfig``,
``getContainerSpecForStorageUri``, ``getLatestJob``, ``getModelStatusFromJobStatus``)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apis.serving.constants import MODEL_LABEL
from apis.serving.v1alpha1 import ClusterStorageContainer, get_storage_key
from apis.serving.v1alpha1.storage_container import WorkloadType

__all__ = [
    "DEFAULT_JOB_IMAGE",
    "DOWNLOAD_CONTAINER_NAME",
    "MOUNT_PATH",
    "PVC_SOURCE_MOUNT_NAME",
    "download_container",
    "download_job",
    "download_pvc_name",
    "job_status_key",
    "jobs_of",
    "latest_job",
    "model_status_from_job",
    "storage_container_for",
]

DOWNLOAD_CONTAINER_NAME = "kserve-localmodel-download"
PVC_SOURCE_MOUNT_NAME = "kserve-pvc-source"
MOUNT_PATH = "/mnt/models"
"""Where the download container writes (``MountPath``)."""
DEFAULT_JOB_IMAGE = "kserve/storage-initializer:latest"
DEFAULT_TTL_SECONDS_AFTER_FINISHED = 3600

NODE_LABEL = "node"
MODEL_NAMESPACE_LABEL = "modelNamespace"

_Json = Mapping[str, Any]


def download_pvc_name(info: _Json, node_group: str) -> str:
    """The claim the Job mounts: ``<model>-<group>``; ``<model>-<group>-<ns>-download`` for
    a LocalModelNamespaceCache's model."""
    name = f"{info['modelName']}-{node_group}"
    if info.get("namespace"):
        name += f"-{info['namespace']}-download"
    return name


def storage_container_for(
    uri: str, containers: Iterable[ClusterStorageContainer]
) -> dict[str, Any] | None:
    """The container of the first enabled ClusterStorageContainer with workload type
    ``localModelDownloadJob`` supporting ``uri`` (JSON), or None. An invalid regex raises
    ``re.error``, as upstream returns its error."""
    for sc in containers:
        if sc.is_disabled() or sc.spec is None:
            continue
        if sc.spec.workload_type != WorkloadType.LOCAL_MODEL_DOWNLOAD_JOB:
            continue
        if sc.spec.is_storage_uri_supported(uri):
            dumped = sc.model_dump(by_alias=True, exclude_none=True, mode="json")
            return dict(dumped["spec"]["container"])
    return None


def download_container(
    uri: str, storage_container: _Json | None, image: str
) -> dict[str, Any]:
    """The download container: a ClusterStorageContainer's (``storage_container``) or
    ``kserve-localmodel-download`` running ``image`` (logs as termination message), with
    args ``[uri, /mnt/models]`` and the PVC mounted at ``/mnt/models`` with subPath
    ``models/<storage key>``."""
    if storage_container is not None:
        container = copy.deepcopy(dict(storage_container))
    else:
        container = {"name": DOWNLOAD_CONTAINER_NAME, "image": image or DEFAULT_JOB_IMAGE,
                     "terminationMessagePolicy": "FallbackToLogsOnError"}
    container["args"] = [uri, MOUNT_PATH]
    container["volumeMounts"] = [{"name": PVC_SOURCE_MOUNT_NAME, "mountPath": MOUNT_PATH,
                                  "subPath": f"models/{get_storage_key(uri)}"}]
    return container


def download_job(
    *,
    info: _Json,
    node_name: str,
    owner: _Json,
    job_namespace: str,
    container: _Json,
    volumes: Sequence[_Json],
    fs_group: int | None,
    ttl_seconds_after_finished: int | None,
) -> dict[str, Any]:
    """The Job downloading ``info``'s model onto ``node_name`` (``owner``: the node's
    LocalModelNode as JSON, its controller). ``volumes`` includes the PVC volume
    (:data:`PVC_SOURCE_MOUNT_NAME`) and any credentials volume."""
    labels = {MODEL_LABEL: str(info["modelName"]), NODE_LABEL: node_name}
    if info.get("namespace"):
        labels[MODEL_NAMESPACE_LABEL] = str(info["namespace"])
    ometa = owner.get("metadata") or {}
    security: dict[str, Any] = {}
    if fs_group is not None:
        security["fsGroup"] = fs_group
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": f"{info['modelName']}-{node_name}",
            "namespace": job_namespace,
            "labels": labels,
            "ownerReferences": [{
                "apiVersion": owner.get("apiVersion", "serving.kserve.io/v1alpha1"),
                "kind": owner.get("kind", "LocalModelNode"),
                "name": ometa.get("name"), "uid": ometa.get("uid"),
                "controller": True, "blockOwnerDeletion": True,
            }],
        },
        "spec": {
            "ttlSecondsAfterFinished": (ttl_seconds_after_finished
                                        if ttl_seconds_after_finished is not None
                                        else DEFAULT_TTL_SECONDS_AFTER_FINISHED),
            "template": {"spec": {
                "nodeSelector": {"kubernetes.io/hostname": node_name},
                "containers": [dict(container)],
                "restartPolicy": "Never",
                "volumes": [dict(v) for v in volumes],
                "securityContext": security,
            }},
        },
    }


def pvc_volume(claim: str) -> dict[str, Any]:
    return {"name": PVC_SOURCE_MOUNT_NAME, "persistentVolumeClaim": {"claimName": claim}}


def job_status_key(job: _Json) -> str | None:
    """The status key a Job downloads for (from its labels): ``<model>`` or
    ``<modelNamespace>/<model>``; None without a model label."""
    labels = (job.get("metadata") or {}).get("labels") or {}
    model = labels.get(MODEL_LABEL)
    if not model:
        return None
    ns = labels.get(MODEL_NAMESPACE_LABEL)
    return f"{ns}/{model}" if ns else str(model)


def jobs_of(info: _Json, jobs: Iterable[_Json]) -> list[_Json]:
    """The Jobs of one ``localModels`` entry. Upstream selects a cluster cache's Jobs by
    ``model`` alone, so a namespace cache of the same name shares them; here the status key
    must match exactly."""
    ns = info.get("namespace") or ""
    key = f"{ns}/{info['modelName']}" if ns else str(info["modelName"])
    return [j for j in jobs if job_status_key(j) == key]


def latest_job(jobs: Sequence[_Json], prefer: str | None = None) -> _Json | None:
    """The newest Job: by creationTimestamp (whole seconds), then ``prefer`` (the name of the
    Job this agent made last), then an unfinished Job over a finished one (a Job is only made
    again after the previous one finished), then name."""
    if not jobs:
        return None

    def rank(j: _Json) -> tuple[str, bool, bool, str]:
        meta = j.get("metadata") or {}
        st = j.get("status") or {}
        name = str(meta.get("name") or "")
        finished = bool(st.get("succeeded") or st.get("failed"))
        return (str(meta.get("creationTimestamp") or ""), name == prefer, not finished, name)

    return max(jobs, key=rank)


def model_status_from_job(job: _Json | None) -> str:
    """``getModelStatusFromJobStatus``: succeeded -> ModelDownloaded, failed ->
    ModelDownloadError, a ready pod -> ModelDownloading, else ModelDownloadPending."""
    status = (job or {}).get("status") or {}
    if (status.get("succeeded") or 0) > 0:
        return "ModelDownloaded"
    if (status.get("failed") or 0) > 0:
        return "ModelDownloadError"
    if (status.get("ready") or 0) > 0:
        return "ModelDownloading"
    return "ModelDownloadPending"

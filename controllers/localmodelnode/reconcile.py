"""The LocalModelNode agent's reconciler (upstream ``pkg/controller/v1alpha1/localmodelnode/
controller.go``): on one node (``NODE_NAME``), download the models its LocalModelNode lists
with Jobs, report their status, and keep the node's models folder in line with the list.

Per reconcile of ``LocalModelNode <node>`` (and every ``localModel.reconcilationFrequencyInSecs``,
default 60 s, to notice a folder deleted under it):

1. the models root exists and is writable;
2. Jobs of models no longer listed are deleted;
3. per entry, by storage key (``sha256(uri)[:16]``; entries sharing a key share one Job and
   one status): a folder present with status Downloaded is kept; a folder present otherwise
   takes its status from the newest Job (one is launched if there is none: the download may
   be incomplete); a folder missing launches a Job if there is none, or if the newest one
   succeeded and fewer than two exist (the folder was deleted: download again); the status
   is the newest Job's: succeeded -> ModelDownloaded, failed -> ModelDownloadError, a ready
   pod -> ModelDownloading, else ModelDownloadPending;
4. ``status.modelStatus`` is written when it changed;
5. folders of storage keys no entry has are removed.

The Job runs the download container of the first enabled ClusterStorageContainer with
workload type ``localModelDownloadJob`` that supports the URI, else
``kserve-localmodel-download`` (the storage initializer image), on the node, mounting the
cache's download PVC with subPath ``models/<storage key>``; credentials come from the entry's
storage key (the storage-config Secret) or its ServiceAccount (``default``), read from the
job namespace.

Deliberate differences (docs/compatibility.md): a Job this agent created is remembered until
its cache shows it, so a quick second reconcile never launches a duplicate (upstream avoids
reconciling on status changes for that reason; here Job status changes do reconcile, which
is how the status follows the Job without waiting for the periodic requeue); a cluster
cache's Jobs exclude a namespace cache's of the same name; a Job that cannot be created or a
models root that cannot be made is a Warning event and a status, retried at the next periodic
reconcile, not an error loop; Secrets and ServiceAccounts are read (get) only when a Job is
made, never cached (the agent runs on every node).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import anyio
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Node, Secret, ServiceAccount

from apis.serving.v1alpha1 import (
    ClusterStorageContainer,
    LocalModelNode,
    LocalModelNodeGroup,
    get_storage_key,
)
from controllers.config import ConfigSource, ConfigUnavailableError
from controllers.localmodel.nodeaffinity import NodeAffinityError, node_in_group
from controllers.storage.credentials import DEFAULT_STORAGE_SPEC_SECRET, CredentialBuilder
from controllers.storage.credentials.reads import read_objects, secret_names
from controllers.storage.utils import PodMutationError
from runtime.client import ignore_not_found, is_not_found
from runtime.codec import object_to_dict
from runtime.reconcile import Request, Result
from runtime.recorder import NORMAL, WARNING

from .file_utils import FileSystemHelper
from .job import (
    download_container,
    download_job,
    download_pvc_name,
    job_status_key,
    jobs_of,
    latest_job,
    model_status_from_job,
    pvc_volume,
    storage_container_for,
)

__all__ = ["LocalModelNodeReconciler"]

log = logging.getLogger(__name__)

DEFAULT_FREQUENCY = 60.0
#: how long a created Job is assumed to exist though the cache does not show it yet
_CREATED_MEMORY = 120.0

EVENT_ROOT = "ModelsRootUnavailable"
EVENT_NO_JOB_NAMESPACE = "JobNamespaceNotSet"
EVENT_JOB_FAILED = "DownloadFailed"
EVENT_JOB_NOT_CREATED = "DownloadJobNotCreated"
EVENT_JOB_CREATED = "DownloadJobCreated"
EVENT_FOLDER_MISSING = "ModelFolderMissing"
EVENT_CREDENTIALS = "CredentialsNotInjected"
EVENT_CONFIG = "InvalidConfig"


class LocalModelNodeReconciler:
    """The agent's reconciler for ``LocalModelNode <node_name>``; see the module docstring."""

    def __init__(self, mgr: Any, config: ConfigSource, node_name: str,
                 models_root: str) -> None:
        self.client = mgr.client
        self.config = config
        self.node_name = node_name
        self.fs = FileSystemHelper(models_root)
        self.recorder = mgr.get_event_recorder("localmodelnode-agent")
        #: status key -> (Job as created, monotonic time): the cache may lag our creates
        self._created: dict[str, tuple[dict[str, Any], float]] = {}
        #: status key -> name of the last Job made for it (creation times are whole seconds)
        self._last: dict[str, str] = {}
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ helpers

    async def _get(self, kind: Any, name: str, namespace: str | None = None) -> Any | None:
        return await ignore_not_found(self.client.get(kind, name, namespace))

    def _warn_once(self, obj: Any, reason: str, message: str, topic: str = "") -> None:
        """A Warning event, unless the same one (per ``reason`` and ``topic``) was sent and
        not cleared since."""
        prefix = f"{reason}/{topic}: "
        if prefix + message in self._warned:
            return
        self._clear(reason, topic)
        self._warned.add(prefix + message)
        self.recorder.event(obj, WARNING, reason, "Reconcile", message)

    def _clear(self, reason: str, topic: str = "") -> None:
        prefix = f"{reason}/{topic}: "
        self._warned = {w for w in self._warned if not w.startswith(prefix)}

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, req: Request) -> Result:
        if req.name != self.node_name:
            return Result()
        lmn = await self._get(LocalModelNode, req.name)
        try:
            cfg = await self.config.get()
        except ConfigUnavailableError as e:
            if lmn is not None:
                self._warn_once(lmn, EVENT_CONFIG, str(e))
            return Result()  # the ConfigMap's watch reconciles again
        self._clear(EVENT_CONFIG)
        lm = cfg.local_model
        freq = float(lm.reconcilation_frequency_in_secs or DEFAULT_FREQUENCY)
        try:
            await anyio.to_thread.run_sync(self.fs.ensure_model_root_folder_exists)
        except OSError as e:
            if lmn is not None:
                self._warn_once(lmn, EVENT_ROOT, f"models root {self.fs.models_root}: {e}")
            return Result(requeue_after=freq)
        self._clear(EVENT_ROOT)
        if lmn is None:
            return Result()
        if not lm.job_namespace:
            self._warn_once(lmn, EVENT_NO_JOB_NAMESPACE,
                            "inferenceservice-config localModel.jobNamespace is empty: "
                            "no download Job can be made")
            return Result(requeue_after=freq)
        self._clear(EVENT_NO_JOB_NAMESPACE)
        d = object_to_dict(lmn)
        entries = list((d.get("spec") or {}).get("localModels") or [])
        jobs = await self._jobs(lm.job_namespace)
        jobs = await self._cleanup_jobs(entries, jobs)
        try:
            await self._download_models(lmn, d, entries, jobs, cfg)
            await self._delete_models(entries)
        except OSError as e:  # the models folder cannot be read or changed
            self._warn_once(lmn, EVENT_ROOT, f"models root {self.fs.models_root}: {e}", "io")
            return Result(requeue_after=freq)
        self._clear(EVENT_ROOT, "io")
        return Result(requeue_after=freq)

    async def _jobs(self, namespace: str) -> list[dict[str, Any]]:
        """This node's Jobs in ``namespace`` from the cache, plus the ones created here that
        the cache does not show yet."""
        listed = [object_to_dict(j) for j in await self.client.list(
            Job, namespace, labels={"node": self.node_name})]
        names = {j["metadata"]["name"] for j in listed}
        now = time.monotonic()
        for key, (job, at) in list(self._created.items()):
            meta = job["metadata"]
            if meta["name"] in names or now - at > _CREATED_MEMORY or \
                    meta.get("namespace") != namespace:
                del self._created[key]
            else:
                listed.append(job)
        return listed

    async def _cleanup_jobs(self, entries: list[Mapping[str, Any]],
                            jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``cleanupJobs``: delete the Jobs of models no longer listed; the rest is kept."""
        keys = {(f"{e['namespace']}/{e['modelName']}" if e.get("namespace")
                 else str(e["modelName"])) for e in entries}
        kept = []
        for job in jobs:
            key = job_status_key(job)
            if key is None or key in keys:
                kept.append(job)
                continue
            meta = job["metadata"]
            log.info("deleting Job %s/%s: model %s is no longer on node %s",
                     meta["namespace"], meta["name"], key, self.node_name)
            try:
                await self.client.delete(Job, meta["name"], meta["namespace"],
                                         propagation_policy="Background")
            except Exception as e:
                if not is_not_found(e):
                    raise
            self._created.pop(key, None)
            self._last.pop(key, None)
        return kept

    async def _has_folder(self, storage_key: str) -> bool:
        return await anyio.to_thread.run_sync(self.fs.has_model_folder, storage_key)

    async def _download_models(self, lmn: Any, d: Mapping[str, Any],
                               entries: list[Mapping[str, Any]],
                               jobs: list[dict[str, Any]], cfg: Any) -> None:
        """``downloadModels``: launch what is missing, derive and write the status."""
        old: dict[str, str] = dict(((d.get("status") or {}).get("modelStatus")) or {})
        new: dict[str, str] = {}
        by_storage: dict[str, str] = {}
        for info in entries:
            key = (f"{info['namespace']}/{info['modelName']}" if info.get("namespace")
                   else str(info["modelName"]))
            uri = str(info["sourceModelUri"])
            storage_key = get_storage_key(uri)
            if storage_key in by_storage:
                new[key] = by_storage[storage_key]  # same folder: same status
                continue
            mine = jobs_of(info, jobs)
            job = latest_job(mine, self._last.get(key))
            if await self._has_folder(storage_key):
                self._clear(EVENT_FOLDER_MISSING, storage_key)
                if old.get(key) == "ModelDownloaded":
                    new[key] = by_storage[storage_key] = "ModelDownloaded"
                    continue
                if job is None:  # the download may be incomplete: download again
                    job = await self._launch(lmn, d, info, cfg)
            else:
                if old.get(key) == "ModelDownloaded":
                    self._warn_once(lmn, EVENT_FOLDER_MISSING,
                                    f"model folder {self.fs.model_folder(storage_key)} of {key} "
                                    f"is gone; downloading {uri} again", storage_key)
                if job is None or (((job.get("status") or {}).get("succeeded") or 0) > 0
                                   and len(mine) < 2):
                    job = await self._launch(lmn, d, info, cfg)
            status = model_status_from_job(job) if job is not None else "ModelDownloadError"
            new[key] = by_storage[storage_key] = status
            if status == "ModelDownloadError" and old.get(key) != status and job is not None:
                self.recorder.event(lmn, WARNING, EVENT_JOB_FAILED, "Reconcile",
                                    f"Job {job['metadata'].get('namespace')}/"
                                    f"{job['metadata'].get('name')} downloading {uri} for "
                                    f"{key} failed")
        if new == old:
            return
        patch = {k: new.get(k) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        try:
            await self.client.patch_status(LocalModelNode, self.node_name,
                                           {"status": {"modelStatus": patch}})
        except Exception as e:
            if not is_not_found(e):
                raise

    async def _node_group(self, info: Mapping[str, Any]) -> str | None:
        """The entry's node group, else the first group this node belongs to (upstream's
        fallback for entries written before ``nodeGroup`` existed)."""
        if info.get("nodeGroup"):
            return str(info["nodeGroup"])
        try:
            node = await self.client.api_reader.get(Node, self.node_name)
        except Exception as e:
            if is_not_found(e):
                return None
            raise
        n = object_to_dict(node)
        for group in await self.client.list(LocalModelNodeGroup):
            try:
                if node_in_group(object_to_dict(group), n):
                    return str(group.metadata.name)
            except NodeAffinityError:
                continue
        return None

    async def _launch(self, lmn: Any, d: Mapping[str, Any], info: Mapping[str, Any],
                      cfg: Any) -> dict[str, Any] | None:
        """``launchJob``; None (and a Warning event) when the Job cannot be made."""
        lm = cfg.local_model
        key = (f"{info['namespace']}/{info['modelName']}" if info.get("namespace")
               else str(info["modelName"]))
        uri = str(info["sourceModelUri"])
        group = await self._node_group(info)
        if group is None:
            self.recorder.event(lmn, WARNING, EVENT_JOB_NOT_CREATED, "Reconcile",
                                f"no LocalModelNodeGroup matches node {self.node_name}: cannot "
                                f"name the download PVC of {key}")
            return None
        try:
            csc = storage_container_for(uri, await self.client.list(ClusterStorageContainer))
        except Exception as e:  # an invalid regex in a ClusterStorageContainer
            if getattr(e, "status", None) is not None:
                raise
            self.recorder.event(lmn, WARNING, EVENT_JOB_NOT_CREATED, "Reconcile",
                                f"ClusterStorageContainer lookup for {uri}: {e}")
            return None
        image = cfg.storage_initializer.image or lm.default_job_image
        container = download_container(uri, csc, image)
        volumes = [pvc_volume(download_pvc_name(info, group))]
        if info.get("serviceAccountName") or info.get("storage") is not None:
            pod_spec: dict[str, Any] = {"volumes": volumes}
            await self._inject_credentials(lmn, container, pod_spec, info, lm.job_namespace, cfg)
            volumes = pod_spec["volumes"]
        job = download_job(info=info, node_name=self.node_name, owner=d,
                           job_namespace=lm.job_namespace, container=container,
                           volumes=volumes, fs_group=lm.fs_group,
                           ttl_seconds_after_finished=lm.job_ttl_seconds_after_finished)
        try:
            created = await self.client.create(Job.from_dict(job))
        except Exception as e:
            code = getattr(getattr(e, "status", None), "code", None)
            if code is None or code >= 500:
                raise
            self.recorder.event(lmn, WARNING, EVENT_JOB_NOT_CREATED, "Reconcile",
                                f"download Job for {key} in {lm.job_namespace}: {e}")
            return None
        out = object_to_dict(created)
        self._created[key] = (out, time.monotonic())
        self._last[key] = out["metadata"]["name"]
        log.info("created Job %s/%s for %s (storage key %s)", lm.job_namespace,
                 out["metadata"]["name"], key, get_storage_key(uri))
        self.recorder.event(lmn, NORMAL, EVENT_JOB_CREATED, "Download",
                            f"Job {out['metadata']['name']} downloads {uri} for {key}")
        return out

    async def _inject_credentials(self, lmn: Any, container: dict[str, Any],
                                  pod_spec: dict[str, Any], info: Mapping[str, Any],
                                  namespace: str, cfg: Any) -> None:
        """``injectCredentials``: the storage key's Secret entry, else the ServiceAccount's
        Secrets. A failure is a Warning event; the Job is made anyway (as upstream)."""
        creds = cfg.credentials
        reader = self.client.api_reader
        storage = info.get("storage") or {}
        try:
            if storage.get("key"):
                secret = creds.storage_spec_secret_name or DEFAULT_STORAGE_SPEC_SECRET
                builder = CredentialBuilder(creds, service_accounts={},
                                            secrets=await read_objects(reader, Secret, namespace,
                                                                       [secret]))
                builder.create_storage_spec_secret_envs(
                    {}, str(storage["key"]), storage.get("parameters"), container)
                return
            sa_name = str(info.get("serviceAccountName") or "default")
            sas = await read_objects(reader, ServiceAccount, namespace, [sa_name])
            secrets = await read_objects(reader, Secret, namespace,
                                         secret_names("", {}, sas.values()))
            CredentialBuilder(creds, service_accounts=sas, secrets=secrets) \
                .create_secret_volume_and_env({}, sa_name, container, pod_spec)
        except PodMutationError as e:
            self.recorder.event(lmn, WARNING, EVENT_CREDENTIALS, "Download",
                                f"credentials for {info.get('modelName')}: {e}")

    async def _delete_models(self, entries: list[Mapping[str, Any]]) -> None:
        """``deleteModels``: remove the folders no entry's storage key names."""
        wanted = {get_storage_key(str(e["sourceModelUri"])) for e in entries}
        for name in await anyio.to_thread.run_sync(self.fs.model_folders):
            if name not in wanted:
                log.info("removing model folder %s", self.fs.model_folder(name))
                await anyio.to_thread.run_sync(self.fs.remove_model, name)

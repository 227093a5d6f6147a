"""``pkg/credentials/service_account_credentials.go``: storage credentials for a container.

Upstream's ``CredentialBuilder`` GETs ServiceAccounts and Secrets from the API server on every
call. Ours is pure: it is built over the objects the caller already read (from the cache) —
``service_accounts`` and ``secrets`` of the pod's namespace, by name, as JSON dicts. An object
missing from those mappings is NotFound, with upstream's consequences: a missing
ServiceAccount is skipped, a missing Secret it references is an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controllers.storage.credentials import azure, gcs, hdfs, hf, https, ms, s3
from controllers.storage.credentials.secrets import secret_values
from controllers.storage.utils import (
    JsonDict,
    PodMutationError,
    append_volume_if_not_exists,
    env_list,
    env_var,
    go_json,
    merge_envs,
    volume_mounts,
)

__all__ = [
    "AWS_IRSA_ANNOTATION",
    "DEFAULT_STORAGE_SECRET_KEY",
    "DEFAULT_STORAGE_SPEC_SECRET",
    "STORAGE_CONFIG_ENV",
    "STORAGE_OVERRIDE_CONFIG_ENV",
    "SUPPORTED_STORAGE_SPEC_TYPES",
    "URI_SCHEME_PLACEHOLDER",
    "CredentialBuilder",
]

URI_SCHEME_PLACEHOLDER = "<scheme-placeholder>"
STORAGE_CONFIG_ENV = "STORAGE_CONFIG"
STORAGE_OVERRIDE_CONFIG_ENV = "STORAGE_OVERRIDE_CONFIG"
DEFAULT_STORAGE_SECRET_KEY = "default"
DEFAULT_STORAGE_SPEC_SECRET = "storage-config"
AWS_IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
SUPPORTED_STORAGE_SPEC_TYPES: tuple[str, ...] = ("s3", "hdfs", "webhdfs")
STORAGE_BUCKET_TYPES: tuple[str, ...] = ("s3",)


def _not_found(kind: str, name: str) -> PodMutationError:
    return PodMutationError(f'{kind} "{name}" not found')


class CredentialBuilder:
    """Credentials from ``config`` (the ``credentials`` key, a ``CredentialConfig``) and the
    namespace's ServiceAccounts and Secrets (name -> JSON)."""

    def __init__(
        self,
        config: Any,
        *,
        service_accounts: Mapping[str, JsonDict],
        secrets: Mapping[str, JsonDict],
    ) -> None:
        self.config = config
        self.service_accounts = service_accounts
        self.secrets = secrets

    # -------------------------------------------------------------- storage spec

    def storage_spec_secret_name(self, annotations: Mapping[str, str]) -> str:
        """The Secret a storage spec reads: the storage-secret annotation, else the
        configured ``storageSpecSecretName``, else ``storage-config``."""
        name = self.config.storage_spec_secret_name or DEFAULT_STORAGE_SPEC_SECRET
        return annotations.get(self.config.storage_secret_name_annotation, name)

    def create_storage_spec_secret_envs(
        self,
        annotations: Mapping[str, str],
        storage_key: str,
        override_params: Mapping[str, str] | None,
        container: JsonDict,
    ) -> None:
        """``CreateStorageSpecSecretEnvs``: ``STORAGE_CONFIG`` from the storage Secret's key
        (``storage_key``, else ``default`` / ``default_<type>``), ``STORAGE_OVERRIDE_CONFIG``
        from the parameters, and ``<scheme-placeholder>://`` args rewritten to the type and
        bucket."""
        params = dict(override_params or {})
        stype = params.get("type", "")
        bucket = params.get("bucket", "")
        secret_name = self.storage_spec_secret_name(annotations)
        secret = self.secrets.get(secret_name)
        storage_data: str | None = None
        if secret is not None:
            data = secret_values(secret)
            if storage_key != "":
                storage_data = data.get(storage_key)
                if storage_data is None:
                    raise PodMutationError(
                        f"specified storage key {storage_key} not found in storage secret "
                        f"{secret_name}"
                    )
            else:
                storage_key = (
                    DEFAULT_STORAGE_SECRET_KEY
                    if stype == ""
                    else f"{DEFAULT_STORAGE_SECRET_KEY}_{stype}"
                )
                storage_data = data.get(storage_key)
        elif storage_key != "":
            raise PodMutationError(
                f'can\'t read storage secret {secret_name}: secrets "{secret_name}" not found'
            )
        env = env_list(container)
        if storage_data is not None:
            if stype == "":
                doc = self._storage_json(storage_data, storage_key, secret_name)
                if "type" in doc:
                    stype = doc["type"]
                    if stype not in SUPPORTED_STORAGE_SPEC_TYPES:
                        raise PodMutationError(
                            "storage type must be one of "
                            f"[{', '.join(SUPPORTED_STORAGE_SPEC_TYPES)}]. "
                            f"storage type [{stype}] is not supported"
                        )
                if "bucket" in doc and bucket == "":
                    bucket = doc["bucket"]
                if "cabundle_configmap" in doc:
                    env.append(env_var(s3.AWS_CA_BUNDLE_CONFIGMAP, doc["cabundle_configmap"]))
            env.append(
                {
                    "name": STORAGE_CONFIG_ENV,
                    "valueFrom": {"secretKeyRef": {"name": secret_name, "key": storage_key}},
                }
            )
        if stype == "":
            raise PodMutationError("unable to determine storage type")
        args = container.get("args") or []
        prefix = URI_SCHEME_PLACEHOLDER + "://"
        if args and isinstance(args[0], str) and args[0].startswith(prefix):
            for i in range(0, len(args), 2):
                path = args[i][len(prefix) :]
                if stype in STORAGE_BUCKET_TYPES:
                    if bucket == "":
                        raise PodMutationError(
                            f"format [{stype}] requires a bucket but one wasn't found in "
                            "storage data or parameters"
                        )
                    args[i] = f"{stype}://{bucket}/{path}"
                else:
                    args[i] = f"{stype}://{path}"
        if params:
            env.append(env_var(STORAGE_OVERRIDE_CONFIG_ENV, go_json(params)))

    @staticmethod
    def _storage_json(raw: str, key: str, secret_name: str) -> dict[str, str]:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise PodMutationError(
                f"invalid json encountered in key {key} of storage secret {secret_name}: {exc}"
            ) from None
        if doc is None:
            return {}
        if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
            raise PodMutationError(
                f"invalid json encountered in key {key} of storage secret {secret_name}: "
                "json: cannot unmarshal into Go value of type map[string]string"
            )
        return doc

    # -------------------------------------------------------------- service account

    def create_secret_volume_and_env(
        self,
        annotations: Mapping[str, str],
        service_account_name: str,
        container: JsonDict,
        spec: JsonDict,
    ) -> None:
        """``CreateSecretVolumeAndEnv``: credentials from the ServiceAccount (``default`` when
        empty); a ServiceAccount that does not exist is skipped, as upstream."""
        sa = self.service_accounts.get(service_account_name or "default")
        if sa is None:
            return
        self.create_secret_volume_and_env_from_service_account(sa, annotations, container, spec)

    def create_secret_volume_and_env_from_service_account(
        self,
        service_account: JsonDict,
        annotations: Mapping[str, str],
        container: JsonDict,
        spec: JsonDict,
    ) -> None:
        """``CreateSecretVolumeAndEnvFromServiceAccount``: IRSA env, then the Secret named by
        the storage-secret annotation if set, else every Secret the ServiceAccount lists."""
        meta = service_account.get("metadata") or {}
        if AWS_IRSA_ANNOTATION in (meta.get("annotations") or {}):
            env_list(container).extend(
                s3.build_service_account_envs(service_account, self.config.s3)
            )
        key = self.config.storage_secret_name_annotation
        if key and key in annotations:
            self._mount_secret_credential(annotations[key], container, spec)
            return
        for ref in service_account.get("secrets") or []:
            name = ref.get("name") if isinstance(ref, dict) else None
            if isinstance(name, str):
                self._mount_secret_credential(name, container, spec)

    def _mount_secret_credential(
        self, secret_name: str, container: JsonDict, spec: JsonDict
    ) -> None:
        """``mountSecretCredential``: the first kind of credential the Secret holds."""
        secret = self.secrets.get(secret_name)
        if secret is None:
            raise _not_found("secrets", secret_name)
        data = secret_values(secret)
        s3_secret_key = self.config.s3.s3_secret_access_key_name or s3.AWS_SECRET_ACCESS_KEY_NAME
        gcs_file = self.config.gcs.gcs_credential_file_name or gcs.GCS_CREDENTIAL_FILE_NAME
        env = env_list(container)
        if s3_secret_key in data:
            container["env"] = merge_envs(env, s3.build_secret_envs(secret, self.config.s3))
        elif gcs_file in data:
            volume, mount = gcs.build_secret_volume(secret)
            append_volume_if_not_exists(spec, volume)
            volume_mounts(container).append(mount)
            env.append(
                env_var(gcs.GCS_CREDENTIAL_ENV_KEY, gcs.GCS_CREDENTIAL_VOLUME_MOUNT_PATH + gcs_file)
            )
        elif (
            azure.LEGACY_AZURE_CLIENT_ID in data
            or azure.AZURE_CLIENT_ID in data
            or azure.AZURE_ACCESS_TOKEN in data
        ):
            env.extend(azure.build_secret_envs(secret))
        elif azure.AZURE_STORAGE_ACCESS_KEY in data:
            env.extend(azure.build_storage_access_key_secret_env(secret))
        elif https.HTTPS_HOST in data:
            env.extend(https.build_secret_envs(secret))
        elif hdfs.HDFS_NAMENODE in data:
            volume, mount = hdfs.build_secret(secret)
            append_volume_if_not_exists(spec, volume)
            volume_mounts(container).append(mount)
        elif hf.HF_TOKEN_KEY in data:
            env.extend(hf.build_secret_envs(secret))
        elif ms.MS_TOKEN_KEY in data:
            env.extend(ms.build_secret_envs(secret))

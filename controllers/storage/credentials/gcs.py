"""``pkg/credentials/gcs``: a GCP service-account key Secret as a volume."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_name
from controllers.storage.utils import JsonDict, volume_mount

__all__ = [
    "GCS_CREDENTIAL_ENV_KEY",
    "GCS_CREDENTIAL_FILE_NAME",
    "GCS_CREDENTIAL_VOLUME_MOUNT_PATH",
    "GCS_CREDENTIAL_VOLUME_NAME",
    "build_secret_volume",
]

GCS_CREDENTIAL_FILE_NAME = "gcloud-application-credentials.json"
GCS_CREDENTIAL_VOLUME_NAME = "user-gcp-sa"
GCS_CREDENTIAL_VOLUME_MOUNT_PATH = "/var/secrets/"
GCS_CREDENTIAL_ENV_KEY = "GOOGLE_APPLICATION_CREDENTIALS"


def build_secret_volume(secret: JsonDict) -> tuple[JsonDict, JsonDict]:
    """``gcs.BuildSecretVolume``: (volume, read-only mount at ``/var/secrets/``)."""
    volume = {"name": GCS_CREDENTIAL_VOLUME_NAME, "secret": {"secretName": secret_name(secret)}}
    return volume, volume_mount(GCS_CREDENTIAL_VOLUME_NAME, GCS_CREDENTIAL_VOLUME_MOUNT_PATH, True)

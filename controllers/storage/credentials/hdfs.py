"""``pkg/credentials/hdfs``: an HDFS credentials Secret as a volume."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_name
from controllers.storage.utils import JsonDict, volume_mount

__all__ = ["HDFS_NAMENODE", "HDFS_VOLUME_NAME", "MOUNT_PATH", "build_secret"]

HDFS_NAMENODE = "HDFS_NAMENODE"
"""The data key that marks an HDFS Secret."""
MOUNT_PATH = "/var/secrets/kserve-hdfscreds"
HDFS_VOLUME_NAME = "hdfs-secrets"


def build_secret(secret: JsonDict) -> tuple[JsonDict, JsonDict]:
    """``hdfs.BuildSecret``: (volume, read-only mount)."""
    volume = {"name": HDFS_VOLUME_NAME, "secret": {"secretName": secret_name(secret)}}
    return volume, volume_mount(HDFS_VOLUME_NAME, MOUNT_PATH, True)

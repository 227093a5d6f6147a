"""``pkg/credentials/https``: HTTP(S) headers for a host, from a Secret."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_values
from controllers.storage.utils import JsonDict, env_var

__all__ = ["HEADERS", "HTTPS_HOST", "build_secret_envs"]

HTTPS_HOST = "https-host"
HEADERS = "headers"


def build_secret_envs(secret: JsonDict) -> list[JsonDict]:
    """``https.BuildSecretEnvs``: ``<https-host>-headers=<headers>`` when both keys exist."""
    data = secret_values(secret)
    if HTTPS_HOST not in data or HEADERS not in data:
        return []
    return [env_var(data[HTTPS_HOST] + "-" + HEADERS, data[HEADERS])]

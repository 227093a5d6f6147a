"""``pkg/credentials/ms``: a ModelScope token from a Secret."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_name, secret_values
from controllers.storage.utils import JsonDict, secret_env

__all__ = ["MS_TOKEN_KEY", "build_secret_envs"]

MS_TOKEN_KEY = "MODELSCOPE_API_TOKEN"


def build_secret_envs(secret: JsonDict) -> list[JsonDict]:
    """``ms.BuildSecretEnvs``."""
    if MS_TOKEN_KEY not in secret_values(secret):
        return []
    return [secret_env(MS_TOKEN_KEY, secret_name(secret), MS_TOKEN_KEY)]

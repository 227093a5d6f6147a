"""``pkg/credentials/hf``: a Hugging Face token from a Secret."""

from __future__ import annotations

from controllers.storage.credentials.secrets import secret_name, secret_values
from controllers.storage.utils import JsonDict, secret_env

__all__ = ["HF_TOKEN_KEY", "build_secret_envs"]

HF_TOKEN_KEY = "HF_TOKEN"


def build_secret_envs(secret: JsonDict) -> list[JsonDict]:
    """``hf.BuildSecretEnvs``: ``HF_TOKEN`` from the Secret's ``HF_TOKEN`` key."""
    if HF_TOKEN_KEY not in secret_values(secret):
        return []
    return [secret_env(HF_TOKEN_KEY, secret_name(secret), HF_TOKEN_KEY)]

"""Fixtures the integration modules share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .isvc_env import install_crds


@pytest.fixture(scope="module")
def gateway_api(envtest: Any) -> Iterator[None]:
    """The Gateway API's HTTPRoute CRD, installed for the module (the Standard-mode tests
    that expect HTTPRoutes)."""
    install_crds(envtest, "httproutes.gateway.networking.k8s.io")
    yield

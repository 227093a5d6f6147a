"""envtest for this framework: a real control plane for integration and cluster tests.

See :mod:`runtime.testing.envtest` for the environment and
:mod:`runtime.testing.pytest_plugin` for the pytest fixtures. The names below load on first
use, so importing a light submodule (``runtime.testing.processes``) does not pull in the
certificate and YAML machinery of the environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.testing.envtest import DEFAULT_NODE_CAPACITY, Environment, find_assets
    from runtime.testing.processes import EnvtestError

__all__ = ["DEFAULT_NODE_CAPACITY", "Environment", "EnvtestError", "find_assets"]

_HOMES = {
    "DEFAULT_NODE_CAPACITY": "runtime.testing.envtest",
    "Environment": "runtime.testing.envtest",
    "find_assets": "runtime.testing.envtest",
    "EnvtestError": "runtime.testing.processes",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'runtime.testing' has no attribute {name!r}")

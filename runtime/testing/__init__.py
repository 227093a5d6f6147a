"""envtest for this framework: a real control plane for integration and cluster tests.

See :mod:`runtime.testing.envtest` for the environment and
:mod:`runtime.testing.pytest_plugin` for the pytest fixtures.
"""

from runtime.testing.envtest import DEFAULT_NODE_CAPACITY, Environment, find_assets
from runtime.testing.processes import EnvtestError

__all__ = ["DEFAULT_NODE_CAPACITY", "Environment", "EnvtestError", "find_assets"]

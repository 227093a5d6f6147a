"""pytest fixtures over :class:`runtime.testing.Environment`.

Load with ``pytest_plugins = ["runtime.testing.pytest_plugin"]``. Fixtures:

``envtest``      session: etcd + kube-apiserver with the CRDs from ``--envtest-crds``
                 (or the ``ENVTEST_CRDS`` environment variable; ``os.pathsep``-separated).
``cluster_env``  session: a second control plane with kube-controller-manager,
                 kube-scheduler and kwok nodes (the cluster tier), same CRDs.
``kube_client``  an async lightkube client as cluster-admin on ``envtest``.
``namespace``    a fresh namespace on ``envtest`` for one test, deleted afterwards.
``cluster_client`` / ``cluster_namespace``: the same on ``cluster_env``.
``knative_env``  session: a third control plane (cluster tier) running Knative Serving's
                 controller, autoscaler and webhook (a started
                 :class:`runtime.testing.knative.KnativeServing`; binaries from
                 ``KNATIVE_ASSETS``, built with ``hack/build-knative.sh`` when it is unset
                 and the script is there, cached), same CRDs plus
                 the ``--knative-crds`` / ``KNATIVE_EXTRA_CRDS`` ones. Its autoscaler holds
                 :8080 until the session ends: run the tier in its own session.
``knative_client`` / ``knative_namespace``: the same on ``knative_env``.

Async tests and fixtures run on anyio; set the ``anyio_backend`` fixture to "asyncio".
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runtime.testing.envtest import Environment
from runtime.testing.knative import KnativeServing
from runtime.testing.processes import ensure_built


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--envtest-crds",
        action="append",
        default=[],
        help="CRD file or directory to install into envtest (repeatable)",
    )
    parser.addoption(
        "--knative-crds",
        action="append",
        default=[],
        help="extra CRD file or directory for the Knative tier (repeatable)",
    )


def _crd_paths(config: pytest.Config) -> list[str]:
    paths: list[str] = list(config.getoption("--envtest-crds"))
    env = os.environ.get("ENVTEST_CRDS")
    if env:
        paths += [p for p in env.split(os.pathsep) if p]
    return [p for p in paths if os.path.exists(p)]


def _start(request: pytest.FixtureRequest, *, cluster: bool) -> Iterator[Environment]:
    env = Environment(crd_paths=_crd_paths(request.config), cluster=cluster)
    env.start()
    try:
        yield env
    finally:
        env.stop()


@pytest.fixture(scope="session")
def envtest(request: pytest.FixtureRequest) -> Iterator[Environment]:
    yield from _start(request, cluster=False)


@pytest.fixture(scope="session")
def cluster_env(request: pytest.FixtureRequest) -> Iterator[Environment]:
    yield from _start(request, cluster=True)


def _ensure_knative_assets(config: pytest.Config) -> None:
    """Knative Serving's binaries: ``KNATIVE_ASSETS``, else built (cached) by the project's
    ``hack/build-knative.sh``. No script is a clear error rather than a skip: a tier that
    silently skips proves nothing."""
    script = Path(str(config.rootpath)) / "hack" / "build-knative.sh"
    if not os.environ.get("KNATIVE_ASSETS") and not script.is_file():
        raise RuntimeError(f"the Knative tier needs KNATIVE_ASSETS, or {script} to build it")
    ensure_built("KNATIVE_ASSETS", script)


@pytest.fixture(scope="session")
def knative_env(request: pytest.FixtureRequest) -> Iterator[KnativeServing]:
    _ensure_knative_assets(request.config)
    extra: list[str] = list(request.config.getoption("--knative-crds"))
    env_extra = os.environ.get("KNATIVE_EXTRA_CRDS")
    if env_extra:
        extra += [p for p in env_extra.split(os.pathsep) if p]
    env = Environment(crd_paths=[*_crd_paths(request.config), *extra], cluster=True)
    env.start()
    knative = KnativeServing(env)
    try:
        knative.start()
        yield knative
    finally:
        knative.stop()
        env.stop()


async def _client(env: Environment) -> AsyncIterator[object]:
    from lightkube import AsyncClient, KubeConfig

    client = AsyncClient(KubeConfig.from_file(env.kubeconfig_path), field_manager="envtest")
    try:
        yield client
    finally:
        await client.close()


async def _namespace(env: Environment, prefix: str) -> AsyncIterator[str]:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    client = AsyncClient(KubeConfig.from_file(env.kubeconfig_path), field_manager="envtest")
    try:
        await client.create(Namespace(metadata=ObjectMeta(name=name, labels={"envtest": "true"})))
        yield name
        # Without kube-controller-manager a namespace stays Terminating forever; deleting
        # it still hides it from list and keeps tests independent.
        await client.delete(Namespace, name)
    finally:
        await client.close()


@pytest.fixture
async def kube_client(envtest: Environment) -> AsyncIterator[object]:
    async for c in _client(envtest):
        yield c


@pytest.fixture
async def namespace(envtest: Environment) -> AsyncIterator[str]:
    async for n in _namespace(envtest, "test"):
        yield n


@pytest.fixture
async def cluster_client(cluster_env: Environment) -> AsyncIterator[object]:
    async for c in _client(cluster_env):
        yield c


@pytest.fixture
async def cluster_namespace(cluster_env: Environment) -> AsyncIterator[str]:
    async for n in _namespace(cluster_env, "ctest"):
        yield n


@pytest.fixture
async def knative_client(knative_env: KnativeServing) -> AsyncIterator[object]:
    async for c in _client(knative_env.env):
        yield c


@pytest.fixture
async def knative_namespace(knative_env: KnativeServing) -> AsyncIterator[str]:
    async for n in _namespace(knative_env.env, "kntest"):
        yield n

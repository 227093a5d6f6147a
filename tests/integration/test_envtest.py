"""The foundation on a real kube-apiserver: CRUD, server-side apply, watch, RBAC, teardown."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import anyio
import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Secret

from runtime.testing import Environment, EnvtestError

pytestmark = pytest.mark.anyio


def test_version_is_the_pinned_one(envtest: Environment) -> None:
    v = envtest.version()
    assert v["gitVersion"] == "v1.34.4"
    assert (v["major"], v["minor"]) == ("1", "34")


async def test_create_read_update_delete(kube_client: AsyncClient, namespace: str) -> None:
    cm = ConfigMap(metadata=ObjectMeta(name="crud", namespace=namespace), data={"a": "1"})
    created = await kube_client.create(cm)
    assert created.metadata.uid

    got = await kube_client.get(ConfigMap, "crud", namespace=namespace)
    assert got.data == {"a": "1"}

    got.data["b"] = "2"
    replaced = await kube_client.replace(got)
    assert replaced.data == {"a": "1", "b": "2"}
    assert int(replaced.metadata.resourceVersion) > int(created.metadata.resourceVersion)

    # A stale resourceVersion is a conflict, as optimistic concurrency requires.
    got.data["c"] = "3"
    with pytest.raises(ApiError) as stale:
        await kube_client.replace(got)
    assert stale.value.status.code == 409

    await kube_client.delete(ConfigMap, "crud", namespace=namespace)
    with pytest.raises(ApiError) as gone:
        await kube_client.get(ConfigMap, "crud", namespace=namespace)
    assert gone.value.status.code == 404


async def test_server_side_apply_owns_fields(kube_client: AsyncClient, namespace: str) -> None:
    desired = ConfigMap(
        apiVersion="v1",
        kind="ConfigMap",
        metadata=ObjectMeta(name="ssa", namespace=namespace),
        data={"owned": "x"},
    )
    first = await kube_client.apply(desired, field_manager="controller-a")
    managers = {m.manager: m.operation for m in first.metadata.managedFields}
    assert managers == {"controller-a": "Apply"}

    # A second manager setting the same field conflicts unless it forces.
    other = ConfigMap(
        apiVersion="v1",
        kind="ConfigMap",
        metadata=ObjectMeta(name="ssa", namespace=namespace),
        data={"owned": "y"},
    )
    with pytest.raises(ApiError) as conflict:
        await kube_client.apply(other, field_manager="controller-b")
    assert conflict.value.status.code == 409
    forced = await kube_client.apply(other, field_manager="controller-b", force=True)
    assert forced.data == {"owned": "y"}

    # Re-applying an unchanged object writes nothing: same resourceVersion.
    again = await kube_client.apply(other, field_manager="controller-b", force=True)
    assert again.metadata.resourceVersion == forced.metadata.resourceVersion


async def test_watch_sees_added_modified_deleted(kube_client: AsyncClient, namespace: str) -> None:
    """A watch from a resourceVersion sees what came after it, in order (so the changes may
    be made before the watch opens: no race with its start)."""
    sentinel = await kube_client.create(
        ConfigMap(metadata=ObjectMeta(name="sentinel", namespace=namespace)))
    await kube_client.create(ConfigMap(metadata=ObjectMeta(name="w", namespace=namespace)))
    await kube_client.patch(ConfigMap, "w", {"data": {"k": "v"}}, namespace=namespace)
    await kube_client.delete(ConfigMap, "w", namespace=namespace)
    seen: list[tuple[str, str]] = []
    with anyio.fail_after(20):
        async for event, obj in kube_client.watch(
            ConfigMap, namespace=namespace, resource_version=sentinel.metadata.resourceVersion
        ):
            if obj.metadata.name == "w":
                seen.append((event, obj.metadata.name))
                if event == "DELETED":
                    break
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_unprivileged_service_account_is_forbidden(
    envtest: Environment, namespace: str
) -> None:
    path = envtest.kubeconfig_for_service_account(namespace, "nobody")
    client = AsyncClient(KubeConfig.from_file(path))
    try:
        with pytest.raises(ApiError) as denied:
            async for _ in client.list(Secret, namespace=namespace):
                pass
        assert denied.value.status.code == 403
        assert f"system:serviceaccount:{namespace}:nobody" in denied.value.status.message
    finally:
        await client.close()


async def test_user_certificate_identity_is_checked_by_rbac(
    envtest: Environment, namespace: str
) -> None:
    client = AsyncClient(KubeConfig.from_file(envtest.kubeconfig_for_user("alice", ["devs"])))
    try:
        with pytest.raises(ApiError) as denied:
            await client.create(ConfigMap(metadata=ObjectMeta(name="x", namespace=namespace)))
        assert denied.value.status.code == 403
        assert 'User "alice"' in denied.value.status.message
    finally:
        await client.close()


def test_install_crd_waits_for_established(envtest: Environment, tmp_path: Path) -> None:
    crd = tmp_path / "widgets.yaml"
    crd.write_text(WIDGET_CRD)
    assert envtest.install_crds([crd]) == ["widgets.example.test"]


def test_non_structural_crd_is_reported(envtest: Environment, tmp_path: Path) -> None:
    crd = tmp_path / "bad.yaml"
    crd.write_text(
        WIDGET_CRD.replace("widgets", "gadgets")
        .replace("Widget", "Gadget")
        .replace("type: object\n            properties:", "properties:")
    )
    with pytest.raises(Exception, match=r"(?i)(structural|type)"):
        envtest.install_crds([crd])


# --- bad input and teardown: each its own short-lived control plane -----------------


def _children_of(pids: dict[str, int]) -> list[int]:
    return [p for p in pids.values() if os.path.exists(f"/proc/{p}")]


def test_stop_leaves_no_process_and_no_directory() -> None:
    env = Environment()
    env.start()
    pids, work = env.pids(), env.dir
    assert set(pids) == {"etcd", "kube-apiserver"}
    assert env.start_seconds is not None and env.start_seconds < 30
    env.stop()
    assert _children_of(pids) == []
    assert not work.exists()


def test_failed_start_cleans_up_and_names_the_cause() -> None:
    env = Environment(extra_apiserver_args=["--no-such-flag=1"])
    with pytest.raises(
        EnvtestError, match=r"(?s)kube-apiserver exited early.*unknown flag: --no-such-flag"
    ):
        env.start()
    assert env.pids() == {}


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = Environment(apiserver_port=port)
        with pytest.raises(
            EnvtestError, match=rf"127.0.0.1:{port} for kube-apiserver is already in use"
        ):
            env.start()
        assert env.pids() == {}


def test_missing_binaries_are_named(tmp_path: Path) -> None:
    (tmp_path / "etcd").write_text("#!/bin/sh\n")
    (tmp_path / "etcd").chmod(0o755)
    with pytest.raises(EnvtestError, match=r"lacks kube-apiserver"):
        Environment(assets_dir=tmp_path).start()


WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.test
spec:
  group: example.test
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"""

"""``corev1.Container`` inlined into a KServe spec (Go ``corev1.Container `json:",inline"```).

KServe's framework specs (``sklearn``, ``model``, ``art``, ...) embed a Container's fields flat.
``ContainerFields`` declares them as Python fields whose values are lightkube objects
(``EnvVar``, ``Probe``, ``ResourceRequirements``...), and ``container()`` assembles a
``lightkube.models.core_v1.Container`` sharing those very objects. The CRD schema of these
fields is the Kubernetes definition's (``__kube_inline__``), so list/map markers and defaults
match controller-gen's output.
"""

from __future__ import annotations

from typing import Annotated, Any

from lightkube.models import core_v1
from pydantic import Field

from runtime.resource import (
    ContainerPort,
    EnvFromSource,
    EnvVar,
    K8sType,
    KubeModel,
    Probe,
    ResourceRequirements,
    SecurityContext,
    VolumeMount,
)

ContainerResizePolicy = Annotated[core_v1.ContainerResizePolicy, K8sType()]
ContainerRestartRule = Annotated[core_v1.ContainerRestartRule, K8sType()]
VolumeDevice = Annotated[core_v1.VolumeDevice, K8sType()]
Lifecycle = Annotated[core_v1.Lifecycle, K8sType()]

CONTAINER_DEFINITION = "io.k8s.api.core.v1.Container"

PROBE_PORTS = ((core_v1.HTTPGetAction, "port"), (core_v1.TCPSocketAction, "port"))
"""Knative forbids a probe port, so KServe's CRD drops ``required: [port]`` under
readiness/liveness ``httpGet``/``tcpSocket``; the Python types accept its absence too."""
ServingProbe = Annotated[core_v1.Probe, K8sType(optional=PROBE_PORTS)]
"""A readiness/liveness probe whose handler port may be omitted."""
ServingContainer = Annotated[core_v1.Container, K8sType(optional=PROBE_PORTS)]
"""A component container whose readiness/liveness probe port may be omitted."""


def set_fields(model: KubeModel, fields_of: type[KubeModel]) -> dict[str, Any]:
    """The fields of ``fields_of`` (a base of ``model``'s class) that are set (not None) on
    ``model``, keyed by JSON name; values as they are (shared, not copied)."""
    values: dict[str, Any] = {}
    for field_name, info in fields_of.model_fields.items():
        value = getattr(model, field_name)
        if value is not None:
            values[info.alias or field_name] = value
    return values


class ContainerFields(KubeModel):
    """The fields of a Kubernetes Container, inlined."""

    __kube_inline__ = (CONTAINER_DEFINITION,)

    name: str | None = Field(None, alias="name")
    image: str | None = Field(None, alias="image")
    command: list[str] | None = Field(None, alias="command")
    args: list[str] | None = Field(None, alias="args")
    working_dir: str | None = Field(None, alias="workingDir")
    ports: list[ContainerPort] | None = Field(None, alias="ports")
    env_from: list[EnvFromSource] | None = Field(None, alias="envFrom")
    env: list[EnvVar] | None = Field(None, alias="env")
    resources: ResourceRequirements | None = Field(None, alias="resources")
    resize_policy: list[ContainerResizePolicy] | None = Field(None, alias="resizePolicy")
    restart_policy: str | None = Field(None, alias="restartPolicy")
    restart_policy_rules: list[ContainerRestartRule] | None = Field(
        None, alias="restartPolicyRules"
    )
    volume_mounts: list[VolumeMount] | None = Field(None, alias="volumeMounts")
    volume_devices: list[VolumeDevice] | None = Field(None, alias="volumeDevices")
    liveness_probe: ServingProbe | None = Field(None, alias="livenessProbe")
    readiness_probe: ServingProbe | None = Field(None, alias="readinessProbe")
    startup_probe: Probe | None = Field(None, alias="startupProbe")
    lifecycle: Lifecycle | None = Field(None, alias="lifecycle")
    termination_message_path: str | None = Field(None, alias="terminationMessagePath")
    termination_message_policy: str | None = Field(None, alias="terminationMessagePolicy")
    image_pull_policy: str | None = Field(None, alias="imagePullPolicy")
    security_context: SecurityContext | None = Field(None, alias="securityContext")
    stdin: bool | None = Field(None, alias="stdin")
    stdin_once: bool | None = Field(None, alias="stdinOnce")
    tty: bool | None = Field(None, alias="tty")

    def container(self, **overrides: Any) -> core_v1.Container:
        """A lightkube ``Container`` made of these fields (nested objects shared, not copied)."""
        values = {"name": "", **set_fields(self, ContainerFields), **overrides}
        return core_v1.Container(**values)

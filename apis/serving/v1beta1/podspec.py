"""KServe's copy of ``corev1.PodSpec`` (upstream ``pkg/apis/serving/v1beta1/podspec.go``).

Differences from the core type, kept on purpose for CRD compatibility: ``containers`` is
optional, and ``containers``/``initContainers``/``volumes``/``imagePullSecrets``/``hostAliases``
carry no list-map markers, ``tolerations``/``readinessGates`` no atomic marker. Component specs
inherit these fields (Go ``PodSpec `json:",inline"```); ``pod_spec()`` turns them into a lightkube
``PodSpec`` holding the same Container/Volume objects.
"""

from __future__ import annotations

from typing import Annotated, Any

from lightkube.models import core_v1
from pydantic import Field

from runtime.resource import (
    Affinity,
    Container,
    HostAlias,
    Int32,
    Int64,
    K8sType,
    KubeModel,
    ListType,
    LocalObjectReference,
    MapType,
    PodDNSConfig,
    PodReadinessGate,
    PodResourceClaim,
    PodSchedulingGate,
    PodSecurityContext,
    Quantity,
    ResourceRequirements,
    Toleration,
    TopologySpreadConstraint,
    Volume,
)

from .container import ServingContainer, set_fields

EphemeralContainer = Annotated[core_v1.EphemeralContainer, K8sType()]
PodOS = Annotated[core_v1.PodOS, K8sType(optional=((core_v1.PodOS, "name"),))]
"""KServe's yq strips ``required`` one level below each component (``spec.predictor.os``), so
``os: {}`` is admitted there and must decode."""


class PodSpec(KubeModel):
    """PodSpec is a description of a pod."""

    volumes: list[Volume] | None = Field(None, alias="volumes")
    """List of volumes that can be mounted by containers belonging to the pod."""
    init_containers: list[Container] | None = Field(None, alias="initContainers")
    """List of initialization containers belonging to the pod, run in order before the
    containers start."""
    containers: list[ServingContainer] | None = Field(None, alias="containers")
    """List of containers belonging to the pod."""
    ephemeral_containers: list[EphemeralContainer] | None = Field(None, alias="ephemeralContainers")
    """List of ephemeral containers run in this pod (not part of the InferenceService CRD)."""
    restart_policy: str | None = Field(None, alias="restartPolicy")
    """Restart policy for all containers within the pod: Always, OnFailure or Never."""
    termination_grace_period_seconds: Int64 | None = Field(
        None, alias="terminationGracePeriodSeconds"
    )
    """Optional duration in seconds the pod needs to terminate gracefully."""
    active_deadline_seconds: Int64 | None = Field(None, alias="activeDeadlineSeconds")
    """Optional duration in seconds the pod may be active on the node before it is failed."""
    dns_policy: str | None = Field(None, alias="dnsPolicy")
    """Set DNS policy for the pod. Defaults to "ClusterFirst"."""
    node_selector: Annotated[dict[str, str] | None, MapType("atomic")] = Field(
        None, alias="nodeSelector"
    )
    """NodeSelector must match a node's labels for the pod to be scheduled on that node."""
    service_account_name: str | None = Field(None, alias="serviceAccountName")
    """ServiceAccountName is the name of the ServiceAccount to use to run this pod."""
    service_account: str | None = Field(None, alias="serviceAccount")
    """DeprecatedServiceAccount is a deprecated alias for ServiceAccountName."""
    automount_service_account_token: bool | None = Field(None, alias="automountServiceAccountToken")
    """Whether a service account token should be automatically mounted."""
    node_name: str | None = Field(None, alias="nodeName")
    """NodeName indicates in which node this pod is scheduled."""
    host_network: bool | None = Field(None, alias="hostNetwork")
    """Host networking requested for this pod. Default to false."""
    host_pid: bool | None = Field(None, alias="hostPID")
    """Use the host's pid namespace. Default to false."""
    host_ipc: bool | None = Field(None, alias="hostIPC")
    """Use the host's ipc namespace. Default to false."""
    share_process_namespace: bool | None = Field(None, alias="shareProcessNamespace")
    """Share a single process namespace between all of the containers in a pod."""
    security_context: PodSecurityContext | None = Field(None, alias="securityContext")
    """SecurityContext holds pod-level security attributes and common container settings."""
    image_pull_secrets: list[LocalObjectReference] | None = Field(None, alias="imagePullSecrets")
    """References to secrets in the same namespace to use for pulling images."""
    hostname: str | None = Field(None, alias="hostname")
    """Specifies the hostname of the Pod."""
    subdomain: str | None = Field(None, alias="subdomain")
    """If specified, the fully qualified Pod hostname includes this subdomain."""
    affinity: Affinity | None = Field(None, alias="affinity")
    """If specified, the pod's scheduling constraints."""
    scheduler_name: str | None = Field(None, alias="schedulerName")
    """If specified, the pod will be dispatched by the specified scheduler."""
    tolerations: list[Toleration] | None = Field(None, alias="tolerations")
    """If specified, the pod's tolerations."""
    host_aliases: list[HostAlias] | None = Field(None, alias="hostAliases")
    """Hosts and IPs that will be injected into the pod's hosts file."""
    priority_class_name: str | None = Field(None, alias="priorityClassName")
    """If specified, indicates the pod's priority class."""
    priority: Int32 | None = Field(None, alias="priority")
    """The priority value (populated from PriorityClassName by admission)."""
    dns_config: PodDNSConfig | None = Field(None, alias="dnsConfig")
    """Specifies the DNS parameters of a pod."""
    readiness_gates: list[PodReadinessGate] | None = Field(None, alias="readinessGates")
    """If specified, all readiness gates will be evaluated for pod readiness."""
    runtime_class_name: str | None = Field(None, alias="runtimeClassName")
    """RuntimeClass object in the node.k8s.io group used to run this pod."""
    enable_service_links: bool | None = Field(None, alias="enableServiceLinks")
    """Whether information about services should be injected into the pod's environment."""
    preemption_policy: str | None = Field(None, alias="preemptionPolicy")
    """Policy for preempting pods with lower priority: Never or PreemptLowerPriority."""
    overhead: dict[str, Quantity] | None = Field(None, alias="overhead")
    """Resource overhead associated with running a pod for a given RuntimeClass."""
    topology_spread_constraints: Annotated[
        list[TopologySpreadConstraint] | None,
        ListType("map", "topologyKey", "whenUnsatisfiable"),
    ] = Field(None, alias="topologySpreadConstraints")
    """How a group of pods ought to spread across topology domains."""
    set_hostname_as_fqdn: bool | None = Field(None, alias="setHostnameAsFQDN")
    """If true the pod's hostname will be configured as the pod's FQDN."""
    os: PodOS | None = Field(None, alias="os")
    """Specifies the OS of the containers in the pod."""
    host_users: bool | None = Field(None, alias="hostUsers")
    """Use the host's user namespace. Optional: Default to true."""
    scheduling_gates: Annotated[list[PodSchedulingGate] | None, ListType("map", "name")] = Field(
        None, alias="schedulingGates"
    )
    """Opaque list of values that, while present, block scheduling the pod."""
    resource_claims: Annotated[list[PodResourceClaim] | None, ListType("map", "name")] = Field(
        None, alias="resourceClaims"
    )
    """ResourceClaims that must be allocated and reserved before the Pod is allowed to start."""
    resources: ResourceRequirements | None = Field(None, alias="resources")
    """Total amount of CPU and Memory resources required by all containers in the pod."""
    hostname_override: str | None = Field(None, alias="hostnameOverride")
    """Explicit override for the pod's hostname as perceived by the pod."""

    def pod_spec(self, **overrides: Any) -> core_v1.PodSpec:
        """A lightkube ``PodSpec`` of these fields (Container/Volume objects shared, not copied)."""
        values = {"containers": [], **set_fields(self, PodSpec), **overrides}
        return core_v1.PodSpec(**values)

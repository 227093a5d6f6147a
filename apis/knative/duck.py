"""Knative types embedded in KServe statuses: ``Condition`` (``knative.dev/pkg/apis``), the
inline ``duckv1.Status`` fields and ``Addressable`` (``knative.dev/pkg/apis/duck/v1``), and
serving's ``TrafficTarget`` (``knative.dev/serving/pkg/apis/serving/v1``).

Only what KServe's kinds embed. Schemas match what controller-gen emits for them in KServe's
CRDs.
"""

from __future__ import annotations

from pydantic import Field

from runtime.resource import Int64, KubeModel

__all__ = ["Addressable", "Condition", "DuckStatus", "TrafficTarget"]


class Condition(KubeModel):
    """Condition defines a readiness condition for a Knative resource
    (``knative.dev/pkg/apis.Condition``)."""

    type: str = Field(alias="type")
    """Type of condition."""
    status: str = Field(alias="status")
    """Status of the condition, one of True, False, Unknown."""
    severity: str | None = Field(None, alias="severity")
    """Severity with which to treat failures of this type of condition. When this is not
    specified, it defaults to Error."""
    last_transition_time: str | None = Field(None, alias="lastTransitionTime")
    """LastTransitionTime is the last time the condition transitioned from one status to
    another. We use VolatileTime in place of metav1.Time to exclude this from creating
    equality.Semantic differences (all other things held constant)."""
    reason: str | None = Field(None, alias="reason")
    """The reason for the condition's last transition."""
    message: str | None = Field(None, alias="message")
    """A human readable message indicating details about the transition."""


class DuckStatus(KubeModel):
    """The inline fields of ``duckv1.Status``; status types subclass it."""

    observed_generation: Int64 | None = Field(None, alias="observedGeneration")
    """ObservedGeneration is the 'Generation' of the Service that was last processed by the
    controller."""
    conditions: list[Condition] | None = Field(None, alias="conditions")
    """Conditions the latest available observations of a resource's current state."""
    annotations: dict[str, str] | None = Field(None, alias="annotations")
    """Annotations is additional Status fields for the Resource to save some additional State
    as well as convey more information to the user. This is roughly akin to Annotations on
    any k8s resource, just the reconciler conveying richer information outwards."""

    def get_condition(self, type_: str) -> Condition | None:
        """The condition of type ``type_``, or None."""
        for c in self.conditions or []:
            if c.type == type_:
                return c
        return None

    def has_observed(self, generation: int | None) -> bool:
        """Whether this status speaks of the object's ``generation`` (its controller has seen
        the spec of that generation; until then the status is the previous spec's)."""
        return (self.observed_generation or 0) >= (generation or 0)


class Addressable(KubeModel):
    """Addressable provides a generic mechanism for a custom resource definition to indicate a
    destination for message delivery (``duckv1.Addressable``)."""

    name: str | None = Field(None, alias="name")
    """Name is the name of the address."""
    url: str | None = Field(None, alias="url")
    """URL of the address."""
    ca_certs: str | None = Field(None, alias="CACerts")
    """CACerts is the Certification Authority (CA) certificates in PEM format that the source
    trusts when sending events to the sink."""
    audience: str | None = Field(None, alias="audience")
    """Audience is the OIDC audience for this address."""


class TrafficTarget(KubeModel):
    """Knative traffic target: a revision and its share of the traffic
    (``servingv1.TrafficTarget``)."""

    tag: str | None = Field(None, alias="tag")
    """Tag used to expose a dedicated URL for this target."""
    revision_name: str | None = Field(None, alias="revisionName")
    """RevisionName of a specific revision to which to send this portion of traffic."""
    configuration_name: str | None = Field(None, alias="configurationName")
    """ConfigurationName of a configuration whose latest revision gets this traffic."""
    latest_revision: bool | None = Field(None, alias="latestRevision")
    """Whether the latest ready revision of the configuration is targeted."""
    percent: Int64 | None = Field(None, alias="percent")
    """Percent of the traffic sent to this target."""
    url: str | None = Field(None, alias="url")
    """URL displaying a dedicated URL for this target (status only)."""

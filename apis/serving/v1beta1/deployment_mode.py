"""Which deployment mode an InferenceService (or InferenceGraph) runs in: upstream
``controller/v1beta1/inferenceservice/utils.GetDeploymentMode`` and
``constants.ParseDeploymentMode`` (reference §2.1 step 2).

Order: ``status.deploymentMode`` (sticky: once recorded, an object never changes mode) >
the ``serving.kserve.io/deploymentMode`` annotation when it names a mode (legacy
``RawDeployment`` -> Standard, ``Serverless`` -> Knative) > ``deploy.defaultDeploymentMode``
of ``inferenceservice-config``. An invalid annotation falls through to the default.

Two cases upstream leaves open get an answer here (our result is always a real mode):
a status value that names no mode (only a hand edit makes one; upstream would return it
verbatim and reconcile it as Knative) is ignored like an empty one; and an empty config
default (no ``deploy`` key; the parsed config never holds another value that names no
mode) is Knative, which is what upstream's reconcilers do with its
empty mode (everything but Standard and ModelMesh goes the Knative way) and the shipped
default.
"""

from __future__ import annotations

from collections.abc import Mapping

from apis.serving.constants import DEPLOYMENT_MODE_ANNOTATION, DeploymentModeType
from apis.serving.v1beta1.configmap import DeployConfig

__all__ = ["get_deployment_mode", "parse_deployment_mode"]

_MODES: Mapping[str, DeploymentModeType] = {
    DeploymentModeType.STANDARD: DeploymentModeType.STANDARD,
    DeploymentModeType.KNATIVE: DeploymentModeType.KNATIVE,
    DeploymentModeType.MODEL_MESH: DeploymentModeType.MODEL_MESH,
    DeploymentModeType.LEGACY_RAW_DEPLOYMENT: DeploymentModeType.STANDARD,
    DeploymentModeType.LEGACY_SERVERLESS: DeploymentModeType.KNATIVE,
}


def parse_deployment_mode(value: str | None) -> DeploymentModeType | None:
    """``constants.ParseDeploymentMode``: empty -> Standard (upstream's
    ``DefaultDeployment``), legacy names mapped, a known mode as itself; None for anything
    else (upstream passes it through unchanged)."""
    if not value:
        return DeploymentModeType.STANDARD
    return _MODES.get(value)


def get_deployment_mode(
    status_mode: str | None,
    annotations: Mapping[str, str] | None,
    deploy_config: DeployConfig | None,
) -> DeploymentModeType:
    """``GetDeploymentMode(status.deploymentMode, metadata.annotations, deployConfig)``."""
    if status_mode:
        recorded = _MODES.get(status_mode)
        if recorded is not None:
            return recorded
    annotated = _MODES.get((annotations or {}).get(DEPLOYMENT_MODE_ANNOTATION, ""))
    if annotated is not None:
        return annotated
    default = deploy_config.default_deployment_mode if deploy_config is not None else ""
    return _MODES.get(default, DeploymentModeType.KNATIVE)

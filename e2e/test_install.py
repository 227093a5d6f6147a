"""KServe installed like upstream: config/default accepted by the API server, the manager's
Deployment scheduled (onto a simulated node here), the webhooks served by the manager."""

from __future__ import annotations

from typing import Any

from lightkube.resources.admissionregistration_v1 import (
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Pod

from e2e.conftest import Cluster
from e2e.helpers import wait_for
from e2e.manager import ManagerProcess


def test_config_default_server_dry_run(cluster: Cluster) -> None:
    lines = cluster.dry_run.splitlines()
    assert any(line.startswith("deployment.apps/kserve-controller-manager ") for line in lines)
    assert any(line.startswith("clusterrole.rbac.authorization.k8s.io/kserve-manager-role ")
               for line in lines)
    assert any("clusterservingruntime.serving.kserve.io/kserve-sklearnserver" in line
               for line in lines)
    assert all("(server dry run)" in line for line in lines), cluster.dry_run
    assert len(lines) >= 35


def test_manager_deployment_scheduled(kube: Any, managers: Any) -> None:
    dep = wait_for(lambda: (d := kube.get(Deployment, "kserve-controller-manager",
                                          namespace="kserve")).status
                   and d.status.availableReplicas == 1 and d, "manager Deployment available")
    assert dep.spec.template.spec.serviceAccountName == "kserve-controller-manager"
    pods = list(kube.list(Pod, namespace="kserve",
                          labels={"control-plane": "kserve-controller-manager"}))
    assert pods and pods[0].spec.nodeName


def test_webhooks_point_at_the_manager(kube: Any, manager: ManagerProcess) -> None:
    urls = [wh.clientConfig.url
            for kind in (MutatingWebhookConfiguration, ValidatingWebhookConfiguration)
            for cfg in kube.list(kind) if cfg.metadata.name.endswith(".serving.kserve.io")
            for wh in cfg.webhooks]
    assert len(urls) >= 7
    assert all(u.startswith(f"https://127.0.0.1:{manager.webhook_port}/") for u in urls)


def test_manager_probes_metrics_and_json_logs(manager: ManagerProcess) -> None:
    assert manager.get("/healthz")[0] == 200
    assert manager.get("/readyz")[0] == 200
    text = manager.metrics()
    assert 'controller_runtime_active_workers{controller="inferenceservice"}' in text
    records = manager.log_records()
    assert records and all({"ts", "level", "msg"} <= r.keys() for r in records)

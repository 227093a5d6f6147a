"""``kserve-localmodel-manager`` (``python -m controllers.localmodel``): the LocalModelCache
and LocalModelNamespaceCache controllers and the LocalModelNode writer (upstream
``cmd/localmodel``, Deployment ``kserve-localmodel-controller-manager``).

A separate process, as upstream, not a controller of ``kserve-manager``: it needs to create
and delete PersistentVolumes and claims and to read every Node, which the main manager's
role then does not grant; it caches Nodes, PersistentVolumes and claims cluster-wide, which
a cluster without LocalModel caches does not pay for; and upstream's manifests (Deployment,
ServiceAccount ``kserve-localmodel-controller-manager``, ClusterRole
``kserve-localmodel-manager-role``, lease ``kserve-local-model-manager-leader-lock``) apply
unchanged. Its admission webhooks (LocalModelCache and LocalModelNamespaceCache validation)
are served by ``kserve-manager`` (``config/webhook/localmodel``), so this process serves
none; ``--webhook-port`` and the TLS flags are accepted for upstream's command line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from lightkube.resources.core_v1 import ConfigMap

from controllers.cli import add_common_flags, manager_options, run_manager
from controllers.config import CONFIG_MAP_NAME, ConfigSource, kserve_namespace
from runtime.cache import ByObject, CacheOptions
from runtime.manager import Manager

__all__ = ["LEADER_LOCK_NAME", "build_parser", "main", "new_manager", "setup_all"]

log = logging.getLogger("kserve-localmodel-manager")

LEADER_LOCK_NAME = "kserve-local-model-manager-leader-lock"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-localmodel-manager",
        description="KServe LocalModel controllers: LocalModelCache, LocalModelNamespaceCache "
        "and the LocalModelNodes' model lists.",
    )
    add_common_flags(
        p,
        leader_help=f"elect a leader (Lease {LEADER_LOCK_NAME}) so only one replica reconciles",
    )
    p.add_argument("--max-concurrent-reconciles", type=int, default=4,
                   help="workers per controller (upstream runs 1)")
    p.add_argument("--webhook-port", type=int, default=9443,
                   help="accepted for upstream's command line; the LocalModel webhooks are "
                   "served by kserve-manager")
    p.add_argument("--tls-min-version", default="VersionTLS12",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--tls-cipher-suites", default="",
                   help="accepted for upstream's command line (no server here)")
    return p


def cache_options(config_namespace: str) -> CacheOptions:
    """Only ``inferenceservice-config`` of the ConfigMaps (the rest are never read)."""
    return CacheOptions(by_object={ConfigMap: ByObject(
        namespaces=[config_namespace], field_selector=f"metadata.name={CONFIG_MAP_NAME}")})


def new_manager(args: argparse.Namespace, **overrides: Any) -> Manager:
    kw = manager_options(
        args, leader_election_id=LEADER_LOCK_NAME, cache_options=cache_options(kserve_namespace())
    )
    kw.update(overrides)
    return Manager(args.kubeconfig, **kw)


def setup_all(mgr: Manager, config_namespace: str | None = None) -> ConfigSource:
    """Register the LocalModel controllers with ``mgr``; ``inferenceservice-config`` is read
    from ``config_namespace`` (default ``$POD_NAMESPACE`` or ``kserve``)."""
    from controllers.localmodel.controller import setup

    config = ConfigSource(mgr.client, config_namespace,
                          recorder=mgr.get_event_recorder("kserve-config"))
    setup(mgr, config)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_manager(args, new_manager, setup_all, log=log)


def entry() -> Any:
    """The ``kserve-localmodel-manager`` console script."""
    sys.exit(main())

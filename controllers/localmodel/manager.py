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
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from lightkube.resources.core_v1 import ConfigMap

from controllers.config import CONFIG_MAP_NAME, ConfigSource, kserve_namespace
from controllers.manager import _bool, _explain, _level
from runtime.cache import ByObject, CacheOptions
from runtime.log import setup_logging
from runtime.manager import Manager

__all__ = ["LEADER_LOCK_NAME", "build_parser", "main", "new_manager", "setup_all"]

log = logging.getLogger("kserve-localmodel-manager")

LEADER_LOCK_NAME = "kserve-local-model-manager-leader-lock"
FIELD_MANAGER = "manager"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-localmodel-manager",
        description="KServe LocalModel controllers: LocalModelCache, LocalModelNamespaceCache "
        "and the LocalModelNodes' model lists.",
    )
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig file (default: $KUBECONFIG, then in-cluster)")
    p.add_argument("--metrics-addr", default=":8080",
                   help="address the /metrics endpoint binds to (\"0\" disables it)")
    p.add_argument("--health-probe-addr", default=":8081",
                   help="address of the /healthz and /readyz probes (\"0\" disables them)")
    p.add_argument("--leader-elect", type=_bool, nargs="?", const=True, default=False,
                   metavar="BOOL",
                   help=f"elect a leader (Lease {LEADER_LOCK_NAME}) so only one replica "
                   "reconciles")
    p.add_argument("--leader-election-namespace", default=None,
                   help="namespace of the leader Lease (default: $POD_NAMESPACE or kserve)")
    p.add_argument("--max-concurrent-reconciles", type=int, default=4,
                   help="workers per controller (upstream runs 1)")
    p.add_argument("--webhook-port", type=int, default=9443,
                   help="accepted for upstream's command line; the LocalModel webhooks are "
                   "served by kserve-manager")
    p.add_argument("--tls-min-version", default="VersionTLS12",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--tls-cipher-suites", default="",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--zap-log-level", default="info",
                   help="log level: debug, info, warn, error")
    p.add_argument("--zap-encoder", default="json", choices=["json", "console"],
                   help="log format; json is one object per line")
    p.add_argument("--graceful-shutdown-timeout", type=float, default=25.0,
                   help="seconds a stop may take in all, the lease released within them")
    return p


def cache_options(config_namespace: str) -> CacheOptions:
    """Only ``inferenceservice-config`` of the ConfigMaps (the rest are never read)."""
    return CacheOptions(by_object={ConfigMap: ByObject(
        namespaces=[config_namespace], field_selector=f"metadata.name={CONFIG_MAP_NAME}")})


def new_manager(args: argparse.Namespace, **overrides: Any) -> Manager:
    kw: dict[str, Any] = dict(
        metrics_bind_address=args.metrics_addr,
        health_probe_bind_address=args.health_probe_addr,
        leader_election=args.leader_elect,
        leader_election_id=LEADER_LOCK_NAME,
        leader_election_namespace=args.leader_election_namespace or kserve_namespace(),
        leader_election_release_on_cancel=True,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        cache_options=cache_options(kserve_namespace()),
        field_manager=FIELD_MANAGER,
        max_concurrent_reconciles=args.max_concurrent_reconciles,
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


async def _run(args: argparse.Namespace) -> None:
    mgr = new_manager(args)
    setup_all(mgr)
    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    await mgr.run()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.zap_encoder == "json":
        setup_logging(_level(args.zap_log_level))
    else:
        logging.basicConfig(level=_level(args.zap_log_level),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        anyio.run(_run, args)
    except KeyboardInterrupt:
        return 0
    except Exception as e:
        log.error("problem running manager: %s", _explain(e))
        log.debug("details", exc_info=True)
        return 1
    return 0


def entry() -> Any:
    """The ``kserve-localmodel-manager`` console script."""
    sys.exit(main())

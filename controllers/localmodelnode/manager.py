"""``kserve-localmodelnode-agent`` (``python -m controllers.localmodelnode``): the LocalModel
agent of one node (upstream ``cmd/localmodelnode``, DaemonSet
``kserve-localmodelnode-agent``, ``config/localmodelnodes``).

The node comes from ``--node-name`` or ``$NODE_NAME`` (the downward API), the models folder
from ``--models-root`` (default ``/mnt/models/models``: the node's ``/models`` mounted at
``/mnt/models``). The cache holds only what this node needs: its own LocalModelNode, its own
Jobs (label ``node=<node>``), ``inferenceservice-config``, the ClusterStorageContainers and
node groups; Secrets and ServiceAccounts are read uncached when a Job is made.

``--leader-elect`` takes upstream's lease ``kserve-local-model-node-manager-leader-lock``
(one lease for all nodes, so only one agent in the cluster works; upstream's DaemonSet does
not pass the flag, nor does ours).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1alpha1 import LocalModelNode
from controllers.config import CONFIG_MAP_NAME, ConfigSource, kserve_namespace
from controllers.manager import _bool, _explain, _level
from runtime.cache import ByObject, CacheOptions
from runtime.log import setup_logging
from runtime.manager import Manager

__all__ = ["DEFAULT_MODELS_ROOT", "LEADER_LOCK_NAME", "build_parser", "cache_options", "main",
           "new_manager", "setup_all"]

log = logging.getLogger("kserve-localmodelnode-agent")

LEADER_LOCK_NAME = "kserve-local-model-node-manager-leader-lock"
DEFAULT_MODELS_ROOT = "/mnt/models/models"
FIELD_MANAGER = "manager"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-localmodelnode-agent",
        description="KServe LocalModel node agent: downloads the models of this node's "
        "LocalModelNode with Jobs and reports their status.",
    )
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig file (default: $KUBECONFIG, then in-cluster)")
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME", ""),
                   help="the node this agent serves (default: $NODE_NAME)")
    p.add_argument("--models-root", default=DEFAULT_MODELS_ROOT,
                   help=f"folder holding one folder per model (default {DEFAULT_MODELS_ROOT})")
    p.add_argument("--metrics-addr", default=":8080",
                   help="address the /metrics endpoint binds to (\"0\" disables it)")
    p.add_argument("--health-probe-addr", default=":8081",
                   help="address of the /healthz and /readyz probes (\"0\" disables them)")
    p.add_argument("--leader-elect", type=_bool, nargs="?", const=True, default=False,
                   metavar="BOOL",
                   help=f"elect a leader (Lease {LEADER_LOCK_NAME}, shared by every node)")
    p.add_argument("--leader-election-namespace", default=None,
                   help="namespace of the leader Lease (default: $POD_NAMESPACE or kserve)")
    p.add_argument("--tls-min-version", default="VersionTLS12",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--tls-cipher-suites", default="",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--zap-log-level", default="info",
                   help="log level: debug, info, warn, error")
    p.add_argument("--zap-encoder", default="json", choices=["json", "console"],
                   help="log format; json is one object per line")
    p.add_argument("--graceful-shutdown-timeout", type=float, default=10.0,
                   help="seconds a stop may take in all")
    return p


def cache_options(node_name: str, config_namespace: str) -> CacheOptions:
    """The agent's cache: this node's LocalModelNode and Jobs, the one ConfigMap."""
    return CacheOptions(by_object={
        LocalModelNode: ByObject(field_selector=f"metadata.name={node_name}"),
        Job: ByObject(label_selector=f"node={node_name}"),
        ConfigMap: ByObject(namespaces=[config_namespace],
                            field_selector=f"metadata.name={CONFIG_MAP_NAME}"),
    })


def new_manager(args: argparse.Namespace, **overrides: Any) -> Manager:
    if not args.node_name:
        raise SystemExit("kserve-localmodelnode-agent: --node-name or $NODE_NAME is required")
    kw: dict[str, Any] = dict(
        metrics_bind_address=args.metrics_addr,
        health_probe_bind_address=args.health_probe_addr,
        leader_election=args.leader_elect,
        leader_election_id=LEADER_LOCK_NAME,
        leader_election_namespace=args.leader_election_namespace or kserve_namespace(),
        leader_election_release_on_cancel=True,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        cache_options=cache_options(args.node_name, kserve_namespace()),
        field_manager=FIELD_MANAGER,
    )
    kw.update(overrides)
    return Manager(args.kubeconfig, **kw)


def setup_all(mgr: Manager, node_name: str, models_root: str,
              config_namespace: str | None = None) -> ConfigSource:
    """Register the agent of ``node_name`` with ``mgr``."""
    from controllers.localmodelnode.controller import setup

    config = ConfigSource(mgr.client, config_namespace,
                          recorder=mgr.get_event_recorder("kserve-config"))
    setup(mgr, config, node_name, models_root)
    return config


async def _run(args: argparse.Namespace) -> None:
    mgr = new_manager(args)
    setup_all(mgr, args.node_name, args.models_root)
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
        log.error("problem running agent: %s", _explain(e))
        log.debug("details", exc_info=True)
        return 1
    return 0


def entry() -> Any:
    """The ``kserve-localmodelnode-agent`` console script."""
    sys.exit(main())

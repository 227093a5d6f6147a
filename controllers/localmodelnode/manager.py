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

from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap

from apis.serving.v1alpha1 import LocalModelNode
from controllers.cli import add_common_flags, manager_options, run_manager
from controllers.config import CONFIG_MAP_NAME, ConfigSource, kserve_namespace
from runtime.cache import ByObject, CacheOptions
from runtime.manager import Manager

__all__ = ["DEFAULT_MODELS_ROOT", "LEADER_LOCK_NAME", "build_parser", "cache_options", "main",
           "new_manager", "setup_all"]

log = logging.getLogger("kserve-localmodelnode-agent")

LEADER_LOCK_NAME = "kserve-local-model-node-manager-leader-lock"
DEFAULT_MODELS_ROOT = "/mnt/models/models"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-localmodelnode-agent",
        description="KServe LocalModel node agent: downloads the models of this node's "
        "LocalModelNode with Jobs and reports their status.",
    )
    add_common_flags(
        p,
        leader_help=f"elect a leader (Lease {LEADER_LOCK_NAME}, shared by every node)",
        graceful_shutdown_timeout=10.0,
        graceful_shutdown_help="seconds a stop may take in all",
    )
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME", ""),
                   help="the node this agent serves (default: $NODE_NAME)")
    p.add_argument("--models-root", default=DEFAULT_MODELS_ROOT,
                   help=f"folder holding one folder per model (default {DEFAULT_MODELS_ROOT})")
    p.add_argument("--tls-min-version", default="VersionTLS12",
                   help="accepted for upstream's command line (no server here)")
    p.add_argument("--tls-cipher-suites", default="",
                   help="accepted for upstream's command line (no server here)")
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
    kw = manager_options(
        args,
        leader_election_id=LEADER_LOCK_NAME,
        cache_options=cache_options(args.node_name, kserve_namespace()),
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_manager(
        args,
        new_manager,
        lambda mgr: setup_all(mgr, args.node_name, args.models_root),
        log=log,
        what="agent",
    )


def entry() -> Any:
    """The ``kserve-localmodelnode-agent`` console script."""
    sys.exit(main())

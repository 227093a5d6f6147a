"""``kserve-manager``: the KServe controller-manager (upstream ``cmd/manager/main.go``).

Runs the InferenceService, InferenceGraph and TrainedModel controllers (and the admission
webhooks, registered by :mod:`controllers.webhooks`) in one process, with upstream's flags
and environment: ``--metrics-addr``, ``--health-probe-addr``, ``--webhook-port``,
``--leader-elect`` (lease ``kserve-controller-manager-leader-lock`` in ``$POD_NAMESPACE``),
``--tls-min-version``, ``--tls-cipher-suites``, ``--zap-log-level``.

Unlike upstream, leader election also works out of cluster (the lease namespace comes from
``--leader-election-namespace``, ``$POD_NAMESPACE`` or ``kserve``), and a setup problem (a
missing CRD, an RBAC refusal, an unreachable API server) ends the process with one clear
line and exit status 1 instead of a traceback or a retry loop.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from controllers.cli import (
    add_common_flags,
    manager_options,
    parse_bool,
    run_manager,
)
from controllers.config import ConfigSource
from runtime.cache import CacheOptions
from runtime.manager import Manager

__all__ = ["LEADER_LOCK_NAME", "build_parser", "main", "new_manager", "setup_all"]

log = logging.getLogger("kserve-manager")

LEADER_LOCK_NAME = "kserve-controller-manager-leader-lock"
CONTROLLERS = (
    "inferenceservice",
    "trainedmodel",
    "inferencegraph",
    # +kserve-py:scaffold:controllers (`python -m codegen create-api --controller` adds above)
)
"""Packages below ``controllers/`` whose ``controller.setup(mgr, config)`` registers a
controller."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-manager",
        description="The KServe control plane: InferenceService, InferenceGraph and "
        "TrainedModel controllers and the admission webhooks.",
    )
    add_common_flags(
        p,
        kubeconfig_help="kubeconfig file (default: $KUBECONFIG, then in-cluster, then "
        "~/.kube/config)",
        leader_help=f"elect a leader (Lease {LEADER_LOCK_NAME}) so only one replica reconciles",
    )
    p.add_argument("--webhook-port", type=int, default=9443,
                   help="port of the HTTPS admission webhook server")
    p.add_argument("--webhook-cert-dir", default="/tmp/k8s-webhook-server/serving-certs",
                   help="directory holding the webhook server's tls.crt and tls.key "
                   "(reloaded when they change)")
    p.add_argument("--webhooks", type=parse_bool, default=True, metavar="BOOL",
                   help="serve the admission webhooks (default true)")
    p.add_argument("--dev-webhook-certs", action="store_true",
                   help="development: make a CA and serving certificate in --webhook-cert-dir "
                   "and patch its caBundle into the KServe webhook configurations")
    p.add_argument("--webhook-host", default="",
                   help="address the webhook server binds to (default: all interfaces)")
    p.add_argument("--controllers", default="*",
                   help=f"comma-separated controllers to run: {', '.join(CONTROLLERS)} "
                   "(default * = all)")
    p.add_argument("--max-concurrent-reconciles", type=int, default=8,
                   help="workers per controller (upstream runs 1)")
    p.add_argument("--tls-min-version", default="VersionTLS12",
                   choices=["VersionTLS12", "VersionTLS13"],
                   help="minimum TLS version of the webhook server")
    p.add_argument("--tls-cipher-suites", default="",
                   help="comma-separated TLS 1.2 cipher suites (Go names); empty: defaults")
    return p


def new_manager(args: argparse.Namespace) -> Manager:
    from controllers.inferenceservice.controller import by_object

    return Manager(
        args.kubeconfig,
        **manager_options(
            args,
            leader_election_id=LEADER_LOCK_NAME,
            cache_options=CacheOptions(by_object=by_object()),
        ),
    )


def setup_all(mgr: Manager, args: argparse.Namespace | None = None) -> ConfigSource:
    """Register every controller (and, unless disabled, the webhooks) with ``mgr``, as
    upstream's main does."""
    import importlib

    config = ConfigSource(mgr.client, recorder=mgr.get_event_recorder("kserve-config"))
    wanted = CONTROLLERS if args is None or args.controllers == "*" else tuple(
        c.strip() for c in args.controllers.split(",") if c.strip())
    unknown = set(wanted) - set(CONTROLLERS)
    if unknown:
        raise SystemExit(f"kserve-manager: unknown controller(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(CONTROLLERS)}")
    for name in wanted:
        importlib.import_module(f"controllers.{name}.controller").setup(mgr, config)
    if args is None or args.webhooks:
        from controllers.webhooks import setup as setup_webhooks

        setup_webhooks(mgr, config, args)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["render"]:
        from controllers.render import main as render

        return int(render(argv[1:]))
    args = build_parser().parse_args(argv)
    return run_manager(args, new_manager, lambda mgr: setup_all(mgr, args), log=log)


def entry() -> Any:
    """The ``kserve-manager`` console script."""
    sys.exit(main())

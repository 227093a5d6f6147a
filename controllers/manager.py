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
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from controllers.config import ConfigSource, kserve_namespace
from runtime.cache import CacheOptions
from runtime.log import setup_logging
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
FIELD_MANAGER = "manager"
"""The field manager of every write (controller-runtime's default: the binary's name)."""


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-manager",
        description="The KServe control plane: InferenceService, InferenceGraph and "
        "TrainedModel controllers and the admission webhooks.",
    )
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig file (default: $KUBECONFIG, then in-cluster, then "
                   "~/.kube/config)")
    p.add_argument("--metrics-addr", default=":8080",
                   help="address the /metrics endpoint binds to (\"0\" disables it)")
    p.add_argument("--health-probe-addr", default=":8081",
                   help="address of the /healthz and /readyz probes (\"0\" disables them)")
    p.add_argument("--webhook-port", type=int, default=9443,
                   help="port of the HTTPS admission webhook server")
    p.add_argument("--webhook-cert-dir", default="/tmp/k8s-webhook-server/serving-certs",
                   help="directory holding the webhook server's tls.crt and tls.key "
                   "(reloaded when they change)")
    p.add_argument("--webhooks", type=_bool, default=True, metavar="BOOL",
                   help="serve the admission webhooks (default true)")
    p.add_argument("--dev-webhook-certs", action="store_true",
                   help="development: make a CA and serving certificate in --webhook-cert-dir "
                   "and patch its caBundle into the KServe webhook configurations")
    p.add_argument("--webhook-host", default="",
                   help="address the webhook server binds to (default: all interfaces)")
    p.add_argument("--leader-elect", type=_bool, nargs="?", const=True, default=False,
                   metavar="BOOL",
                   help=f"elect a leader (Lease {LEADER_LOCK_NAME}) so only one replica "
                   "reconciles")
    p.add_argument("--leader-election-namespace", default=None,
                   help="namespace of the leader Lease (default: $POD_NAMESPACE or kserve)")
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
    p.add_argument("--zap-log-level", default="info",
                   help="log level: debug, info, warn, error (zap's flag name)")
    p.add_argument("--zap-encoder", default="json", choices=["json", "console"],
                   help="log format (zap's flag name); json is one object per line")
    p.add_argument("--graceful-shutdown-timeout", type=float, default=25.0,
                   help="seconds a stop may take in all, the lease released within them")
    return p


def new_manager(args: argparse.Namespace) -> Manager:
    from controllers.inferenceservice.controller import by_object

    return Manager(
        args.kubeconfig,
        metrics_bind_address=args.metrics_addr,
        health_probe_bind_address=args.health_probe_addr,
        leader_election=args.leader_elect,
        leader_election_id=LEADER_LOCK_NAME,
        leader_election_namespace=args.leader_election_namespace or kserve_namespace(),
        leader_election_release_on_cancel=True,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        cache_options=CacheOptions(by_object=by_object()),
        field_manager=FIELD_MANAGER,
        max_concurrent_reconciles=args.max_concurrent_reconciles,
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


def _level(name: str) -> int:
    levels = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR}
    if name.lower() not in levels:
        raise SystemExit(f"kserve-manager: unknown --zap-log-level {name!r}")
    return levels[name.lower()]


def _explain(exc: BaseException) -> str:
    """One line for a setup problem the operator must fix."""
    import httpx2

    for e in _leaves(exc):
        code = getattr(getattr(e, "status", None), "code", None)
        if code == 403:
            return f"forbidden: the manager's RBAC does not allow it: {e}"
        if code == 404:
            return f"not found (is the CRD installed?): {e}"
        if isinstance(e, httpx2.TransportError | OSError):
            return f"cannot reach the API server: {e}"
    return str(exc) or type(exc).__name__


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    out = [exc]
    if exc.__cause__ is not None:
        out += _leaves(exc.__cause__)
    return out


async def _run(args: argparse.Namespace) -> None:
    mgr = new_manager(args)
    setup_all(mgr, args)
    mgr.add_healthz_check("ping", lambda: None)
    mgr.add_readyz_check("informers", mgr.cache_synced_check)
    await mgr.run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["render"]:
        from controllers.render import main as render

        return int(render(argv[1:]))
    args = build_parser().parse_args(argv)
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
    """The ``kserve-manager`` console script."""
    sys.exit(main())

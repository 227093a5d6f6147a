"""What the control plane's three processes share (``kserve-manager``,
``kserve-localmodel-manager``, ``kserve-localmodelnode-agent``; upstream's ``cmd/*/main.go``
repeat it): the common flags, the :class:`~runtime.manager.Manager` options they map to, and
the ``main`` that sets up logging, runs the manager with its health checks and turns a setup
problem (a missing CRD, an RBAC refusal, an unreachable API server) into one clear line and
exit status 1 instead of a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from typing import Any

import anyio

from controllers.config import kserve_namespace
from runtime.cache import CacheOptions
from runtime.log import setup_logging
from runtime.manager import Manager

__all__ = [
    "FIELD_MANAGER",
    "add_common_flags",
    "explain",
    "log_level",
    "manager_options",
    "parse_bool",
    "run_manager",
]

FIELD_MANAGER = "manager"
"""The field manager of every write (controller-runtime's default: the binary's name)."""


def parse_bool(value: str) -> bool:
    """A flag's ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_common_flags(
    p: argparse.ArgumentParser,
    *,
    leader_help: str,
    kubeconfig_help: str = "kubeconfig file (default: $KUBECONFIG, then in-cluster)",
    graceful_shutdown_timeout: float = 25.0,
    graceful_shutdown_help: str = "seconds a stop may take in all, the lease released within "
    "them",
) -> None:
    """``--kubeconfig``, ``--metrics-addr``, ``--health-probe-addr``, ``--leader-elect``
    (``leader_help``), ``--leader-election-namespace``, ``--zap-log-level``, ``--zap-encoder`` and
    ``--graceful-shutdown-timeout``."""
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), help=kubeconfig_help)
    p.add_argument("--metrics-addr", default=":8080",
                   help="address the /metrics endpoint binds to (\"0\" disables it)")
    p.add_argument("--health-probe-addr", default=":8081",
                   help="address of the /healthz and /readyz probes (\"0\" disables them)")
    p.add_argument("--leader-elect", type=parse_bool, nargs="?", const=True, default=False,
                   metavar="BOOL", help=leader_help)
    p.add_argument("--leader-election-namespace", default=None,
                   help="namespace of the leader Lease (default: $POD_NAMESPACE or kserve)")
    p.add_argument("--zap-log-level", default="info",
                   help="log level: debug, info, warn, error (zap's flag name)")
    p.add_argument("--zap-encoder", default="json", choices=["json", "console"],
                   help="log format (zap's flag name); json is one object per line")
    p.add_argument("--graceful-shutdown-timeout", type=float,
                   default=graceful_shutdown_timeout, help=graceful_shutdown_help)


def manager_options(
    args: argparse.Namespace, *, leader_election_id: str, cache_options: CacheOptions
) -> dict[str, Any]:
    """The :class:`~runtime.manager.Manager` keywords of :func:`add_common_flags`'s flags
    (``--max-concurrent-reconciles`` too where the process has it)."""
    kw: dict[str, Any] = dict(
        metrics_bind_address=args.metrics_addr,
        health_probe_bind_address=args.health_probe_addr,
        leader_election=args.leader_elect,
        leader_election_id=leader_election_id,
        leader_election_namespace=args.leader_election_namespace or kserve_namespace(),
        leader_election_release_on_cancel=True,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
        cache_options=cache_options,
        field_manager=FIELD_MANAGER,
    )
    if getattr(args, "max_concurrent_reconciles", None) is not None:
        kw["max_concurrent_reconciles"] = args.max_concurrent_reconciles
    return kw


def log_level(name: str, prog: str = "kserve-manager") -> int:
    levels = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR}
    if name.lower() not in levels:
        raise SystemExit(f"{prog}: unknown --zap-log-level {name!r}")
    return levels[name.lower()]


def explain(exc: BaseException) -> str:
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


def run_manager(
    args: argparse.Namespace,
    new_manager: Callable[[argparse.Namespace], Manager],
    setup: Callable[[Manager], object],
    *,
    log: logging.Logger,
    what: str = "manager",
) -> int:
    """A process's ``main`` after parsing: logging per ``--zap-*``, then ``new_manager(args)``
    with ``setup`` and the ``ping``/``informers`` probes, run until stopped. Exit status 0
    on a stop, 1 (and ``problem running <what>: <why>`` logged) on an error."""
    if args.zap_encoder == "json":
        setup_logging(log_level(args.zap_log_level, log.name))
    else:
        logging.basicConfig(level=log_level(args.zap_log_level, log.name),
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def _run() -> None:
        mgr = new_manager(args)
        setup(mgr)
        mgr.add_healthz_check("ping", lambda: None)
        mgr.add_readyz_check("informers", mgr.cache_synced_check)
        await mgr.run()

    try:
        anyio.run(_run)
    except KeyboardInterrupt:
        return 0
    except Exception as e:
        log.error("problem running %s: %s", what, explain(e))
        log.debug("details", exc_info=True)
        return 1
    return 0

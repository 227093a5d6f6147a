"""The manager: one process's shared dependencies and lifecycle (controller-runtime's
``pkg/manager``).

A :class:`Manager` owns the API connection, the shared informer :class:`~runtime.cache.Cache`,
the :class:`~runtime.client.Client`, event recorders, the metrics and health-probe HTTP
servers, leader election and every added runnable (controllers first of all).

Start order (as controller-runtime): HTTP servers (metrics, probes) -> caches (wait for the
informers registered so far, bounded by ``cache_sync_timeout``) -> non-leader runnables ->
leader election -> leader runnables (controllers) once elected. A controller creates its
informers when it starts (looked up by discovery, synced within its own
``cache_sync_timeout``): a kind that is not served or a list that is forbidden fails the
manager with an error naming the kind and what is missing, instead of a wait without end.
Without leader election "elected" happens at once. Stop order is the reverse: leader
runnables (in-flight reconciles finish) -> lease released -> non-leader runnables -> caches ->
event recorders drained -> HTTP servers. All of it shares **one deadline**,
``graceful_shutdown_timeout`` from the stop request (0: do not wait, negative: wait
forever), as controller-runtime's shutdown context: runnables still running when their share
is spent are cancelled and ``start()`` raises, and the lease is released inside the deadline,
so a pod's termination grace (30 s, the default here too) is never outlived by the process
still holding the lease.

A lost lease stops the controllers at once (grace 0) and ``start()`` raises
:class:`LeaderElectionLostError`: the process must exit (non-zero) rather than keep running as a
follower with possibly stale state, as controller-runtime does.

Connections: the client (writes, direct reads), leader election and event recorders use the
configured lightkube client's connection pool; the cache's reflectors use a copy of it with its
own unbounded pool (see ``runtime.cache.Cache``). Over HTTP/1.1 every open watch holds a
connection, so on the shared pool (100 connections) 100 watched types would leave writes
and lease renewals waiting for a connection until they time out.

SIGTERM / SIGINT trigger a graceful stop (``handle_signals=True``, the default of
:meth:`Manager.run`); a second signal exits at once with status 1.

The metrics and health-probe endpoints are served by ``runtime.httpserver``.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.abc
from anyio.abc import TaskStatus
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from runtime import metrics
from runtime.cache import Cache, CacheOptions
from runtime.healthz import Checker, Handler, Response
from runtime.httpserver import HTTPServer, Route

__all__ = [
    "LeaderElectionLostError",
    "Manager",
    "Runnable",
    "RunnableFunc",
    "parse_bind_address",
]

log = logging.getLogger("runtime.manager")


class LeaderElectionLostError(RuntimeError):
    """The lease was lost: every controller stopped; the process must exit."""


@runtime_checkable
class Runnable(Protocol):
    """Something the manager runs (``manager.Runnable``).

    ``start(stopping)`` runs until ``stopping`` is set, then winds down and returns; raising
    stops the whole manager with that error. Optionally ``need_leader_election() -> bool``
    (default True, as in Go: runnables are leader-gated unless they say otherwise).
    """

    async def start(self, stopping: anyio.Event) -> None: ...


class RunnableFunc:
    """Adapts ``async def fn(stopping) -> None`` to :class:`Runnable`."""

    def __init__(
        self, fn: Callable[[anyio.Event], Awaitable[None]], *, need_leader_election: bool = True
    ) -> None:
        self._fn = fn
        self._nle = need_leader_election

    async def start(self, stopping: anyio.Event) -> None:
        await self._fn(stopping)

    def need_leader_election(self) -> bool:
        return self._nle


def _needs_leader(r: Any) -> bool:
    fn = getattr(r, "need_leader_election", None)
    return bool(fn()) if callable(fn) else True


def parse_bind_address(addr: str | int | None) -> tuple[str | None, int] | None:
    """``":8080"`` -> (all interfaces, 8080); ``"127.0.0.1:0"`` -> ephemeral port;
    ``"0"``, ``""``, ``None`` -> disabled (controller-runtime's convention)."""
    if addr is None:
        return None
    s = str(addr).strip()
    if s in ("", "0"):
        return None
    host, sep, port = s.rpartition(":")
    if not sep:
        host, port = "", s
    host = host.strip("[]")
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"invalid bind address {addr!r}") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"invalid port in bind address {addr!r}")
    return (host or None, p)


# --------------------------------------------------------------------------- manager


def _load_kube(config: Any) -> Any:
    """A lightkube ``AsyncClient`` from a client, a ``KubeConfig``, a kubeconfig path, or
    ``None``: ``$KUBECONFIG``, then in-cluster, then ``~/.kube/config`` (controller-runtime's
    ``config.GetConfig`` order after its ``--kubeconfig`` flag)."""
    from lightkube import AsyncClient, KubeConfig

    if isinstance(config, AsyncClient):
        return config
    if isinstance(config, KubeConfig):
        cfg = config
    elif isinstance(config, str | os.PathLike):
        cfg = KubeConfig.from_file(Path(config))
    elif config is None and os.environ.get("KUBECONFIG"):
        cfg = KubeConfig.from_file(Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]))
    elif config is None:
        cfg = KubeConfig.from_env()  # in-cluster, then ~/.kube/config
    else:
        raise TypeError(f"cannot make a Kubernetes client from {config!r}")
    return AsyncClient(cfg)


class _Group:
    """Runnables that start and stop together, each in its own task."""

    def __init__(self, mgr: Manager, name: str) -> None:
        self.mgr = mgr
        self.name = name
        self.runnables: list[Any] = []
        self.stopping = anyio.Event()
        self.done = anyio.Event()
        self.scope: anyio.CancelScope | None = None
        self.tg: anyio.abc.TaskGroup | None = None
        self.started = False

    def add(self, r: Any) -> None:
        self.runnables.append(r)
        if self.tg is not None and not self.stopping.is_set():
            self.tg.start_soon(self._run_one, r, name=f"runnable {r!r}")

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self.scope = tg.cancel_scope
                self.tg = tg
                self.started = True
                for r in self.runnables:
                    tg.start_soon(self._run_one, r, name=f"runnable {r!r}")
                task_status.started()
                # Runnables added after start join at once (e.g. a controller built late).
                await self.stopping.wait()
                self.tg = None
        finally:
            self.tg = None
            self.done.set()

    async def _run_one(self, r: Any) -> None:
        try:
            await r.start(self.stopping)
        except Exception as err:
            log.error("runnable failed: %s", err, exc_info=True, extra={"group": self.name})
            self.mgr._fail(err)

    async def stop(self, deadline: float) -> bool:
        """Ask every runnable to stop and wait until ``deadline`` (``anyio.current_time()``
        clock; ``math.inf``: forever); cancel what still runs then. Returns False if any
        runnable had to be cancelled."""
        self.stopping.set()
        if not self.started:
            return True
        with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
            await self.done.wait()
        if self.done.is_set():
            return True
        if self.scope is not None:
            self.scope.cancel()
        with anyio.CancelScope(shield=True):
            await self.done.wait()
        return False


class _StopDeadline:
    """One deadline for the whole stop (controller-runtime's shutdown context): leader
    runnables, the lease release, the other runnables and the event drain all share
    ``grace`` seconds from the stop request. A short tail (at most 0.25 s) is kept for the
    cancellations and closes that follow, and with ``release`` a slice (at most 2 s) for the
    lease release, so the whole stop, release included, fits in ``grace``.

    ``grace == 0``: do not wait, cancel at once (cancelling is the intent, not an error); the
    lease release still gets up to 1 s. ``grace < 0``: wait forever."""

    def __init__(self, grace: float, *, release: bool) -> None:
        now = anyio.current_time()
        self.cancel = grace == 0
        self.forever = grace < 0
        if self.forever:
            self.end = self.runnables = math.inf
            return
        tail = min(0.25, 0.1 * grace)
        self.end = now + grace - tail
        reserve = min(2.0, 0.2 * grace) if release else 0.0
        self.runnables = self.end - reserve

    def remaining(self) -> float:
        return max(0.0, self.end - anyio.current_time())

    def release_budget(self) -> float:
        if self.forever:
            return math.inf
        if self.cancel:
            return 1.0
        return self.remaining()


class Manager:
    """Owns the cache, client, event recorders, HTTP endpoints, leader election and runnables.

    ``config``: a kubeconfig path, a lightkube ``KubeConfig`` or ``AsyncClient``, or ``None``
    for the default loading rules (``$KUBECONFIG``, in-cluster, ``~/.kube/config``).
    ``namespace`` restricts the cache to one namespace (c-r ``Cache.DefaultNamespaces``).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        kubeconfig: str | os.PathLike[str] | None = None,
        namespace: str | None = None,
        metrics_bind_address: str | int | None = ":8080",
        health_probe_bind_address: str | int | None = ":8081",
        leader_election: bool = False,
        leader_election_id: str = "",
        leader_election_namespace: str | None = None,
        leader_election_release_on_cancel: bool = False,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        graceful_shutdown_timeout: float = 30.0,
        cache_sync_timeout: float = 120.0,
        cache_options: CacheOptions | None = None,
        field_manager: str = "manager",
        max_concurrent_reconciles: int = 1,
    ) -> None:
        if config is None and kubeconfig is not None:
            config = kubeconfig
        self.kube = _load_kube(config)
        self.namespace = namespace
        opts = cache_options or CacheOptions()
        if namespace and opts.default_namespaces is None:
            opts = dataclasses.replace(opts, default_namespaces=[namespace])
        self.cache = Cache(self.kube, opts)
        #: kind -> resource by discovery; ``await mgr.rest_mapper.is_served(T)`` for optional
        #: kinds (c-r's ``GetRESTMapper``)
        self.rest_mapper = self.cache.rest_mapper
        #: bound on the wait for informers registered before start (controllers bound their
        #: own sources with their ``cache_sync_timeout``)
        self.cache_sync_timeout = cache_sync_timeout
        self.field_manager = field_manager
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self._client: Any = None
        self._recorders: dict[str, Any] = {}

        self.metrics_bind_address = parse_bind_address(metrics_bind_address)
        self.health_probe_bind_address = parse_bind_address(health_probe_bind_address)
        self.metrics_port: int | None = None
        self.health_probe_port: int | None = None
        self._healthz: Handler | None = None
        self._readyz: Handler | None = None

        self.leader_election = leader_election
        if leader_election and not leader_election_id:
            raise ValueError("leader_election_id is required when leader election is enabled")
        self.leader_election_id = leader_election_id
        self.leader_election_namespace = leader_election_namespace
        self.leader_election_release_on_cancel = leader_election_release_on_cancel
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.identity = f"{socket.gethostname()}_{uuid.uuid4()}"
        self.graceful_shutdown_timeout = graceful_shutdown_timeout

        self._controller_names: set[str] = set()
        self._caches = _Group(self, "caches")
        self._others = _Group(self, "others")
        self._leaders = _Group(self, "leader election runnables")
        self._elected = anyio.Event()
        self._stop = anyio.Event()
        self._errors: list[BaseException] = []
        self._started = False
        self._lost_lease = False
        self._releasing = False
        self._tg: anyio.abc.TaskGroup | None = None
        self._events_tg: anyio.abc.TaskGroup | None = None
        self._elector: Any = None

    # ------------------------------------------------------------------ shared deps

    @property
    def client(self) -> Any:
        """The cache-reading, API-writing client (``mgr.GetClient()``)."""
        if self._client is None:
            from runtime.client import Client

            self._client = Client(self.kube, self.cache, field_manager=self.field_manager,
                                  rest_mapper=self.rest_mapper)
        return self._client

    def get_event_recorder(self, name: str) -> Any:
        """An events.k8s.io/v1 recorder reporting as ``name`` (``GetEventRecorderFor``)."""
        rec = self._recorders.get(name)
        if rec is None:
            from runtime.recorder import EventRecorder

            rec = EventRecorder(name, self.client, reporting_instance=self.identity[:128])
            self._recorders[name] = rec
            if self._events_tg is not None:
                self._events_tg.start_soon(rec.run)
        return rec

    def elected(self) -> anyio.Event:
        """Set once this replica leads (at once without leader election)."""
        return self._elected

    # ------------------------------------------------------------------ registration

    def register_controller_name(self, name: str) -> None:
        """Controller names are metric labels and log keys: they must be unique."""
        if name in self._controller_names:
            raise ValueError(
                f"controller with name {name!r} already exists. Controller names must be unique "
                "to avoid multiple controllers reporting to the same metric"
            )
        self._controller_names.add(name)

    def add(self, runnable: Any) -> None:
        """Add a runnable (``mgr.Add``): leader-gated unless ``need_leader_election()`` is
        False. Runnables added after start join their group at once (a leader runnable added
        before election waits for it, as in Go)."""
        if not callable(getattr(runnable, "start", None)):
            if callable(runnable):
                runnable = RunnableFunc(runnable)
            else:
                raise TypeError(f"{runnable!r} is not a Runnable")
        group = self._leaders if _needs_leader(runnable) else self._others
        if group is self._leaders and self.leader_election:
            set_fence = getattr(runnable, "set_leader_fence", None)
            if callable(set_fence):
                set_fence(self.holds_lease)
        if group.stopping.is_set():
            raise RuntimeError("the manager is stopping: cannot add runnables")
        group.add(runnable)

    def runnables(self) -> list[Any]:
        """Everything added, leader-gated first (e.g. for deriving RBAC from the controllers'
        ``watched_resources()``)."""
        return [*self._leaders.runnables, *self._others.runnables]

    def add_healthz_check(self, name: str, check: Checker) -> None:
        if self._started:
            raise RuntimeError("unable to add new checker because the manager has started")
        if self._healthz is None:
            self._healthz = Handler("healthz")
        self._healthz.add_check(name, check)

    def add_readyz_check(self, name: str, check: Checker) -> None:
        if self._started:
            raise RuntimeError("unable to add new checker because the manager has started")
        if self._readyz is None:
            self._readyz = Handler("readyz")
        self._readyz.add_check(name, check)

    async def cache_synced_check(self) -> None:
        """A ready check: fails until every informer synced (use with add_readyz_check)."""
        if not self.cache.started:
            raise RuntimeError("cache not started")
        for inf in self.cache.informers():
            if not inf.has_synced():
                raise RuntimeError(f"informer {inf.info.kind} not synced")

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Request a graceful stop (what SIGTERM does)."""
        self._stop.set()

    def _fail(self, err: BaseException) -> None:
        self._errors.append(err)
        self._stop.set()

    async def _serve_http(self, tg: anyio.abc.TaskGroup) -> None:
        if self.metrics_bind_address is not None:
            host, port = self.metrics_bind_address

            async def metrics_route(_rest: str, _query: str) -> Response:
                # The classic text format, labelled as client_golang labels it (version=0.0.4).
                body = metrics.exposition()
                return Response(200, {"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}, body)

            srv = HTTPServer("metrics server", host, port, {"/metrics": metrics_route})
            self.metrics_port = await tg.start(srv.serve)
        if self.health_probe_bind_address is not None:
            host, port = self.health_probe_bind_address
            routes: dict[str, Route] = {}
            if self._readyz is not None:
                routes["/readyz"] = self._readyz.handle
            if self._healthz is not None:
                routes["/healthz"] = self._healthz.handle
            srv = HTTPServer("health probe", host, port, routes)
            self.health_probe_port = await tg.start(srv.serve)

    async def _signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as sigs:
            async for sig in sigs:
                if not self._stop.is_set():
                    log.info("Received signal %s, stopping", signal.Signals(sig).name)
                    self._stop.set()
                else:
                    log.error("Received second signal, exiting directly")
                    os._exit(1)

    def _make_elector(self) -> Any:
        from runtime.leaderelection import LeaderElectionConfig, LeaderElector

        cfg = LeaderElectionConfig(
            lease_name=self.leader_election_id,
            namespace=self._lease_namespace(),
            identity=self.identity,
            lease_duration=self.lease_duration,
            renew_deadline=self.renew_deadline,
            retry_period=self.retry_period,
            release_on_cancel=self.leader_election_release_on_cancel,
        )
        self._elector = LeaderElector(
            self.kube,
            cfg,
            on_started_leading=self._on_started_leading,
            on_stopped_leading=self._on_stopped_leading,
        )
        return self._elector

    def holds_lease(self) -> bool:
        """Whether this replica may act as leader right now: always without leader election;
        with it, only while the elector leads, the last observed lease names us and it was
        renewed within ``renew_deadline`` by our own monotonic clock. A replica frozen (GC
        pause, SIGSTOP, VM migration) past that deadline fails this at once on resuming,
        before its elector even gets to run, so controllers start no reconcile on a lease a
        peer may already hold."""
        if not self.leader_election:
            return True
        el = self._elector
        if el is None or not el.leading or not el.is_leader():
            return False
        return bool(el.renewed_within(self.renew_deadline))

    def _lease_namespace(self) -> str:
        if self.leader_election_namespace:
            return self.leader_election_namespace
        p = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        try:
            return p.read_text().strip()
        except OSError:
            raise ValueError(
                "unable to find leader election namespace: not running in-cluster, please "
                "specify leader_election_namespace"
            ) from None

    async def _on_started_leading(self) -> None:
        """Runs while we lead: the elector cancels it the moment renewal fails, before it tries
        to release the lease, so the controllers stop at once (grace 0). The loss is recorded
        here too (not only when the elector's ``run()`` returns): the shutdown it triggers may
        cancel the elector before ``run()`` returns."""
        log.info("successfully acquired lease", extra={"lease": self.leader_election_id})
        self._elected.set()
        try:
            await anyio.sleep_forever()
        finally:
            if not self._releasing:
                self._lost_lease = True
                self._stop.set()

    def _on_stopped_leading(self) -> None:
        log.debug("stopped leading", extra={"lease": self.leader_election_id})

    async def start(self, *, handle_signals: bool = False) -> None:
        """Run everything until :meth:`stop`, a signal, a runnable error or a lost lease.

        Raises the first error (``LeaderElectionLostError`` for a lost lease, ``TimeoutError``
        if runnables outlived the grace period) after everything stopped.
        """
        if self._started:
            raise RuntimeError("manager already started")
        self._started = True
        grace = self.graceful_shutdown_timeout
        async with anyio.create_task_group() as root:
            self._tg = root
            if handle_signals:
                root.start_soon(self._signals)
            _ = self.client  # instruments the shared HTTP client: rest_client_* metrics
            async with anyio.create_task_group() as http_tg:
                # 1. metrics and probes serve before the caches sync (probes must answer).
                await self._serve_http(http_tg)
                # Event recorders deliver until the very end (they report shutdown too).
                self._events_tg = http_tg
                for rec in self._recorders.values():
                    http_tg.start_soon(rec.run)
                async with anyio.create_task_group() as cache_tg:
                    # 2. caches: the informers registered before start (controllers create
                    # theirs when they start, bounded by their own cache_sync_timeout).
                    await self.cache.start(cache_tg)
                    await self._until_stop(
                        self.cache.wait_for_cache_sync(within=self.cache_sync_timeout))
                    # 3. non-leader runnables.
                    if not self._stop.is_set():
                        await cache_tg.start(self._others.run)
                    async with anyio.create_task_group() as le_tg:
                        # 4. leader election, 5. leader runnables once elected.
                        if not self._stop.is_set():
                            if self.leader_election:
                                le_tg.start_soon(self._run_elector)
                            else:
                                self._elected.set()
                            await self._until_stop(self._elected.wait())
                            if not self._stop.is_set():
                                await le_tg.start(self._leaders.run)
                        await self._stop.wait()
                        stop = _StopDeadline(0.0 if self._lost_lease else grace,
                                             release=self._elector is not None
                                             and self.leader_election_release_on_cancel)
                        log.info("Stopping and waiting for leader election runnables")
                        if not await self._leaders.stop(stop.runnables) and not stop.cancel:
                            self._errors.append(TimeoutError(
                                f"failed waiting for all runnables to end within grace period "
                                f"of {grace}s"))
                        # The controllers have stopped: give the lease up now, inside the
                        # deadline, so a standby takes over at once.
                        if self._elector is not None:
                            self._elector.release_timeout = stop.release_budget()
                        self._releasing = True
                        le_tg.cancel_scope.cancel()  # releases the lease (release_on_cancel)
                    log.info("Stopping and waiting for non leader election runnables")
                    if not await self._others.stop(stop.runnables) and not stop.cancel:
                        self._errors.append(TimeoutError(
                            "failed waiting for non leader election runnables to end"))
                    log.info("Stopping and waiting for caches")
                    cache_tg.cancel_scope.cancel()
                self._events_tg = None
                with anyio.move_on_after(stop.remaining()):
                    for rec in self._recorders.values():
                        await rec.drain()
                log.info("Stopping and waiting for HTTP servers")
                http_tg.cancel_scope.cancel()
            root.cancel_scope.cancel()
        log.info("Wait completed, proceeding to shutdown the manager")
        if self._lost_lease and not any(
            isinstance(e, LeaderElectionLostError) for e in self._errors
        ):
            # Renewal failed and we stopped before the elector's run() returned: still a loss.
            log.error("leader election lost", extra={"lease": self.leader_election_id})
            self._errors.append(LeaderElectionLostError("leader election lost"))
        if self._errors:
            first = self._errors[0]
            for e in self._errors:
                if isinstance(e, LeaderElectionLostError):
                    first = e
            raise first

    async def _until_stop(self, aw: Awaitable[Any]) -> None:
        """Await ``aw`` unless a stop is requested first; an error it raises stops the
        manager (``start()`` raises it)."""
        async with anyio.create_task_group() as tg:
            async def waiter() -> None:
                try:
                    await aw
                except Exception as err:
                    log.error("%s", err)
                    self._fail(err)
                tg.cancel_scope.cancel()

            async def stopper() -> None:
                await self._stop.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(waiter)
            tg.start_soon(stopper)

    async def _run_elector(self) -> None:
        """``run()`` returns only when leadership is lost (we cancel it to stop): that return,
        not a callback, is what makes a lost lease an error (an outside cancellation is not)."""
        try:
            elector = self._make_elector()
            run = elector.run()
            if inspect.isawaitable(run):
                await run
        except Exception as err:
            log.error("leader election failed: %s", err, exc_info=True)
            self._fail(err)
            return
        if not self._releasing:
            self._lost_lease = True
            log.error("leader election lost", extra={"lease": self.leader_election_id})
            self._fail(LeaderElectionLostError("leader election lost"))
        # else: we cancelled it ourselves (shutdown); if renewal had failed first,
        # _on_started_leading set _lost_lease and start() raises the loss.

    async def run(self) -> None:
        """``start(handle_signals=True)``: what a manager binary's ``main`` awaits."""
        await self.start(handle_signals=True)

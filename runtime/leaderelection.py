"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's algorithm.

Reproduces ``k8s.io/client-go/tools/leaderelection`` (``leaderelection.go`` + the Lease lock
``resourcelock/leaselock.go``) as controller-runtime's manager configures it:

* Defaults: lease duration 15 s, renew deadline 10 s, retry period 2 s; identity
  ``<hostname>_<uuid4>``; validation ``lease_duration > renew_deadline > 1.2 * retry_period``.
* **Acquire**: try at once, then every ``retry_period * [1, 2.2)`` (``wait.JitterUntil`` with
  jitter factor 1.2). GET the Lease, CREATE it if missing. A Lease held by someone else is
  taken over only once it has expired *by our own clock*: expiry is ``observed_time +
  leaseDurationSeconds``, where ``observed_time`` is the local monotonic time at which we last
  saw the record change. ``renewTime`` written by another host is never trusted, so clock skew
  between hosts does not matter. Taking over increments ``leaseTransitions``.
* **Writes** are full updates (PUT) of the last Lease object read or written, so the
  ``resourceVersion`` makes every write optimistic: a concurrent writer gets a 409 Conflict and
  loses that round.
* **Renew**: while leading, every ``retry_period``: a fast path (update from the cached Lease)
  and on failure a slow path (GET + update, counted in ``leader_election_slowpath_total``).
  Renewal retries every ``retry_period`` until ``renew_deadline`` has passed without success;
  then leadership is lost (``leader_election_master_status`` -> 0, ``on_stopped_leading``).
  With the defaults a partitioned leader stops after <= 10 s while peers wait >= 15 s.
* Each API request is bounded by ``max(renew_deadline / 2, 1 s)`` (controller-runtime's
  leader-election REST client timeout), so one hung request cannot cost the lease.
* **release_on_cancel**: when ``run()`` is cancelled while leading, write the Lease with an
  empty holder and ``leaseDurationSeconds=1`` (within ``renew_deadline``, retrying on conflict)
  so a peer acquires it at its next retry instead of waiting out the lease.

One deliberate difference: client-go's release re-reads the Lease but decides from its older
observation whether it is still the holder; here the release only writes if the Lease just
read still names us, so a replica that already lost the lease never clears a successor's.

Usage (what the manager does)::

    elector = LeaderElector(client, LeaderElectionConfig(lease_name="kserve-controller-manager",
                                                         namespace="kserve",
                                                         release_on_cancel=True),
                            on_started_leading=start_controllers,      # async, cancelled on loss
                            on_stopped_leading=lambda: log.info("lost"))
    await elector.run()   # returns when leadership is lost; cancel it to stop (and release)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import math
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from runtime import metrics as _m
from runtime.clock import REAL_CLOCK, Clock

__all__ = [
    "JITTER_FACTOR",
    "EventSink",
    "LeaderElectionConfig",
    "LeaderElectionError",
    "LeaderElectionRecord",
    "LeaderElector",
    "default_identity",
]

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2
"""client-go ``leaderelection.JitterFactor``: acquire retries wait ``retry_period * [1, 2.2)``."""


class EventSink(Protocol):
    """What the elector needs from an event recorder (``runtime.recorder.EventRecorder``)."""

    def event(
        self, regarding: Any, type: str, reason: str, action: str, note: str = ""
    ) -> None: ...


class LeaderElectionError(Exception):
    """Invalid configuration, or (from :meth:`LeaderElector.check`) a stuck leader."""


def default_identity() -> str:
    """controller-runtime's identity: ``<hostname>_<uuid4>``."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class LeaderElectionRecord:
    """client-go ``resourcelock.LeaderElectionRecord``: the Lease spec as the algorithm sees it."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: _dt.datetime | None = None
    renew_time: _dt.datetime | None = None
    leader_transitions: int = 0
    preferred_holder: str = ""
    strategy: str = ""

    @classmethod
    def from_spec(cls, spec: LeaseSpec | None) -> LeaderElectionRecord:
        if spec is None:
            return cls()
        return cls(
            holder_identity=spec.holderIdentity or "",
            lease_duration_seconds=spec.leaseDurationSeconds or 0,
            acquire_time=spec.acquireTime,
            renew_time=spec.renewTime,
            leader_transitions=spec.leaseTransitions or 0,
            preferred_holder=spec.preferredHolder or "",
            strategy=spec.strategy or "",
        )

    def to_spec(self) -> LeaseSpec:
        return LeaseSpec(
            holderIdentity=self.holder_identity,
            leaseDurationSeconds=self.lease_duration_seconds,
            acquireTime=self.acquire_time,
            renewTime=self.renew_time,
            leaseTransitions=self.leader_transitions,
            preferredHolder=self.preferred_holder or None,
            strategy=self.strategy or None,
        )


@dataclass
class LeaderElectionConfig:
    """What to elect on and how. Durations in seconds; defaults are controller-runtime's."""

    lease_name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = False
    name: str = ""
    """Label of ``leader_election_master_status`` (default: the lease name, as c-r does)."""
    labels: dict[str, str] | None = None
    """Labels put on the Lease when this candidate creates or updates it."""
    request_timeout: float | None = None
    """Per-request timeout; default ``max(renew_deadline / 2, 1)``."""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.lease_name
        if not self.lease_name or not self.namespace:
            raise LeaderElectionError("lease_name and namespace are required")
        if not self.identity:
            raise LeaderElectionError("identity must not be empty")
        if self.lease_duration <= self.renew_deadline:
            raise LeaderElectionError("lease_duration must be greater than renew_deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise LeaderElectionError(
                f"renew_deadline must be greater than retry_period*{JITTER_FACTOR}"
            )
        if self.lease_duration < 1:
            raise LeaderElectionError("lease_duration must be at least 1 s (whole seconds)")
        if self.retry_period <= 0:
            raise LeaderElectionError("retry_period must be greater than zero")
        if self.request_timeout is None:
            self.request_timeout = max(self.renew_deadline / 2, 1.0)


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class LeaderElector:
    """client-go ``LeaderElector`` over a Lease, using lightkube's :class:`AsyncClient`.

    Callbacks:

    * ``on_started_leading()``: async; started in a task when leadership is acquired and
      cancelled when it is lost (c-r starts its leader-elected runnables here).
    * ``on_stopped_leading()``: sync; always called when :meth:`run` ends, even if this
      candidate never led (as client-go does).
    * ``on_new_leader(identity)``: sync; called whenever the observed holder changes
      (including to ourselves, and to ``""`` after a release).

    With ``event_recorder``, Normal events with reason ``LeaderElection`` and note
    ``"<identity> became leader"`` / ``"<identity> stopped leading"`` are recorded on the Lease,
    as client-go's lock does.
    """

    def __init__(
        self,
        client: AsyncClient,
        config: LeaderElectionConfig,
        *,
        on_started_leading: Callable[[], Awaitable[None]] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str], None] | None = None,
        event_recorder: EventSink | None = None,
        clock: Clock = REAL_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.event_recorder = event_recorder
        self.config = config
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self._clock = clock
        self._rng = rng or random.Random()
        self._lease: Lease | None = None  # last Lease read or written (carries resourceVersion)
        self._observed = LeaderElectionRecord()
        self._observed_raw: LeaderElectionRecord | None = None
        self._observed_time = 0.0
        self._renewed_at: float | None = None  # when our last successful write was *sent*
        self._reported_leader = ""
        self._leading = False
        self.elected = anyio.Event()
        #: bound on the release at stop (the manager sets it to what is left of its
        #: shutdown deadline); ``renew_deadline`` bounds it too
        self.release_timeout: float = math.inf
        """Set once this candidate has acquired the lease (c-r's ``Elected()`` channel)."""
        self._gauge = _m.LEADER_ELECTION_MASTER_STATUS.labels(config.name)
        self._slowpath = _m.LEADER_ELECTION_SLOWPATH_TOTAL.labels(config.name)
        self._gauge.set(0)

    # ------------------------------------------------------------------ observation
    @property
    def identity(self) -> str:
        return self.config.identity

    def get_leader(self) -> str:
        """The holder of the lease as last observed ("" if none)."""
        return self._observed.holder_identity

    def is_leader(self) -> bool:
        """Whether the last observed record names us. Use :attr:`leading` to know whether this
        elector is currently acting as leader (acquired and not yet lost)."""
        return self._observed.holder_identity == self.config.identity

    @property
    def leading(self) -> bool:
        """True between acquiring the lease and losing it (or being cancelled)."""
        return self._leading

    @property
    def observed_record(self) -> LeaderElectionRecord:
        return self._observed

    def check(self, max_tolerable_expired_lease: float) -> None:
        """client-go ``Check`` (healthz adaptor): raise if we believe we lead but have not
        renewed for longer than the lease duration plus the tolerance."""
        if not self.is_leader():
            return
        age = self._clock.now() - self._observed_time
        if age > self.config.lease_duration + max_tolerable_expired_lease:
            raise LeaderElectionError(
                f"failed election to renew leadership on lease {self.config.name}"
            )

    def renewed_within(self, seconds: float) -> bool:
        """Whether our last successful acquire/renew write was *sent* less than ``seconds``
        ago. Counting from the send, not from the response, is what makes this a safe fence:
        a peer may take over ``lease_duration`` after the apiserver stored our renewal, and
        the response can arrive a long while after that (up to the request timeout)."""
        if self._renewed_at is None:
            return False
        return self._clock.now() - self._renewed_at < seconds

    def _set_observed(self, record: LeaderElectionRecord) -> None:
        self._observed = record
        self._observed_time = self._clock.now()

    def _lease_valid(self, now: float) -> bool:
        return self._observed_time + self._observed.lease_duration_seconds > now

    def _maybe_report_transition(self) -> None:
        holder = self._observed.holder_identity
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        if self.on_new_leader is not None:
            try:
                self.on_new_leader(holder)
            except Exception:
                log.exception("on_new_leader callback failed")

    # ------------------------------------------------------------------ lock (leaselock.go)
    async def _get(self) -> tuple[Lease, LeaderElectionRecord]:
        with anyio.fail_after(self._timeout):
            lease = await self.client.get(
                Lease, self.config.lease_name, namespace=self.config.namespace
            )
        self._lease = lease
        return lease, LeaderElectionRecord.from_spec(lease.spec)

    async def _create(self, record: LeaderElectionRecord) -> None:
        lease = Lease(
            metadata=ObjectMeta(
                name=self.config.lease_name,
                namespace=self.config.namespace,
                labels=dict(self.config.labels) if self.config.labels else None,
            ),
            spec=record.to_spec(),
        )
        with anyio.fail_after(self._timeout):
            self._lease = await self.client.create(lease)

    async def _update(self, record: LeaderElectionRecord) -> None:
        if self._lease is None:
            raise LeaderElectionError("lease not initialized, call get or create first")
        lease = self._lease
        meta = lease.metadata or ObjectMeta(
            name=self.config.lease_name, namespace=self.config.namespace
        )
        if self.config.labels:
            meta.labels = {**(meta.labels or {}), **self.config.labels}
        body = Lease(metadata=meta, spec=record.to_spec())
        with anyio.fail_after(self._timeout):
            self._lease = await self.client.replace(body)

    @property
    def _timeout(self) -> float:
        t = self.config.request_timeout
        assert t is not None
        return t

    # ------------------------------------------------------------------ the algorithm
    def _new_record(self) -> LeaderElectionRecord:
        now = _utcnow()
        return LeaderElectionRecord(
            holder_identity=self.config.identity,
            lease_duration_seconds=int(self.config.lease_duration),
            renew_time=now,
            acquire_time=now,
        )

    async def try_acquire_or_renew(self) -> bool:
        """One round of client-go's ``tryAcquireOrRenew``; True if we hold the lease now."""
        try:
            return await self._try_acquire_or_renew()
        except Exception as exc:
            # Includes timeouts (TimeoutError), transport errors and API errors.
            log.info(
                "leader election attempt failed",
                extra={"lease": self._describe(), "error": _describe_error(exc)},
            )
            return False

    async def _try_acquire_or_renew(self) -> bool:
        record = self._new_record()
        now = self._clock.now()

        # 1. fast path: we lead and the lease is valid -> optimistic update from the cache.
        if self.is_leader() and self._lease_valid(now):
            old = self._observed
            record = _replace(
                record,
                acquire_time=old.acquire_time,
                leader_transitions=old.leader_transitions,
            )
            try:
                await self._update(record)
            except Exception as exc:
                log.debug(
                    "failed to update lease optimistically, falling back to slow path",
                    extra={"lease": self._describe(), "error": _describe_error(exc)},
                )
            else:
                self._set_observed(record)
                self._renewed_at = now
                return True

        # 2. obtain or create the lease.
        try:
            _, old = await self._get()
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            await self._create(record)
            self._set_observed(record)
            self._renewed_at = now
            return True

        # 3. record the observation; expiry is judged from when *we* saw it change.
        if self._observed_raw != old:
            self._set_observed(old)
            self._observed_raw = old
        if old.holder_identity and self._lease_valid(now) and not self.is_leader():
            log.debug(
                "lease is held by another candidate and has not yet expired",
                extra={"lease": self._describe(), "holder": old.holder_identity},
            )
            return False

        # 4. take over (or renew through the slow path).
        if self.is_leader():
            record = _replace(
                record,
                acquire_time=old.acquire_time,
                leader_transitions=old.leader_transitions,
            )
            self._slowpath.inc()
        else:
            record = _replace(record, leader_transitions=old.leader_transitions + 1)
        await self._update(record)
        self._set_observed(record)
        self._renewed_at = now
        return True

    async def _acquire(self) -> None:
        """Loop until the lease is ours (cancellable)."""
        log.info("attempting to acquire leader lease", extra={"lease": self._describe()})
        period = self.config.retry_period
        while True:
            ok = await self.try_acquire_or_renew()
            self._maybe_report_transition()
            if ok:
                self._leading = True
                self._gauge.set(1)
                self.elected.set()
                self._record_event("became leader")
                log.info(
                    "successfully acquired lease",
                    extra={"lease": self._describe(), "identity": self.identity},
                )
                return
            await self._clock.sleep(period + self._rng.random() * JITTER_FACTOR * period)

    async def _renew(self) -> None:
        """Renew every retry_period; return when a renewal round exceeds renew_deadline.

        A round is client-go's ``wait.PollUntilContextTimeout(retry_period, renew_deadline,
        immediate=true)``: attempts start on a ticker running from the round's start, not a
        retry_period after the previous attempt ended. A tick that passed during a slow attempt
        (Go's ticker buffers one) starts the next attempt at once; later missed ticks are
        dropped. So slow API responses do not cost renewal attempts within the deadline.
        """
        cfg = self.config
        period = cfg.retry_period
        while True:
            start = self._clock.now()
            deadline = start + cfg.renew_deadline
            next_tick = start + period
            renewed = False
            while True:
                remaining = deadline - self._clock.now()
                if remaining <= 0:
                    break
                with anyio.move_on_after(remaining):
                    renewed = await self.try_acquire_or_renew()
                if renewed:
                    break
                if self._observed.holder_identity and not self.is_leader():
                    # Another candidate holds the lease now: retrying until the renew
                    # deadline cannot get it back and only delays stepping down.
                    break
                now = self._clock.now()
                if next_tick <= now:
                    while next_tick <= now:
                        next_tick += period
                    continue
                if deadline <= now:
                    break
                await self._clock.sleep(min(next_tick, deadline) - now)
                next_tick += period
            self._maybe_report_transition()
            if not renewed:
                log.info("failed to renew lease", extra={"lease": self._describe()})
                return
            await self._clock.sleep(cfg.retry_period)

    async def release(self) -> bool:
        """Give the lease up: empty holder, ``leaseDurationSeconds=1`` (client-go
        ``tryRelease``), retrying on conflict. Returns True if nothing is held by us any more."""
        while True:
            try:
                _, old = await self._get()
            except ApiError as exc:
                if exc.status.code == 404:
                    log.info("lease lock not found", extra={"lease": self._describe()})
                else:
                    log.error(
                        "error retrieving resource lock",
                        extra={"lease": self._describe(), "error": _describe_error(exc)},
                    )
                return False
            if old.holder_identity != self.config.identity:
                return True
            now = _utcnow()
            record = LeaderElectionRecord(
                leader_transitions=old.leader_transitions,
                lease_duration_seconds=1,
                renew_time=now,
                acquire_time=now,
            )
            try:
                await self._update(record)
            except ApiError as exc:
                if exc.status.code == 409:
                    log.debug("conflict when releasing lease, retrying")
                    continue
                log.error(
                    "failed to release lease",
                    extra={"lease": self._describe(), "error": _describe_error(exc)},
                )
                return False
            self._set_observed(record)
            return True

    async def run(self) -> None:
        """Acquire, lead until the lease is lost, then return (client-go ``Run``).

        Cancel the calling scope to stop; with ``release_on_cancel`` the lease is released
        first (bounded by ``renew_deadline`` and ``release_timeout``, shielded from the
        cancellation).
        """
        try:
            await self._acquire()
            try:
                async with anyio.create_task_group() as tg:
                    if self.on_started_leading is not None:
                        tg.start_soon(self._run_started_leading, name="on_started_leading")
                    await self._renew()
                    # Lost: say so now (client-go's leaderOff), not once the leader work has
                    # finished stopping.
                    self._leading = False
                    self._gauge.set(0)
                    tg.cancel_scope.cancel()
            finally:
                self._leading = False
                self._gauge.set(0)
                self._record_event("stopped leading")
                if self.config.release_on_cancel:
                    with (
                        anyio.CancelScope(shield=True),
                        anyio.move_on_after(min(self.config.renew_deadline,
                                                self.release_timeout)),
                    ):
                        try:
                            await self.release()
                        except Exception as exc:
                            log.error(
                                "failed to release lease",
                                extra={"lease": self._describe(), "error": _describe_error(exc)},
                            )
        finally:
            self._leading = False
            if self.on_stopped_leading is not None:
                self.on_stopped_leading()

    async def _run_started_leading(self) -> None:
        assert self.on_started_leading is not None
        await self.on_started_leading()

    def _describe(self) -> str:
        return f"{self.config.namespace}/{self.config.lease_name}"

    def _record_event(self, what: str) -> None:
        """client-go ``LeaseLock.RecordEvent``: an event on the Lease (never raises)."""
        if self.event_recorder is None or self._lease is None:
            return
        subject = Lease(
            metadata=ObjectMeta(
                name=self.config.lease_name,
                namespace=self.config.namespace,
                uid=self._lease.metadata.uid if self._lease.metadata else None,
            )
        )
        try:
            self.event_recorder.event(
                subject, "Normal", "LeaderElection", "LeaderElection", f"{self.identity} {what}"
            )
        except Exception:
            log.exception("recording leader election event failed")


def _replace(record: LeaderElectionRecord, **changes: Any) -> LeaderElectionRecord:
    return dataclasses.replace(record, **changes)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status.code} {exc.status.reason}: {exc.status.message}"
    if isinstance(exc, TimeoutError):
        return "request timed out"
    return f"{type(exc).__name__}: {exc}"

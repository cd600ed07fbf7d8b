"""The dispatcher: feeds pending trials to Ray in batches and writes their results back.

One loop, one thread, one active dispatcher per database (it holds the `dispatcher` lease):

    acquire/renew leadership ─┬─ collect finished batches → record_results (fenced) or release
                              ├─ renew the leases of batches whose worker still beats
                              ├─ reap expired leases (pending again, or failed at max_attempts)
                              ├─ cancel the Ray tasks of cancelled sweeps
                              └─ claim pending trials and submit them as batches

Every database write goes through `Store`; every Ray call stays in this module and `tasks`.
A trial's result is accepted only for the attempt that claimed it (docs/design.md invariant 3), so a
late report from a frozen or cancelled worker can never overwrite a newer one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray

from sweepd.adaptive_driver import AdaptiveLooker
from sweepd.batching import batch_size
from sweepd.comparisons import CompareLimits
from sweepd.errors import NotFound, Unavailable
from sweepd.ports import DispatchStore
from sweepd.records import ClaimedBatch, ResultItem
from sweepd.search_driver import advance_searches
from sweepd.settings import Settings
from sweepd_workers import cluster, faults
from sweepd_workers.shipping import DatasetShipper
from sweepd_workers.tasks import Tracker, train_batch

log = logging.getLogger("sweepd.dispatcher")

SHUT_DOWN = "the dispatcher shut down before the batch finished"


@dataclass
class _Batch:
    ref: Any
    batch_id: str
    sweep_id: int
    items: list[tuple[int, int]]  # (trial_id, attempt): the fencing tokens of this claim
    cells: dict[str, tuple[int, int]]  # cell_key → (trial_id, attempt)
    submitted: float = field(default_factory=time.monotonic)
    silent: bool = False
    cancelled: bool = False


@dataclass
class DispatcherStats:
    batches_submitted: int = 0
    batches_failed: int = 0
    results_accepted: int = 0
    results_rejected: int = 0
    leases_reaped: int = 0
    batch_seconds_total: float = 0.0
    batches_finished: int = 0


class Dispatcher:
    """Runs the dispatch loop in a background thread of the service process."""

    def __init__(self, store: DispatchStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stats = DispatcherStats()
        self.worker_nice: int | None = None  # the niceness the last finished batch trained at
        self._inflight: dict[Any, _Batch] = {}
        self._unsaved: list[ResultItem] = []
        self._stop = threading.Event()
        self._wake = threading.Event()  # new pending trials: `wake`
        self._thread: threading.Thread | None = None
        self._tracker: Any = None
        self._leader = False
        self._state = "starting"
        self._slots = (1, 0.0)  # (concurrent batches, GPUs per batch)
        self._due: dict[str, float] = {}
        self.shipper = DatasetShipper(lambda sha: store.dataset_blob(sha))  # put once each
        # Adaptive sweeps' looks (a comparison each) run on a thread of their own.
        self._adaptive = AdaptiveLooker(store, max_in_flight=settings.max_trials_in_flight_per_user,
                                        limits=CompareLimits.from_settings(settings))
        faults.install(store.engine, settings.fault_dir)
        # Observers the composition root may set (e.g. Prometheus metrics of the API process).
        self.on_batch_seconds: Callable[[float], None] = lambda _seconds: None
        self.on_retries: Callable[[int], None] = lambda _n: None
        self.on_results: Callable[[], None] = lambda: None  # results were stored (event streams)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to Ray and start the loop in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="sweepd-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New trials are pending (a submission, a grown or resumed sweep of this process): an
        idle loop claims them now instead of at its next poll (issue 19: a small sweep waited
        up to `poll_seconds`, on average half of it, before its first batch)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, then hand everything a successor needs back at once.

        Results already finished are saved; the trials of the batches still in flight (their
        Ray tasks die with this process, which owns them) are released to pending; the
        leadership lease is given up, so a standby leads at its next tick instead of waiting
        for the lease to run out.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the dispatch loop did not stop within %.0f s", timeout)
        self._state = "stopped"
        self._adaptive.shutdown()
        if self._leader:
            self._hand_back(loop_stopped=self._thread is None or not self._thread.is_alive())

    def _hand_back(self, *, loop_stopped: bool) -> None:
        # Each step on its own: the database or Ray may be gone too, and then the leases
        # expire as after a crash.
        if loop_stopped and self._tracker is not None:
            try:
                self._collect()
                self._save_collected()
                self._release_inflight()
            except Exception:
                log.exception("could not release the batches in flight at shutdown")
        try:
            self.store.release_leadership(self.holder)
        except Exception:
            log.exception("could not release the dispatcher's leadership at shutdown")
            return
        self._leader = False
        log.info("dispatcher %s stopped and released its leadership", self.holder)

    def _release_inflight(self) -> None:
        items = [item for batch in self._inflight.values() for item in batch.items]
        for batch in self._inflight.values():
            ray.cancel(batch.ref, force=True)
        self._inflight.clear()
        if items:
            self.store.release_trials(items, SHUT_DOWN, isolate=False)
            log.info("released %d trials of unfinished batches", len(items))

    def status(self) -> dict[str, Any]:
        """Readiness details for `/readyz`."""
        ready = "running" if self._state == "running" else "down"
        return {"dispatcher": ready, "dispatcher_state": self._state, "leader": self._leader,
                "batches_in_flight": len(self._inflight), "slots": self._slots[0]}

    def _run(self) -> None:
        while not self._connected():
            if self._stop.wait(5.0):
                return
        self._state = "running"
        while not self._stop.is_set():
            try:
                self.tick()
            except Unavailable as exc:
                log.warning("database unavailable, retrying: %s", exc)
            except Exception:
                log.exception("dispatch tick failed")
            self._idle()

    def _idle(self) -> None:
        """Wait up to `poll_seconds` for the next tick, waking as soon as a batch finishes or,
        with none in flight, as soon as `wake` says new trials are pending.

        A fixed sleep left a core idle for half a poll on average after each batch: with
        batches of one-step trials that last a quarter of a second, 40 % of the time (issue 19).
        """
        refs = list(self._inflight)
        if not refs or self._unsaved:
            self._wake.wait(self.settings.poll_seconds)  # `stop` sets it too
            self._wake.clear()
            return
        try:
            ray.wait(refs, num_returns=1, timeout=self.settings.poll_seconds)
        except Exception:  # Ray went away: the next tick says so; keep the loop's pace
            log.exception("waiting for batches failed")
            self._stop.wait(self.settings.poll_seconds)

    def _connected(self) -> bool:
        try:
            self._connect()
            return True
        except Exception:  # Ray unreachable or refusing us: say so on /readyz, retry
            log.exception("could not connect to Ray at %s; retrying",
                          self.settings.ray_address or "a new local cluster")
            self._state = "error"
            return False

    def _connect(self) -> None:
        cluster.connect(self.settings)
        self._tracker = Tracker.options(num_cpus=0).remote()
        self._refresh_slots()
        log.info("dispatcher %s connected to Ray: %d batch slots", self.holder, self._slots[0])

    # -- the loop -------------------------------------------------------------------------

    def tick(self) -> None:
        """One pass of the loop; public so tests can drive the dispatcher step by step."""
        if self._every("leader", self.settings.lease_seconds / 3):
            self._lead()
        if not self._leader:
            return
        self._collect()
        if self._every("reap", self.settings.reap_interval_seconds):
            reaped = self.store.reap_expired_leases()
            self.stats.leases_reaped += len(reaped)
            if reaped:
                log.warning("reaped %d expired leases: %s", len(reaped), reaped[:20])
        if self._every("renew", min(5.0, self.settings.lease_seconds / 4)):
            self._renew()
        if self._every("cancel", 1.0):
            self._cancel_cancelled()
        if self._every("slots", 10.0):
            self._refresh_slots()
        if self._every("search", 1.0):
            advance_searches(self.store)  # a search sweep's next points, as earlier ones end
        if self._every("adaptive", 1.0):
            self._adaptive.tick()  # an adaptive sweep's next block, or why it stops
        # The cores the finished batches freed get their next batches first, then their
        # results are stored: storing 256 results while a core waited for work was most of
        # the gap between one-step trials through the service and the bare engine (issue 19).
        try:
            self._submit()
        finally:
            self._save_collected()

    def _every(self, name: str, period: float) -> bool:
        now = time.monotonic()
        if now < self._due.get(name, 0.0):
            return False
        self._due[name] = now + period
        return True

    def _lead(self) -> None:
        was = self._leader
        self._leader = self.store.acquire_leadership(self.holder, self.settings.lease_seconds)
        if self._leader and not was:
            orphans = self.store.release_orphans(self.holder)
            log.info("dispatcher %s is the leader; released %d orphaned trials",
                     self.holder, orphans)

    # -- results --------------------------------------------------------------------------

    def _collect(self) -> None:
        """Take the outcomes of the batches that finished; `_save_collected` stores them."""
        if not self._inflight:
            return
        refs = list(self._inflight)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in ready:
            batch = self._inflight.pop(ref)
            self._unsaved.extend(self._finish(batch, ref))

    def _finish(self, batch: _Batch, ref: Any) -> list[ResultItem]:
        try:
            outcome = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            log.info("batch %s of cancelled sweep %d stopped", batch.batch_id, batch.sweep_id)
            return []
        except ray.exceptions.RayError as exc:
            self.stats.batches_failed += 1
            error = _describe(exc)
            log.warning("batch %s (%d trials) failed: %s", batch.batch_id, len(batch.items), error)
            self.store.release_trials(batch.items, error, isolate=len(batch.items) > 1)
            self.on_retries(len(batch.items))
            return []
        finally:
            self._tracker.forget.remote([batch.batch_id])
        seconds = time.monotonic() - batch.submitted
        self.worker_nice = outcome.get("nice")
        self.stats.batches_finished += 1
        self.stats.batch_seconds_total += seconds
        self.on_batch_seconds(seconds)
        return [ResultItem(trial_id=batch.cells[r.cell_key][0],
                           attempt=batch.cells[r.cell_key][1], result=r,
                           node=outcome["node"], device=outcome["device"])
                for r in outcome["results"]]

    def _save_collected(self) -> None:
        if self._unsaved:
            self._save(self._unsaved)

    def _save(self, items: list[ResultItem]) -> None:
        try:
            with faults.writing_results():
                fenced = self.store.record_results(items)
        except Unavailable:
            self._unsaved = items  # keep them; the database may come back
            raise
        self._unsaved = []
        if fenced.accepted:
            self.on_results()
        self.stats.results_accepted += len(fenced.accepted)
        self.stats.results_rejected += len(fenced.rejected)
        if fenced.rejected:
            log.warning("fencing rejected %d stale results (trials %s): their claim had expired",
                        len(fenced.rejected), fenced.rejected)

    # -- leases and cancellation ----------------------------------------------------------

    def _renew(self) -> None:
        if not self._inflight:
            return
        beats = ray.get(self._tracker.snapshot.remote(), timeout=30)
        items: list[tuple[int, int]] = []
        progress: dict[int, float] = {}
        for batch in self._inflight.values():
            beat = beats.get(batch.batch_id)
            if not self._alive(batch, beat):
                continue
            items.extend(batch.items)
            if beat is not None:
                share = beat["step"] / max(beat["total"], 1)
                progress.update({trial_id: share for trial_id, _ in batch.items})
        if items:
            self.store.renew_leases(items, self.settings.lease_seconds, progress)

    def _alive(self, batch: _Batch, beat: dict[str, float] | None) -> bool:
        if beat is None:
            alive = time.monotonic() - batch.submitted < self.settings.start_timeout_seconds
        else:
            alive = beat["age"] < self.settings.lease_seconds
        if not alive and not batch.silent:
            batch.silent = True
            log.warning("batch %s is silent; its leases will expire and its trials run again",
                        batch.batch_id)
        return alive

    def _cancel_cancelled(self) -> None:
        live = [b for b in self._inflight.values() if not b.cancelled]
        if not live:
            return
        cancelled = self.store.cancelled_sweep_ids({b.sweep_id for b in live})
        for batch in live:
            if batch.sweep_id in cancelled:
                batch.cancelled = True
                ray.cancel(batch.ref, force=True)

    # -- submission -----------------------------------------------------------------------

    def _refresh_slots(self) -> None:
        resources = ray.cluster_resources()
        gpus = float(resources.get("GPU", 0.0))
        per_gpu = self.settings.task_gpus
        if gpus > 0 and per_gpu != 0:
            share = 1.0 if per_gpu == "auto" else float(per_gpu)
            self._slots = (max(1, int(gpus / share)), share)
        else:
            cpus = float(resources.get("CPU", 1.0))
            self._slots = (max(1, int(cpus // self.settings.task_cpus)), 0.0)

    def _submit(self) -> None:
        slots, gpu_share = self._slots
        busy = sum(1 for b in self._inflight.values() if not b.silent and not b.cancelled)
        free = slots - busy
        if free <= 0:
            return
        pending = self.store.count_pending()
        if pending == 0:
            return
        cap = self.settings.batch_max_gpu if gpu_share else self.settings.batch_max_cpu
        size = batch_size(pending, slots, cap)
        claimed = self.store.claim_trials(holder=self.holder, max_trials=free * size,
                                          max_batch=size,
                                          lease_seconds=self.settings.lease_seconds)
        for batch in claimed:
            self._launch(batch, gpu_share)

    def _launch(self, claimed: ClaimedBatch, gpu_share: float) -> None:
        batch_id = uuid.uuid4().hex
        specs = [t.spec for t in claimed.trials]
        fault_dir = str(self.settings.fault_dir) if self.settings.fault_dir else None
        items = [(t.trial_id, t.attempt) for t in claimed.trials]
        try:
            data = self.shipper.shipment(specs)
        except NotFound as exc:  # deleted since submission: the trials fail at max_attempts
            self.store.release_trials(items, exc.detail, isolate=False)
            return
        ref = train_batch.options(num_cpus=self.settings.task_cpus, num_gpus=gpu_share,
                                  name=f"sweepd-sweep{claimed.sweep_id}-k{len(specs)}").remote(
            batch_id, specs, self._tracker, fault_dir, data, self.settings.worker_nice)
        self._inflight[ref] = _Batch(
            ref=ref, batch_id=batch_id, sweep_id=claimed.sweep_id,
            items=items,
            cells={t.spec.cell_key: (t.trial_id, t.attempt) for t in claimed.trials})
        self.stats.batches_submitted += 1


def _describe(exc: BaseException) -> str:
    """A short, useful error for the trial row: the exception's class and first lines."""
    text = str(exc).strip().splitlines()
    head = " | ".join(line.strip() for line in text[:6] if line.strip())
    return f"{type(exc).__name__}: {head}"[:2000]

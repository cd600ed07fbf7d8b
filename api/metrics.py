"""The service's Prometheus metrics: one registry per app, on `app.state.metrics`.

Counters and gauges that only the dispatcher can know (trials by state as it sees them, batch
durations, retries) are created here and left for it to update through `app.state.metrics`;
the queue depth and the dispatcher's own counters (`dispatcher_stats`) are read at scrape
time, so they are never stale. A registry per app (not prometheus_client's global one) keeps
two apps in one process, as in the tests, from sharing or clashing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sweepd.storage.store import Store

log = logging.getLogger("api.metrics")

BATCH_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, float("inf"))
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

DispatcherStats = Callable[[], Mapping[str, Any]]


class ServiceMetrics:
    """The metrics of one app.

    Args:
        store: read at scrape time for the queue depth.
        dispatcher_stats: returns the dispatcher's cumulative counters by name, if one runs
            in this process; exported as `sweepd_dispatcher_<name>_total`.
    """

    def __init__(self, store: Store, dispatcher_stats: DispatcherStats | None = None) -> None:
        self.registry = CollectorRegistry()
        self.batch_duration = Histogram("sweepd_batch_duration_seconds",
                                        "Wall time of one batch of trials on the executor",
                                        buckets=BATCH_BUCKETS, registry=self.registry)
        self.retries = Counter("sweepd_trial_retries", "Trials returned to pending for another "
                               "attempt", registry=self.registry)
        self.requests = Counter("sweepd_http_requests", "HTTP requests answered",
                                ["method", "status"], registry=self.registry)
        self.registry.register(_ScrapeCollector(store, dispatcher_stats))

    def observe_request(self, method: str, status: int, _seconds: float) -> None:
        """Count one answered request (the label set is bounded: unknown methods are 'other')."""
        self.requests.labels(method if method in _METHODS else "other", str(status)).inc()

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class _ScrapeCollector(Collector):
    """Values read when Prometheus scrapes: queue depth from the store, dispatcher counters."""

    def __init__(self, store: Store, dispatcher_stats: DispatcherStats | None) -> None:
        self.store = store
        self.dispatcher_stats = dispatcher_stats

    def collect(self) -> Iterator[Metric]:
        yield from self._queue_depth()
        if self.dispatcher_stats is not None:
            yield from _counters(self.dispatcher_stats())

    def _queue_depth(self) -> Iterator[Metric]:
        try:
            depth = self.store.count_pending()
        except Exception:  # a scrape must not fail because the database is down
            log.warning("queue depth unavailable for /metrics", exc_info=True)
            return
        yield GaugeMetricFamily("sweepd_queue_depth", "Pending trials of open sweeps",
                                value=depth)
        by_state = GaugeMetricFamily("sweepd_trials_by_state", "Trials of all sweeps by state",
                                     labels=["state"])
        for state, n in sorted(self.store.count_trials_by_state().items()):
            by_state.add_metric([state], n)
        yield by_state


def _counters(stats: Mapping[str, Any]) -> Iterator[Metric]:
    for name, value in sorted(stats.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield CounterMetricFamily(f"sweepd_dispatcher_{name.removesuffix('_total')}",
                                      f"Dispatcher counter {name}", value=value)

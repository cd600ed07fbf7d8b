"""What every part of the store shares: the engine, the clock, units of work, owner checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sweepd.errors import InvalidSpec, NotFound, Unavailable
from sweepd.records import SweepRecord
from sweepd.storage.convert import sweep_record
from sweepd.storage.counters import counts_of
from sweepd.storage.database import unit_of_work
from sweepd.storage.models import SqlSweep, SqlTrial

Clock = Callable[[], datetime]
T = TypeVar("T")

# Bound on the ids in one `IN (...)` list: SQLite allows 32 766 parameters per statement.
CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def chunks(items: list[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check_page(limit: int, offset: int) -> None:
    """Refuse a page that no database would answer sensibly."""
    if limit < 0 or offset < 0:
        raise InvalidSpec(f"limit and offset must be non-negative (got {limit}, {offset})")


@dataclass(frozen=True)
class WriteOutcome:
    """How the store's last write transaction ended: readiness reports a failed one (a full
    disk fails every write while reads still answer)."""

    ok: bool = True
    error: str | None = None
    at: datetime | None = None


class StoreBase:
    """The engine and clock, and the lookups that every part of the store needs.

    The clock is injectable so that tests can move time past a lease instead of sleeping.
    Timestamps come from this process's clock rather than the database server's, so all
    backends agree to the microsecond; leases therefore assume the dispatchers' clocks agree
    to well within a lease (NTP does this).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self.last_write = WriteOutcome()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def is_postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with unit_of_work(self._engine) as session:
            yield session

    @contextmanager
    def _read_one(self) -> Iterator[Session]:
        """A read of exactly one statement, outside any transaction (`single_statement`)."""
        with unit_of_work(self._engine, single=True) as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        try:
            with unit_of_work(self._engine, write=True) as session:
                yield session
        except Unavailable as err:
            self.last_write = WriteOutcome(ok=False, error=err.detail, at=self._clock())
            raise
        self.last_write = WriteOutcome(ok=True, at=self._clock())

    # -- owner-scoped lookups ------------------------------------------------------------------

    @staticmethod
    def _owned_sweep(session: Session, owner_id: int, sweep_id: int) -> SqlSweep:
        sweep = session.get(SqlSweep, sweep_id)
        # Another owner's sweep reads exactly like a missing one (invariant 7).
        if sweep is None or sweep.owner_id != owner_id:
            raise NotFound(f"sweep {sweep_id} not found")
        return sweep

    def _owned_trial(self, session: Session, owner_id: int, sweep_id: int,
                     trial_id: int) -> tuple[SqlSweep, SqlTrial]:
        sweep = self._owned_sweep(session, owner_id, sweep_id)
        trial = session.get(SqlTrial, trial_id)
        if trial is None or trial.sweep_id != sweep.id:
            raise NotFound(f"trial {trial_id} of sweep {sweep_id} not found")
        return sweep, trial

    # -- sweep summaries -------------------------------------------------------------------------

    @staticmethod
    def _tallies(session: Session, sweep_ids: Iterable[int]) -> dict[int, float]:
        """Per sweep: the running trials' summed progress (a seek over the (state, sweep_id)
        index: as many rows as trials run, whatever the sweep's size)."""
        ids = sorted(set(sweep_ids))
        out: dict[int, float] = dict.fromkeys(ids, 0.0)
        for part in chunks(ids):
            query = (select(SqlTrial.sweep_id, func.sum(SqlTrial.progress))
                     .where(SqlTrial.state == "running", SqlTrial.sweep_id.in_(part))
                     .group_by(SqlTrial.sweep_id))
            for sweep_id, progress in session.execute(query):
                out[sweep_id] = float(progress or 0.0)
        return out

    def _sweep_records(self, session: Session, sweeps: list[SqlSweep]) -> list[SweepRecord]:
        progress = self._tallies(session, (s.id for s in sweeps))
        return [sweep_record(s, counts_of(s), progress[s.id]) for s in sweeps]

    def _sweep_record(self, session: Session, sweep: SqlSweep) -> SweepRecord:
        return self._sweep_records(session, [sweep])[0]


def rows_by_id(rows: Iterable[Any]) -> dict[int, Any]:
    return {row.id: row for row in rows}

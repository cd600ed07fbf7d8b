"""Uploaded data sets (issue 17): content-addressed blobs, owner-scoped records.

    dataset_blobs  sha256 → canonical bytes (`sweepd.uploaded`), once for all owners
    datasets       (owner, sha256) → names, classes; unique, so the same data twice is one set

Another owner's data set reads as a missing one (404), as for sweeps. A data set that an open
sweep of its owner names cannot be deleted (409); its blob goes with its last record. The
dispatcher (trusted, no owner) reads blobs by sha256 to pass them to workers.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweepd.errors import Conflict, NotFound
from sweepd.records import DatasetRecord
from sweepd.spec import UPLOADED
from sweepd.states import FINAL_SWEEP_STATES
from sweepd.storage.models import SqlDataset, SqlDatasetBlob, SqlSweep
from sweepd.storage.store_base import StoreBase, check_page

DatasetRef = int | str  # the data set's id, or its sha256


class DatasetStore(StoreBase):
    """Uploaded data sets: add (idempotent by content), list, get, delete, and the blob."""

    def add_dataset(self, owner_id: int, blob: bytes, sha256: str, *, name: str, format: str,
                    target: str | None, shape: tuple[int, int, int],
                    feature_names: list[str], class_names: list[str],
                    class_counts: list[int]) -> tuple[DatasetRecord, bool]:
        """Store an owner's data set, or return the one with the same content.

        Args:
            blob, sha256: the canonical bytes and their hash (`sweepd.uploaded.encode`).
            shape: (rows, features, classes).

        Returns:
            The record, and True if this owner did not have the data before.
        """
        for _ in range(2):  # a concurrent upload of the same data may win the insert
            try:
                with self._write() as session:
                    found = self._by_sha(session, owner_id, sha256)
                    if found is not None:
                        return self._record(session, found), False
                    if session.get(SqlDatasetBlob, sha256) is None:
                        session.add(SqlDatasetBlob(
                            sha256=sha256, n_rows=shape[0], n_features=shape[1],
                            n_classes=shape[2], size_bytes=len(blob), data=blob,
                            created_at=self._clock()))
                        session.flush()
                    row = SqlDataset(owner_id=owner_id, sha256=sha256, name=name, format=format,
                                     target=target, columns={"features": feature_names},
                                     classes={"names": class_names, "counts": class_counts},
                                     created_at=self._clock())
                    session.add(row)
                    session.flush()
                    return self._record(session, row), True
            except IntegrityError:
                continue
        with self._read() as session:
            found = self._by_sha(session, owner_id, sha256)
            if found is None:
                raise Conflict("the data set could not be stored; try again")
            return self._record(session, found), False

    def get_dataset(self, owner_id: int, ref: DatasetRef) -> DatasetRecord:
        """One of the owner's data sets, by id or sha256.

        Raises:
            NotFound: no such data set, or another owner's.
        """
        with self._read() as session:
            return self._record(session, self._owned_dataset(session, owner_id, ref))

    def list_datasets(self, owner_id: int, *, limit: int, offset: int
                      ) -> tuple[list[DatasetRecord], int]:
        """A page of the owner's data sets, newest first, and their total."""
        check_page(limit, offset)
        with self._read() as session:
            total = session.scalar(select(func.count()).select_from(SqlDataset)
                                   .where(SqlDataset.owner_id == owner_id)) or 0
            rows = session.scalars(select(SqlDataset).where(SqlDataset.owner_id == owner_id)
                                   .order_by(SqlDataset.id.desc()).limit(limit)
                                   .offset(offset)).all()
            return [self._record(session, r) for r in rows], total

    def delete_dataset(self, owner_id: int, ref: DatasetRef) -> None:
        """Delete an owner's data set (and its blob, when no other owner has the same data).

        Raises:
            NotFound: no such data set, or another owner's.
            Conflict: a sweep of the owner that is not finished trains on it.
        """
        with self._write() as session:
            row = self._owned_dataset(session, owner_id, ref)
            # Locked before the in-use check: a submission naming the set either stored its
            # sweep first (seen below: 409) or waits and then finds no set (404: `hold_datasets`).
            session.refresh(row, with_for_update=True)
            using = self._open_sweeps_using(session, owner_id, row.sha256)
            if using:
                raise Conflict(f"data set {row.id} is used by open sweep"
                               f"{'s' if len(using) > 1 else ''} "
                               f"{', '.join(map(str, using[:10]))}; cancel them or wait for "
                               "them to finish")
            sha256 = row.sha256
            session.delete(row)
            session.flush()
            others = session.scalar(select(func.count()).select_from(SqlDataset)
                                    .where(SqlDataset.sha256 == sha256))
            if not others:
                blob = session.get(SqlDatasetBlob, sha256)
                if blob is not None:
                    session.delete(blob)

    def dataset_blob(self, sha256: str) -> bytes:
        """The canonical bytes of a data set, for the dispatcher (no owner: it is trusted).

        Raises:
            NotFound: no data set has this sha256 (deleted since the sweep was submitted).
        """
        with self._read() as session:
            data = session.scalar(select(SqlDatasetBlob.data)
                                  .where(SqlDatasetBlob.sha256 == sha256))
            if data is None:
                raise NotFound(f"uploaded data set {sha256[:12]} not found (deleted?)")
            return bytes(data)

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _by_sha(session: Session, owner_id: int, sha256: str) -> SqlDataset | None:
        return session.scalar(select(SqlDataset).where(SqlDataset.owner_id == owner_id,
                                                       SqlDataset.sha256 == sha256))

    def _owned_dataset(self, session: Session, owner_id: int, ref: DatasetRef) -> SqlDataset:
        row: SqlDataset | None
        if isinstance(ref, int):
            row = session.get(SqlDataset, ref) if 0 < ref < 2**31 else None
        else:
            row = self._by_sha(session, owner_id, ref)
        # Another owner's data set reads exactly like a missing one (invariant 7).
        if row is None or row.owner_id != owner_id:
            shown = ref if isinstance(ref, int) else ref[:64]
            raise NotFound(f"data set {shown} not found")
        return row

    @staticmethod
    def _open_sweeps_using(session: Session, owner_id: int, sha256: str) -> list[int]:
        specs = session.execute(select(SqlSweep.id, SqlSweep.spec).where(
            SqlSweep.owner_id == owner_id, SqlSweep.state.not_in(FINAL_SWEEP_STATES)))
        return [sweep_id for sweep_id, spec in specs if sha256 in _text(spec)]

    @staticmethod
    def _record(session: Session, row: SqlDataset) -> DatasetRecord:
        blob = session.get(SqlDatasetBlob, row.sha256)
        assert blob is not None  # the foreign key holds it
        return DatasetRecord(
            id=row.id, owner_id=row.owner_id, sha256=row.sha256, name=row.name,
            format=row.format, target=row.target,
            feature_names=list(row.columns.get("features", [])),
            class_names=list(row.classes.get("names", [])),
            class_counts=list(row.classes.get("counts", [])), n_rows=blob.n_rows,
            n_features=blob.n_features, n_classes=blob.n_classes, size_bytes=blob.size_bytes,
            created_at=row.created_at)


def hold_datasets(session: Session, owner_id: int, spec: dict[str, Any]) -> None:
    """Inside the write that stores or grows a sweep: the owner's uploaded data sets that
    `spec` names still exist, and stay until the write commits (FOR SHARE on PostgreSQL;
    SQLite's write lock serializes the writes), so a concurrent delete cannot slip between
    the submission's check and its insert.

    Raises:
        NotFound: a data set was deleted since the submission looked it up.
    """
    shas = uploaded_shas(spec)
    if not shas:
        return
    found = set(session.scalars(
        select(SqlDataset.sha256)
        .where(SqlDataset.owner_id == owner_id, SqlDataset.sha256.in_(shas))
        .with_for_update(read=True)))
    missing = [s for s in shas if s not in found]
    if missing:
        raise NotFound(f"data set {missing[0][:12]} not found (deleted while the sweep "
                       "was being submitted)")


def uploaded_shas(spec: dict[str, Any]) -> list[str]:
    """The sha256 of every uploaded data set a stored spec names (dataset.id and the
    dataset.id grid axis; a stored spec names them by sha256)."""
    dataset = spec.get("dataset") or {}
    refs = [dataset.get("id")] if dataset.get("name") == UPLOADED else []
    refs += list((spec.get("grid") or {}).get("dataset.id", []))
    return sorted({r for r in refs if isinstance(r, str)})


def _text(spec: Any) -> str:
    return spec if isinstance(spec, str) else json.dumps(spec)

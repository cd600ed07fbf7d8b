"""Bulk INSERT of plain dicts, straight to the driver: COPY on PostgreSQL, executemany on SQLite.

A 100 000-trial sweep is written in the request that submits it. Going through SQLAlchemy's
executemany costs more in per-row parameter processing (and, on psycopg 3, in pipelined round
trips) than the database spends storing the rows, so this module hands the driver tuples with
the JSON columns serialised once per distinct value (a sweep's cells share a few initializers
and grid points).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, named after columns) into `table`.

    Only for columns whose values the driver takes as they are: numbers, strings, booleans,
    None, and JSON columns holding plain Python values (timestamps need the column type).

    Args:
        session: the caller's write transaction.
        table: the target table.
        rows: the rows.
    """
    if not rows:
        return
    names = list(rows[0])
    # Identifiers come from the table's own metadata, never from the rows.
    columns = ", ".join(f'"{table.c[name].name}"' for name in names)
    values = _tuples(table, names, rows)
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, f'COPY "{table.name}" ({columns}) FROM STDIN', values)
    else:
        marks = ", ".join("?" for _ in names)
        session.connection().exec_driver_sql(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', list(values))


def _tuples(table: Table, names: list[str], rows: list[dict[str, Any]]) -> Iterator[tuple]:
    as_json = [isinstance(table.c[name].type, JSON) for name in names]
    # Keyed by id(): `rows` keeps every value alive, so an id cannot be reused meanwhile.
    dumped: dict[int, str] = {}

    def dump(value: Any) -> str:
        key = id(value)
        if key not in dumped:
            dumped[key] = json.dumps(value)
        return dumped[key]

    for row in rows:
        yield tuple(dump(row[n]) if j else row[n] for n, j in zip(names, as_json))


def _copy(session: Session, sql: str, values: Iterator[tuple]) -> None:
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for value in values:
                copy.write_row(value)
    finally:
        cursor.close()

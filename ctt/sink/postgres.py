"""The target: reading (and dropping) the run-scoped table the connector fills, with psycopg 3.

Every call opens a short autocommit connection: the reader polls while the connector
writes, and a poll must see what the connector committed since the last one. psycopg's
errors are translated here: an unreachable server is :class:`TargetError`
(infrastructure); a table that does not exist yet reads as ``None``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import BaseModel

from ctt.errors import InfraError

_HINT = "is PostgreSQL running? `ctt stack status`, `ctt stack logs postgres`"


class TargetError(InfraError):
    """PostgreSQL could not be reached or refused a query of ctt's."""


class TargetColumn(BaseModel):
    """A column as ``information_schema.columns`` describes it."""

    name: str
    data_type: str
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True

    def describe(self) -> str:
        if self.data_type == "numeric" and self.precision is not None:
            return f"numeric({self.precision},{self.scale or 0})"
        return self.data_type


class PostgresTarget:
    """One database of the stack's PostgreSQL server (``dsn``: a libpq URL)."""

    def __init__(self, dsn: str, *, connect_timeout_s: int = 10) -> None:
        self.dsn = dsn
        self._timeout = connect_timeout_s

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        try:
            return psycopg.connect(
                self.dsn, autocommit=True, row_factory=dict_row, connect_timeout=self._timeout
            )
        except psycopg.Error as exc:
            raise TargetError(f"PostgreSQL {self.dsn}: {exc}".strip(), hint=_HINT) from exc

    def columns(self, table: str) -> list[TargetColumn] | None:
        """The table's columns in order; None when it does not exist (yet)."""
        query = (
            "SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s ORDER BY ordinal_position"
        )
        with self._connect() as conn:
            try:
                found = conn.execute(query, (table,)).fetchall()
            except psycopg.Error as exc:
                raise TargetError(f"reading the columns of {table}: {exc}", hint=_HINT) from exc
        if not found:
            return None
        return [
            TargetColumn(
                name=r["column_name"],
                data_type=r["data_type"],
                precision=r["numeric_precision"],
                scale=r["numeric_scale"],
                nullable=r["is_nullable"] == "YES",
            )
            for r in found
        ]

    def rows(self, table: str) -> list[dict[str, Any]] | None:
        """Every row of the table; None when it does not exist (yet)."""
        with self._connect() as conn:
            try:
                cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
                return list(cur.fetchall())
            except psycopg.errors.UndefinedTable:
                return None
            except psycopg.Error as exc:
                raise TargetError(f"reading {table}: {exc}", hint=_HINT) from exc

    def execute(self, statement: str) -> None:
        """Run one statement of ctt's own (e.g. pre-creating a table for a failure test)."""
        with self._connect() as conn:
            try:
                conn.execute(statement.encode())
            except psycopg.Error as exc:
                raise TargetError(f"PostgreSQL refused {statement[:80]!r}: {exc}") from exc

    def drop(self, table: str) -> None:
        """``DROP TABLE IF EXISTS``: idempotent, for cleanup."""
        with self._connect() as conn:
            try:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
            except psycopg.Error as exc:
                raise TargetError(f"dropping {table}: {exc}", hint=_HINT) from exc

    def tables(self, prefix: str) -> list[str]:
        """Tables of the current schema whose name starts with ``prefix`` (for cleanup)."""
        with self._connect() as conn:
            found = conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name LIKE %s",
                (prefix.replace("_", r"\_") + "%",),
            ).fetchall()
        return [str(r["table_name"]) for r in found]


__all__ = ["PostgresTarget", "TargetColumn", "TargetError"]

"""Leases on shared test environments, kept in the history database so parallel jobs agree.

A pool (``environments.yaml``) names interchangeable environments. A job
leases one for a TTL, renews the lease while it runs and releases it at the
end. Taking a lease is one conditional ``UPDATE ... WHERE free or expired``
per candidate, so two jobs racing for the same environment cannot both win,
on SQLite (jobs on one machine) as on PostgreSQL (``CTT_HISTORY_URL``: jobs on
many runners). A job that crashed never renews: once its lease expires, the
next job takes the environment over and is told whose stale lease it recovered.
Free environments rotate: the one leased least recently goes first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ctt.ci.history import HistoryStore
from ctt.config.environments import EnvPool
from ctt.errors import InfraError, UsageError

__all__ = ["EnvLease", "EnvPoolStore", "EnvState", "PoolExhausted"]

_meta = sa.MetaData()

leases_t = sa.Table(
    "ctt_env_leases",
    _meta,
    sa.Column("pool", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("lease_id", sa.String(64)),
    sa.Column("holder", sa.String(255)),
    sa.Column("acquired_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("last_leased_at", sa.DateTime(timezone=True)),
    sa.Column("leases", sa.Integer, nullable=False, default=0),
)

_POLL_S = 0.5


class PoolExhausted(InfraError):
    """Every environment of the pool is leased and none came free in time."""


class EnvLease(BaseModel):
    pool: str
    name: str
    lease_id: str
    holder: str
    acquired_at: datetime
    expires_at: datetime
    env: dict[str, str] = Field(default_factory=dict)
    recovered_from: str | None = Field(
        None, description="holder of the expired (stale) lease this one took over"
    )


class EnvState(BaseModel):
    """One environment as ``ctt env list`` shows it."""

    pool: str
    name: str
    state: str  # free | leased | stale
    holder: str | None = None
    lease_id: str | None = None
    expires_at: datetime | None = None
    leases: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class EnvPoolStore:
    """Lease, renew, release and list environments in the history database."""

    def __init__(self, store: HistoryStore) -> None:
        self.engine = store.engine
        try:
            _meta.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise InfraError(f"history store: cannot create the lease table: {exc}") from None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise InfraError(f"lease store error: {exc.__class__.__name__}: {exc}") from None

    def _sync(self, pool: str, names: list[str]) -> None:
        """Rows for environments the pool file names (another job may add them at once)."""
        with self._tx() as conn:
            have = set(conn.scalars(sa.select(leases_t.c.name).where(leases_t.c.pool == pool)))
        for name in names:
            if name in have:
                continue
            try:
                with self._tx() as conn:
                    conn.execute(sa.insert(leases_t).values(pool=pool, name=name, leases=0))
            except IntegrityError:
                pass  # a parallel job inserted it first

    def try_lease(
        self, pool: str, spec: EnvPool, holder: str, ttl: float | None = None
    ) -> EnvLease | None:
        """Take a free or stale environment of ``pool`` now, or None when all are leased."""
        names = list(spec.environments)
        self._sync(pool, names)
        ttl = spec.ttl if ttl is None else ttl
        now = _now()
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(leases_t).where(leases_t.c.pool == pool, leases_t.c.name.in_(names))
            ).all()
        # free first, then stale; least recently leased first: environments rotate
        order = sorted(
            (r for r in rows if r.lease_id is None or _expired(r.expires_at, now)),
            key=lambda r: (
                r.lease_id is not None,
                _aware(r.last_leased_at) or datetime.min.replace(tzinfo=UTC),
                r.name,
            ),
        )
        for row in order:
            lease_id = uuid.uuid4().hex
            expires = now + timedelta(seconds=ttl)
            free = sa.or_(
                leases_t.c.lease_id.is_(None),
                leases_t.c.expires_at.is_(None),
                leases_t.c.expires_at <= now,
            )
            with self._tx() as conn:
                done = conn.execute(
                    sa.update(leases_t)
                    .where(leases_t.c.pool == pool, leases_t.c.name == row.name, free)
                    .values(
                        lease_id=lease_id,
                        holder=holder,
                        acquired_at=now,
                        expires_at=expires,
                        last_leased_at=now,
                        leases=leases_t.c.leases + 1,
                    )
                )
            if done.rowcount == 1:
                return EnvLease(
                    pool=pool,
                    name=row.name,
                    lease_id=lease_id,
                    holder=holder,
                    acquired_at=now,
                    expires_at=expires,
                    env=dict(spec.environments[row.name].env),
                    recovered_from=row.holder if row.lease_id is not None else None,
                )
        return None

    def lease(
        self,
        pool: str,
        spec: EnvPool,
        holder: str,
        *,
        ttl: float | None = None,
        wait: float = 0.0,
    ) -> EnvLease:
        """Take an environment, polling until ``wait`` seconds have passed."""
        deadline = time.monotonic() + wait
        while True:
            got = self.try_lease(pool, spec, holder, ttl)
            if got is not None:
                return got
            if time.monotonic() >= deadline:
                held = ", ".join(
                    f"{s.name} ({s.holder}, until {s.expires_at:%H:%M:%S})"
                    for s in self.list(pool)
                    if s.state == "leased"
                )
                raise PoolExhausted(
                    f"every environment of pool {pool!r} is leased: {held}",
                    hint="wait with --wait, or release a lease with 'ctt env release'",
                )
            time.sleep(_POLL_S)

    def renew(self, lease_id: str, ttl: float) -> EnvLease:
        """Push the lease's expiry ``ttl`` seconds from now; an error when it was lost."""
        now = _now()
        with self._tx() as conn:
            done = conn.execute(
                sa.update(leases_t)
                .where(leases_t.c.lease_id == lease_id)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            row = conn.execute(sa.select(leases_t).where(leases_t.c.lease_id == lease_id)).first()
        if done.rowcount != 1 or row is None:
            raise UsageError(
                f"lease {lease_id} is not held (released, or taken over after it expired)",
                hint="lease the environment again with 'ctt env lease'",
            )
        return _lease_of(row)

    def release(self, lease_id: str) -> bool:
        """Give the environment back; False when the lease was no longer held."""
        with self._tx() as conn:
            done = conn.execute(
                sa.update(leases_t)
                .where(leases_t.c.lease_id == lease_id)
                .values(lease_id=None, holder=None, acquired_at=None, expires_at=None)
            )
        return bool(done.rowcount == 1)

    def list(self, pool: str | None = None) -> list[EnvState]:
        now = _now()
        query = sa.select(leases_t).order_by(leases_t.c.pool, leases_t.c.name)
        if pool is not None:
            query = query.where(leases_t.c.pool == pool)
        with self._tx() as conn:
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            expires = _aware(r.expires_at)
            state = (
                "free"
                if r.lease_id is None
                else ("stale" if expires and expires <= now else "leased")
            )
            out.append(
                EnvState(
                    pool=r.pool,
                    name=r.name,
                    state=state,
                    holder=r.holder,
                    lease_id=r.lease_id,
                    expires_at=expires,
                    leases=r.leases or 0,
                )
            )
        return out


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    """A lease with no expiry (a row written by hand) counts as expired: it can be taken."""
    aware = _aware(expires_at)
    return aware is None or aware <= now


def _lease_of(row: Any) -> EnvLease:
    return EnvLease(
        pool=row.pool,
        name=row.name,
        lease_id=row.lease_id,
        holder=row.holder,
        acquired_at=_aware(row.acquired_at),
        expires_at=_aware(row.expires_at),
    )

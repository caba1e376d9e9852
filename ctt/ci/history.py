"""History of test runs: SQLite by default, PostgreSQL by URL, one SQLAlchemy Core schema for both.

It keeps runs (commit, branch, pipeline), suites (status, duration, Flink
metrics), test cases and their retry attempts, each test case's performance
metrics per engine (``ctt_case_metrics``), and answers the questions
reports and gates ask: the trend over the last N runs, pass rate and
flakiness per test (pass-on-retry and pass/fail flips), suite durations
against the median of recent passing runs, each test's metrics over its
recent passing runs, and new failures compared with the target branch.

The schema only grows: :meth:`HistoryStore.open` creates the tables an older
database lacks (``create_all`` skips those it has) and records the version in
``ctt_schema``; a column added to an existing table needs a step in
:data:`_MIGRATIONS`.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ctt.errors import InfraError
from ctt.report.junit import TestCaseResult
from ctt.report.model import RunSummary
from ctt.report.model import Status as CaseStatus
from ctt.report.performance import HistoryPoint, case_performance
from ctt.report.results import ConsolidatedRun, SuiteSummary

__all__ = [
    "DEFAULT_HISTORY",
    "SCHEMA_VERSION",
    "HistoryStore",
    "Regression",
    "RunPoint",
    "TestStats",
    "database_url",
]

DEFAULT_HISTORY = Path(".ctt/history.sqlite")
SCHEMA_VERSION = 2
"""1: runs, suites, cases, attempts, suite metrics. 2: + ctt_case_metrics, ctt_schema."""
_MESSAGE_MAX = 500

_meta = sa.MetaData()


def _counts(*names: str) -> list[sa.Column[int]]:
    """Test count columns (0 when not given)."""
    return [sa.Column(n, sa.Integer, nullable=False, default=0) for n in names]


runs_t = sa.Table(
    "ctt_runs",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("commit_sha", sa.String(64)),
    sa.Column("branch", sa.String(255), index=True),
    sa.Column("target_branch", sa.String(255)),
    sa.Column("pipeline_id", sa.String(64)),
    sa.Column("pipeline_source", sa.String(64)),
    sa.Column("mode", sa.String(32)),
    sa.Column("wall_seconds", sa.Float),
    sa.Column("serial_seconds", sa.Float, nullable=False, default=0.0),
    *_counts("tests", "passed", "failed", "errors", "skipped", "flaky"),
)
_NEWEST_FIRST = (runs_t.c.created_at.desc(), runs_t.c.id.desc())
"""The order of "the last N runs": by time, and by insertion among runs of the same time."""


def _of_run(name: str, *items: sa.Column[Any] | sa.Index) -> sa.Table:
    """A table whose rows belong to one run (and go with it), indexed by the run."""
    return sa.Table(
        name,
        _meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.ForeignKey("ctt_runs.id", ondelete="CASCADE"), nullable=False),
        *items,
        sa.Index(f"ix_{name}_run", "run_id"),
    )


suites_t = _of_run(
    "ctt_suites",
    sa.Column("name", sa.String(255), nullable=False, index=True),
    sa.Column("kind", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("duration", sa.Float, nullable=False, default=0.0),
    sa.Column("expected_seconds", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    *_counts("tests", "failed", "errors", "flaky"),
)
cases_t = _of_run(
    "ctt_cases",
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("test_key", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("time", sa.Float, nullable=False, default=0.0),
    sa.Column("flaky", sa.Boolean, nullable=False, default=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("message", sa.Text),
    sa.Index("ix_ctt_cases_key", "test_key"),
)
attempts_t = _of_run(
    "ctt_attempts",
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("test_key", sa.Text, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("time", sa.Float, nullable=False, default=0.0),
    sa.Column("message", sa.Text),
)
metrics_t = _of_run(
    "ctt_metrics",
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
)

case_metrics_t = _of_run(
    "ctt_case_metrics",
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("test_key", sa.Text, nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_ctt_case_metrics_key", "test_key", "name"),
)
schema_t = sa.Table(
    "ctt_schema",
    _meta,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)
_MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""Version -> SQL run on a database below it, after ``create_all`` (new columns go here)."""


class RunPoint(BaseModel):
    """One run in a trend."""

    run_key: str
    created_at: datetime
    branch: str | None
    commit: str | None
    tests: int
    passed: int
    failed: int
    errors: int
    skipped: int
    flaky: int
    serial_seconds: float
    wall_seconds: float | None

    @property
    def pass_rate(self) -> float:
        ran = self.tests - self.skipped
        return self.passed / ran if ran else 1.0

    @property
    def flaky_share(self) -> float:
        ran = self.tests - self.skipped
        return self.flaky / ran if ran else 0.0


class TestStats(BaseModel):
    """Reliability of one test over recent runs."""

    __test__ = False

    key: str
    suite: str
    runs: int
    passed: int
    failed: int
    flaky_runs: int  # passed only on retry
    flips: int  # pass <-> fail changes between consecutive runs

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 1.0

    @property
    def flakiness(self) -> float:
        """Share of runs that were flaky or flipped relative to the previous run."""
        if self.runs <= 1:
            return self.flaky_runs / self.runs if self.runs else 0.0
        return min(1.0, (self.flaky_runs + self.flips) / self.runs)


class Regression(BaseModel):
    suite: str
    duration: float
    baseline_median: float
    baseline_runs: int

    @property
    def change(self) -> float:
        """Relative change, 0.25 = 25% slower."""
        return (self.duration - self.baseline_median) / self.baseline_median


def database_url(target: str | Path | None) -> str:
    """A SQLAlchemy URL from a path (SQLite) or a ``postgresql://`` URL (psycopg 3)."""
    if target is None or str(target) == "":
        target = DEFAULT_HISTORY
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    path = Path(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class HistoryStore:
    """The history database; create with :meth:`open`, use as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, target: str | Path | None = None) -> HistoryStore:
        url = database_url(target)
        try:
            engine = sa.create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            _meta.create_all(engine)
            _migrate(engine)
        except SQLAlchemyError as exc:
            safe = sa.engine.make_url(url).render_as_string(hide_password=True)
            raise InfraError(
                f"history store {safe} is not usable: {exc.__class__.__name__}: "
                f"{str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}",
                hint="check the URL, the server and the credentials, or use a SQLite path",
            ) from None
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise InfraError(f"history store error: {exc.__class__.__name__}: {exc}") from None

    # --- writing ---

    def record(self, run: ConsolidatedRun) -> int:
        """Store one run (replacing an earlier record with the same run key); return its id."""
        cases = [
            (suite, case)
            for suite, res in zip(run.suite_of, run.results, strict=True)
            for case in res.cases
        ]
        with self._tx() as conn:
            conn.execute(runs_t.delete().where(runs_t.c.run_key == run.meta.run_key))
            run_id = conn.execute(
                runs_t.insert().returning(runs_t.c.id), _run_row(run, [c for _, c in cases])
            ).scalar_one()
            suite_rows = [{"run_id": run_id, **_suite_row(s)} for s in run.suites]
            if suite_rows:
                conn.execute(suites_t.insert(), suite_rows)
            metric_rows = [
                {"run_id": run_id, "suite": s.name, "name": k, "value": v}
                for s in run.suites
                for k, v in s.metrics.items()
            ]
            if metric_rows:
                conn.execute(metrics_t.insert(), metric_rows)
            _bulk_insert(conn, cases_t, _CASE_COLUMNS, _case_rows(run_id, cases))
            _bulk_insert(conn, attempts_t, _ATTEMPT_COLUMNS, _attempt_rows(run_id, cases))
            _bulk_insert(
                conn, case_metrics_t, _CASE_METRIC_COLUMNS, _case_metric_rows(run_id, cases)
            )
        return int(run_id)

    # --- questions ---

    def trend(self, limit: int = 30, branch: str | None = None) -> list[RunPoint]:
        """The last ``limit`` runs, oldest first."""
        q = sa.select(runs_t).order_by(*_NEWEST_FIRST).limit(limit)
        if branch:
            q = q.where(runs_t.c.branch == branch)
        with self._tx() as conn:
            rows = conn.execute(q).mappings().all()
        return [_point(r) for r in reversed(rows)]

    def latest_run(self, branch: str, exclude: str | None = None) -> RunPoint | None:
        q = sa.select(runs_t).where(runs_t.c.branch == branch).order_by(*_NEWEST_FIRST).limit(1)
        if exclude:
            q = q.where(runs_t.c.run_key != exclude)
        with self._tx() as conn:
            row = conn.execute(q).mappings().first()
        return _point(row) if row else None

    def failing_keys(self, run_key: str) -> set[str]:
        """Tests that failed or errored in a run."""
        q = (
            sa.select(cases_t.c.test_key)
            .join(runs_t, runs_t.c.id == cases_t.c.run_id)
            .where(runs_t.c.run_key == run_key)
            .where(cases_t.c.status.in_([CaseStatus.FAILED.value, CaseStatus.ERROR.value]))
        )
        with self._tx() as conn:
            return {r[0] for r in conn.execute(q)}

    def new_failures(
        self, current_failing: Iterable[str], target_branch: str, exclude: str | None = None
    ) -> tuple[list[str], RunPoint | None]:
        """Failing tests that did not fail in the latest run of the target branch.

        Without a target-branch run in history every current failure counts
        as new (the safe answer for a merge gate); the baseline is returned
        as None so callers can say so.
        """
        baseline = self.latest_run(target_branch, exclude=exclude)
        failing = sorted(set(current_failing))
        if baseline is None:
            return failing, None
        before = self.failing_keys(baseline.run_key)
        return [k for k in failing if k not in before], baseline

    def test_stats(
        self, limit: int = 30, branch: str | None = None, only_unstable: bool = True
    ) -> list[TestStats]:
        """Pass rate, pass-on-retry and flips per test over the last ``limit`` runs.

        ``only_unstable`` keeps tests that failed or were flaky at least once
        (the ones a report lists), which keeps the query small on big histories.
        """
        recent = sa.select(runs_t.c.id, runs_t.c.created_at).order_by(*_NEWEST_FIRST)
        if branch:
            recent = recent.where(runs_t.c.branch == branch)
        recent_sq = recent.limit(limit).subquery()
        bad = cases_t.c.status.in_([CaseStatus.FAILED.value, CaseStatus.ERROR.value])
        agg = (
            sa.select(
                cases_t.c.test_key,
                sa.func.count().label("runs"),
                sa.func.sum(sa.case((bad, 1), else_=0)).label("bad"),
                sa.func.sum(sa.case((cases_t.c.flaky, 1), else_=0)).label("flaky"),
            )
            .join(recent_sq, recent_sq.c.id == cases_t.c.run_id)
            .group_by(cases_t.c.test_key)
        )
        if only_unstable:
            agg = agg.having(sa.func.sum(sa.case((bad, 1), (cases_t.c.flaky, 1), else_=0)) > 0)
        with self._tx() as conn:
            rows = conn.execute(agg).all()
            keys = [r[0] for r in rows]
            seqs: dict[str, list[tuple[datetime, int, str, str]]] = defaultdict(list)
            for chunk in _batches(iter(keys), 500):
                q = (
                    sa.select(
                        cases_t.c.test_key,
                        recent_sq.c.created_at,
                        cases_t.c.run_id,
                        cases_t.c.status,
                        cases_t.c.suite,
                    )
                    .join(recent_sq, recent_sq.c.id == cases_t.c.run_id)
                    .where(cases_t.c.test_key.in_(chunk))
                )
                for key, created, run_id, status, suite in conn.execute(q):
                    seqs[key].append((created, run_id, status, suite))
        out: list[TestStats] = []
        for key, runs, bad_n, flaky_n in rows:
            seq = sorted(seqs[key])
            states = [s for _, _, s, _ in seq if s != CaseStatus.SKIPPED.value]
            flips = sum(
                1
                for a, b in itertools.pairwise(states)
                if (a == CaseStatus.PASSED.value) != (b == CaseStatus.PASSED.value)
            )
            out.append(
                TestStats(
                    key=key,
                    suite=seq[-1][3] if seq else "",
                    runs=int(runs),
                    passed=int(runs) - int(bad_n or 0),
                    failed=int(bad_n or 0),
                    flaky_runs=int(flaky_n or 0),
                    flips=flips,
                )
            )
        out.sort(key=lambda t: (-t.flakiness, t.pass_rate, t.key))
        return out

    def last_failed_suites(self, branch: str | None = None) -> set[str]:
        """Suites whose most recent recorded run (on ``branch`` when given) did not pass.

        What smart selection reruns: a suite stays selected until it passes again.
        """
        q = (
            sa.select(suites_t.c.name, suites_t.c.status)
            .join(runs_t, runs_t.c.id == suites_t.c.run_id)
            .order_by(*_NEWEST_FIRST)
        )
        if branch:
            q = q.where(runs_t.c.branch == branch)
        latest: dict[str, str] = {}
        with self._tx() as conn:
            for name, status in conn.execute(q):
                latest.setdefault(str(name), str(status))
        return {n for n, st in latest.items() if st in _FAILED_SUITE}

    def duration_baselines(
        self, suites: Iterable[str], limit: int = 10, exclude: str | None = None
    ) -> dict[str, tuple[float, int]]:
        """Median duration of each suite's last ``limit`` passing runs, and how many there were."""
        names = list(set(suites))
        if not names:
            return {}
        q = (
            sa.select(suites_t.c.name, suites_t.c.duration)
            .join(runs_t, runs_t.c.id == suites_t.c.run_id)
            .where(suites_t.c.name.in_(names), suites_t.c.status == "passed")
            .order_by(*_NEWEST_FIRST)
        )
        if exclude:
            q = q.where(runs_t.c.run_key != exclude)
        found: dict[str, list[float]] = defaultdict(list)
        with self._tx() as conn:
            for name, duration in conn.execute(q):
                if len(found[name]) < limit:
                    found[name].append(float(duration))
        return {n: (statistics.median(v), len(v)) for n, v in found.items() if v}

    def metric_series(
        self, tests: Iterable[str], *, limit: int = 30, exclude: str | None = None
    ) -> dict[tuple[str, str, str], list[HistoryPoint]]:
        """``(test, engine, metric)`` -> the values of the last ``limit`` passing runs, oldest first.

        ``exclude`` leaves a run out (the current one, compared with the runs before it).
        """
        keys = sorted(set(tests))
        found: dict[tuple[str, str, str], list[HistoryPoint]] = defaultdict(list)
        m = case_metrics_t.c
        with self._tx() as conn:
            for chunk in _batches(iter(keys), 500):
                q = (
                    sa.select(
                        m.test_key,
                        m.engine,
                        m.name,
                        m.value,
                        runs_t.c.run_key,
                        runs_t.c.created_at,
                        runs_t.c.commit_sha,
                    )
                    .join(runs_t, runs_t.c.id == m.run_id)
                    .where(m.test_key.in_(chunk), m.status == CaseStatus.PASSED.value)
                    .order_by(*_NEWEST_FIRST)
                )
                if exclude:
                    q = q.where(runs_t.c.run_key != exclude)
                for key, engine, name, value, run_key, created, commit in conn.execute(q):
                    series = found[(key, engine, name)]
                    if len(series) < limit:
                        series.append(
                            HistoryPoint(
                                run_key=run_key,
                                created_at=_aware(created),
                                commit=commit,
                                value=float(value),
                            )
                        )
        return {k: list(reversed(v)) for k, v in found.items()}

    def schema_version(self) -> int:
        with self._tx() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_t.c.version))).scalar() or 0)

    def regressions(
        self,
        durations: dict[str, float],
        limit: int = 10,
        exclude: str | None = None,
        min_runs: int = 3,
    ) -> list[Regression]:
        """Each suite's duration against the median of its recent passing runs (slowest change first)."""
        base = self.duration_baselines(durations, limit=limit, exclude=exclude)
        out = [
            Regression(suite=n, duration=d, baseline_median=base[n][0], baseline_runs=base[n][1])
            for n, d in durations.items()
            if n in base and base[n][1] >= min_runs and base[n][0] > 0
        ]
        out.sort(key=lambda r: -r.change)
        return out


_FAILED_SUITE = frozenset({"failed", "error", "errored", "timeout"})
"""Suite statuses that count as a failure for :meth:`HistoryStore.last_failed_suites`."""

_CASE_METRIC_COLUMNS = ("run_id", "suite", "test_key", "engine", "status", "name", "value")
_CASE_COLUMNS = ("run_id", "suite", "test_key", "status", "time", "flaky", "attempts", "message")
_ATTEMPT_COLUMNS = ("run_id", "suite", "test_key", "number", "status", "time", "message")


def _run_row(run: ConsolidatedRun, cases: list[TestCaseResult]) -> dict[str, Any]:
    """The ``ctt_runs`` row of a run: where it ran, and its test counts."""
    meta = run.meta
    return {
        "run_key": meta.run_key,
        "created_at": _aware(meta.created_at),
        "commit_sha": meta.commit,
        "branch": meta.branch,
        "target_branch": meta.target_branch,
        "pipeline_id": meta.pipeline_id,
        "pipeline_source": meta.pipeline_source,
        "mode": meta.mode,
        "wall_seconds": run.wall_seconds,
        "serial_seconds": sum(s.duration for s in run.suites),
        **RunSummary.of_cases(cases).counts(),
    }


def _suite_row(s: SuiteSummary) -> dict[str, Any]:
    """A ``ctt_suites`` row without its run id."""
    return s.model_dump(include=_SUITE_FIELDS)


_SUITE_FIELDS = {c.name for c in suites_t.columns if c.name not in ("id", "run_id")}


def _case_rows(run_id: int, cases: list[tuple[str, TestCaseResult]]) -> Iterator[tuple[Any, ...]]:
    """``ctt_cases`` rows, in the order of :data:`_CASE_COLUMNS`."""
    for suite, c in cases:
        message = c.message[:_MESSAGE_MAX] if c.message else None
        attempts = max(len(c.attempts), 1)
        yield (run_id, suite, c.key, c.status.value, c.time, bool(c.flaky), attempts, message)


def _attempt_rows(
    run_id: int, cases: list[tuple[str, TestCaseResult]]
) -> Iterator[tuple[Any, ...]]:
    """``ctt_attempts`` rows, in the order of :data:`_ATTEMPT_COLUMNS`."""
    for suite, c in cases:
        for i, a in enumerate(c.attempts, start=1):
            message = a.message[:_MESSAGE_MAX] if a.message else None
            yield (run_id, suite, c.key, i, a.status.value, a.time, message)


def _case_metric_rows(
    run_id: int, cases: list[tuple[str, TestCaseResult]]
) -> Iterator[tuple[Any, ...]]:
    """``ctt_case_metrics`` rows of the cases that reported performance metrics."""
    for suite, c in cases:
        perf = case_performance(c)
        if perf is None:
            continue
        for name, value in perf.flat().items():
            yield (run_id, suite, c.key, perf.engine, c.status.value, name, value)


def _migrate(engine: Engine) -> None:
    """Bring a database created by an older ctt to :data:`SCHEMA_VERSION`.

    A database without ``ctt_schema`` is version 1 if it has runs' tables (``create_all``
    has just added the missing ones), else new.
    """
    try:
        with engine.begin() as conn:
            current = conn.execute(sa.select(sa.func.max(schema_t.c.version))).scalar()
            version = int(current or 1)
            if current is not None and version >= SCHEMA_VERSION:
                return
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for sql in _MIGRATIONS.get(step, ()):
                    conn.execute(sa.text(sql))
            conn.execute(
                schema_t.insert(), {"version": SCHEMA_VERSION, "applied_at": datetime.now(UTC)}
            )
    except sa.exc.IntegrityError:
        pass  # another process opening the same database recorded the version first


def _point(r: Any) -> RunPoint:
    return RunPoint(
        run_key=r["run_key"],
        created_at=_aware(r["created_at"]),
        branch=r["branch"],
        commit=r["commit_sha"],
        tests=r["tests"],
        passed=r["passed"],
        failed=r["failed"],
        errors=r["errors"],
        skipped=r["skipped"],
        flaky=r["flaky"],
        serial_seconds=r["serial_seconds"] or 0.0,
        wall_seconds=r["wall_seconds"],
    )


def _bulk_insert(
    conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """executemany on the driver's cursor: 100,000 rows through SQLAlchemy's per-row
    parameter processing take seconds; plain tuples of plain types take a fraction of that.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    cursor = conn.connection.cursor()
    try:
        for batch in _batches(iter(rows), 20_000):
            cursor.executemany(sql, batch)
    finally:
        cursor.close()


def _batches(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()

"""Turning a test's SQL into run-scoped tables and sinks in an engine session, and the job's INSERTs.

Works on any :class:`FlinkEngine`: the DDL it emits is the local connector's
(``ctt.sql.ddl``), the statements it runs go through ``engine.run``.

When Flink rejects a statement, the error points at the user's file as testdrive's do:
``file:line:col: Flink rejected the SQL: <Flink's one line>`` with the lines before and a
caret. Flink's ``line N, column M`` counts inside the statement ctt sent (the statement
itself, a CTAS's query restated as a view, or the job's ``EXECUTE STATEMENT SET``);
:func:`ctt.sql.statements.locate` maps it to the rendered SQL and :meth:`SqlSource.error`
maps the rendered SQL to the file (see there for Jinja templates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from pydantic import BaseModel, Field

from ctt.config.spec import Completion, FlinkTest, LoadedTest
from ctt.config.yaml_source import SourceMap
from ctt.engines.base import FlinkEngine, ResultRow, StatementError
from ctt.errors import ConfigError, snippet
from ctt.flinktest import dlq_routing, sink_sql
from ctt.flinktest.inputs import TableInput
from ctt.flinktest.plan_cache import PlanCache, Planned
from ctt.kafka.naming import scoped
from ctt.observed.model import Column
from ctt.sql import ddl, render, statements
from ctt.sql.statements import Kind, Statement

_LINES_CHANGED = (
    "line and column of the SQL as rendered: the template's {% %} blocks changed its lines"
)
_LINE_CHANGED = "column of the line as rendered"


class OutputPlan(BaseModel):
    table: str
    topic: str
    columns: list[Column]
    mode: ddl.SinkMode
    declared: bool = Field(False, description="declared under `tables:` by the user")
    envelope: bool = Field(False, description="records are Kafka Connect envelopes (`sink:`)")


Position = tuple[int, int | None]
"""(line, column) inside what ctt sent; the column is None when Flink gave only a line."""


def flink_position(exc: StatementError) -> Position | None:
    """Where in the statement it was sent Flink says the error is: ``line N, column M``."""
    pos = statements.error_position(exc.message)
    if pos is not None:
        return pos
    return (exc.sql_line, None) if exc.sql_line else None


class SqlSource(BaseModel):
    """Where the SQL came from, to turn a position in the rendered SQL into the user's file.

    Inline ``flink_sql: |`` starts at ``first_line`` of the spec, indented by ``indent``
    columns; a ``sql_template`` is its own file (``first_line`` 1, no indent). ``written``
    is the SQL as the file has it (before Jinja) and ``file_text`` the whole file.

    Jinja keeps lines as they are except through ``{% %}`` blocks (an ``if`` that drops
    lines, a ``for`` that repeats them, ``-`` whitespace control); ``{{ }}`` changes
    columns only. When the rendered SQL has as many lines as the written one, line N of
    it is the file's line N; otherwise the error still names the file, at the line and
    column of the *rendered* SQL, says so in its hint, and the snippet shows the rendered
    lines. Either way the snippet shows the lines as rendered (with the file's line
    numbers), so the caret is under what Flink read.
    """

    text: str
    file: str
    first_line: int  # line in `file` of the SQL's first line
    indent: int = 0  # columns before the SQL's text in `file` (an inline block's indentation)
    written: str | None = None
    file_text: str | None = None

    def file_line(self) -> str:
        """Where the SQL starts, as ``file:line``."""
        return f"{self.file}:{self.first_line}"

    def locate(self, stmt_line: int, err_line: int | None) -> int:
        return self.first_line + stmt_line - 1 + ((err_line or 1) - 1)

    @property
    def same_lines(self) -> bool:
        """Rendering kept the SQL's lines: line N of ``text`` is line N of ``written``."""
        return self.written is None or len(self.written.splitlines()) == len(self.text.splitlines())

    def _as_rendered(self) -> list[str]:
        """The file's lines with the SQL's lines replaced by the rendered ones."""
        lines = (self.file_text or "").splitlines()
        start = self.first_line - 1
        count = len((self.written or self.text).splitlines())
        pad = " " * self.indent
        rendered = [pad + ln if ln else ln for ln in self.text.splitlines()]
        return lines[:start] + rendered + lines[start + count :]

    def error(self, message: str, line: int, col: int | None) -> ConfigError:
        """A ConfigError at (``line``, ``col``) of the rendered SQL, in the user's file."""
        at_line = self.first_line + line - 1
        at_col = col + self.indent if col else None
        shown = self._as_rendered()
        hint = None
        if not self.same_lines:
            hint = _LINES_CHANGED
        elif self.file_text is not None:
            original = self.file_text.splitlines()
            if at_line <= len(original) and original[at_line - 1] != shown[at_line - 1]:
                hint = _LINE_CHANGED
        return ConfigError(
            message,
            file=self.file,
            line=at_line,
            col=at_col,
            hint=hint,
            snippet=snippet("\n".join(shown), at_line, at_col) or None,
        )

    def rejected(
        self, exc: StatementError, stmt: Statement, pos: Position | None, *, prefix: str = ""
    ) -> ConfigError:
        """Flink's rejection of ``stmt`` (or of ``prefix + stmt.query``) at ``pos`` in it.

        Without a position (or when ``pos`` is in text ctt wrote), the error points at the
        statement's start, or its query's with a ``prefix``.
        """
        line, col = pos if pos is not None else (1, None)
        at_line, at_col = statements.locate(self.text, stmt, line, col or 1, prefix=prefix)
        named_line_only = pos is not None and col is None
        message = f"Flink rejected the SQL: {exc.message}"
        return self.error(message, at_line, None if named_line_only else at_col)


def _block_indent(text: str | None, first_line: int) -> int:
    """Indentation of a block scalar whose content starts at ``first_line`` of ``text``."""
    for line in (text or "").splitlines()[first_line - 1 :]:
        if line.strip():
            return len(line) - len(line.lstrip(" "))
    return 0


def sql_source(lt: LoadedTest) -> SqlSource:
    test = lt.test
    if test.table_api is not None:  # the SQL Flink's Table API makes of the user's program
        from ctt.tableapi import program_sql

        made = program_sql(test, lt.file, lt.source_map)
        return SqlSource(text=made.sql, file=str(made.program), first_line=1)
    if test.flink_sql is not None:
        return _inline(lt, test.flink_sql, lt.sql_line or 1)
    assert test.sql_template is not None
    text, path = render.render_template(test.sql_template, test.params, spec_dir=lt.file.parent)
    written = path.read_text(encoding="utf-8")
    return SqlSource(text=text, file=str(path), first_line=1, written=written, file_text=written)


def resume_source(lt: LoadedTest) -> SqlSource | None:
    """The SQL a recovery scenario resumes the job with (``recovery.resume_sql``), if any."""
    sc = lt.test.recovery
    if sc is None or sc.resume_sql is None:
        return None
    key = ("flink_transformation_tests", lt.test.name, "recovery", "resume_sql")
    line = lt.source_map.lines.get(key)
    return _inline(lt, sc.resume_sql, line + 1 if line else lt.line or 1)


def _inline(lt: LoadedTest, written: str, first: int) -> SqlSource:
    """SQL written in the spec (a block scalar whose first line is ``first``), rendered."""
    text = render.render_text(written, lt.test.params, file=str(lt.file), line_offset=first)
    spec_text = lt.source_map.text
    return SqlSource(
        text=text,
        file=str(lt.file),
        first_line=first,
        indent=_block_indent(spec_text, first),
        written=written,
        file_text=spec_text,
    )


def targets(stmts: list[statements.Statement]) -> list[str]:
    return [s.target for s in stmts if s.kind in (Kind.CTAS, Kind.INSERT) and s.target]


class JobPart(NamedTuple):
    sql: str  # what the job runs
    source: Statement  # the user's statement it comes from (an INSERT, or the CTAS it stands for)
    verbatim: bool  # ``sql`` is the user's INSERT as written: Flink's positions fall in it


class Job(BaseModel):
    """The job's INSERTs: one statement, or an ``EXECUTE STATEMENT SET`` of several."""

    parts: list[JobPart]

    @property
    def sql(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0].sql
        return "EXECUTE STATEMENT SET BEGIN\n" + ";\n".join(p.sql for p in self.parts) + ";\nEND"

    def rejected(self, exc: StatementError, src: SqlSource) -> ConfigError:
        """Flink's rejection of the job at the user's statement it points into."""
        pos = flink_position(exc)
        part, rel = self._part_at(pos)
        return src.rejected(exc, part.source, rel if part.verbatim else None)

    def _part_at(self, pos: Position | None) -> tuple[JobPart, Position | None]:
        """The part a position in :attr:`sql` falls in, and the position inside that part."""
        if pos is None:
            return self.parts[0], None
        if len(self.parts) == 1:
            return self.parts[0], pos
        line, col = pos
        start = 2  # the parts begin on the line after "EXECUTE STATEMENT SET BEGIN"
        for part in self.parts:
            lines = part.sql.count("\n") + 1
            if start <= line < start + lines:
                return part, (line - start + 1, col)
            start += lines
        return self.parts[0], None  # on BEGIN or END: ctt's own text


def _rejected_in(
    src: SqlSource, stmt: Statement, *, prefix: str = "", positioned: bool = True
) -> Callable[[StatementError], ConfigError]:
    """Flink's rejection of ``stmt`` as ctt sent it (``prefix + stmt.query`` with a prefix).

    ``positioned=False`` for statements ctt wrote about it (DESCRIBE, the sink's DDL):
    their positions are not in the user's text, so the error points at the statement.
    """

    def rejected(exc: StatementError) -> ConfigError:
        return src.rejected(exc, stmt, flink_position(exc) if positioned else None, prefix=prefix)

    return rejected


class SqlSetup:
    """Runs the DDL part of a test in the engine session and returns the job's INSERT statements."""

    def __init__(
        self,
        engine: FlinkEngine,
        *,
        run_id: str,
        bootstrap: str,
        kafka_properties: Mapping[str, str] | None = None,
        plans: PlanCache | None = None,
    ) -> None:
        """``bootstrap`` and ``kafka_properties``: Kafka as the Flink cluster reaches it."""
        self.engine = engine
        self.run_id = run_id
        self.bootstrap = bootstrap
        self.props = dict(kafka_properties or {})
        self.plans = plans
        self._ddl: list[str] = []  # what this session ran, for the plan cache's key

    def _run(self, sql: str, rejected: Callable[[StatementError], ConfigError]) -> list[ResultRow]:
        try:
            rows = self.engine.run(sql)
        except StatementError as exc:
            raise rejected(exc) from None
        self._ddl.append(sql)
        return rows

    def topic_names(self, test: FlinkTest, outs: set[str], *, scope: str) -> dict[str, str]:
        """Table -> topic: run-scoped unless the table pins `topic:`; CTAS targets included.

        ``scope`` names the test uniquely within the run (see ``naming.test_scope``).
        """
        names = {n: (t.topic or scoped(self.run_id, scope, n)) for n, t in test.tables.items()}
        for target in sorted(outs - set(names)):
            names[target] = scoped(self.run_id, scope, target)
        return names

    def prepare(
        self,
        test: FlinkTest,
        src: SqlSource,
        stmts: list[statements.Statement],
        inputs: dict[str, TableInput],
        topics: dict[str, str],
        *,
        spec: SourceMap | None = None,
    ) -> tuple[Job, list[OutputPlan], dict[str, str]]:
        """Run the DDL; return (the job, outputs, SET options). Topics must exist.

        ``spec`` is the spec's source map: a source table Flink rejects is reported at
        its declaration under ``tables:``.
        """
        outs = set(targets(stmts))
        if not outs:
            raise ConfigError(
                "the SQL writes no table: use CREATE TABLE ... AS SELECT or INSERT INTO",
                file=src.file,
                line=src.first_line,
            )
        # `state:` first: `settings:` and the SQL's own SETs override it.
        settings = {
            **(test.state.flink_options() if test.state else {}),
            **(test.recovery.job_options() if test.recovery else {}),
            **test.settings,
        }
        for s in stmts:
            if s.kind is Kind.SET:
                k, v = statements.set_option(s)
                settings[k] = v
        self._declare_sources(test, src, outs, inputs, topics, spec)
        parts: list[JobPart] = []
        plans: list[OutputPlan] = []
        for s in stmts:
            if s.kind is Kind.SET:
                continue
            if s.kind is Kind.INSERT:
                plans.append(self._insert(test, s, src, topics))
                parts.append(JobPart(s.sql, s, verbatim=True))
            elif s.kind is Kind.CTAS:
                assert s.target is not None and s.query is not None
                plan = self._ctas(test, s, src, topics)
                plans.append(plan)
                view = ddl.quote("__ctt_" + s.target)
                select = (
                    sink_sql.envelope_select(test, plan.columns, s.target) if plan.envelope else "*"
                )
                parts.append(
                    JobPart(
                        f"INSERT INTO {ddl.quote(s.target)} SELECT {select} FROM {view}", s, False
                    )
                )
            else:
                self._run(s.sql, _rejected_in(src, s))
        if dlq_routing.generated(test):
            dlq = dlq_routing.dead_letter(
                test, topics, bootstrap=self.bootstrap, properties=self.props
            )
            if dlq.ddl is not None:
                self._run(dlq.ddl, _rejected_in(src, stmts[0], positioned=False))
            plans.append(
                OutputPlan(
                    table=dlq.table,
                    topic=dlq.topic,
                    columns=dlq.columns,
                    mode=ddl.SinkMode.APPEND,
                    declared=dlq.ddl is None,
                )
            )
            parts.append(JobPart(dlq.insert, stmts[0], verbatim=False))
        return Job(parts=parts), plans, settings

    def _declare_sources(
        self,
        test: FlinkTest,
        src: SqlSource,
        outs: set[str],
        inputs: dict[str, TableInput],
        topics: dict[str, str],
        spec: SourceMap | None,
    ) -> None:
        """CREATE TABLE for every declared table, bounded at the test's data when it is."""
        routed = test.error_source()
        for name, table in test.tables.items():
            bounded = None
            if name not in outs and test.completion is Completion.BOUNDED:
                inp = inputs.get(name)
                bounded = (
                    inp.offsets(table.partitions, include_closing=False)
                    if inp
                    else dict.fromkeys(range(table.partitions), 0)
                )

            def rejected(exc: StatementError, name: str = name) -> ConfigError:
                message = f"Flink rejected table {name!r}: {exc.message}"
                if spec is None:
                    return ConfigError(message, file=src.file, line=src.first_line)
                return spec.error(
                    message, ("flink_transformation_tests", test.name, "tables", name)
                )

            if name == routed:
                for sql in dlq_routing.routed_source(
                    test, topics, bounded, bootstrap=self.bootstrap, properties=self.props
                ):
                    self._run(sql, rejected)
                if dlq_routing.generated(test):
                    continue
            self._run(
                ddl.source_table(
                    name,
                    table,
                    topic=topics[name],
                    bootstrap=self.bootstrap,
                    bounded=bounded,
                    extra=_sink_options(test, topics[name]) if name in outs else None,
                    properties=self.props,
                ),
                rejected,
            )

    @staticmethod
    def _insert(
        test: FlinkTest, s: statements.Statement, src: SqlSource, topics: dict[str, str]
    ) -> OutputPlan:
        """The output an ``INSERT INTO`` writes: a table the spec declares."""
        assert s.target is not None
        if s.target not in test.tables:
            raise ConfigError(
                f"INSERT INTO {s.target}: declare the table under `tables:`",
                file=src.file,
                line=src.locate(s.line, None),
            )
        table = test.tables[s.target]
        mode = ddl.SinkMode.UPSERT if table.updating else ddl.SinkMode.APPEND
        cols = [Column(name=c, type=t) for c, t in table.schema_.items()]
        return OutputPlan(
            table=s.target, topic=topics[s.target], columns=cols, mode=mode, declared=True
        )

    def _ctas(
        self, test: FlinkTest, s: statements.Statement, src: SqlSource, topics: dict[str, str]
    ) -> OutputPlan:
        assert s.target is not None and s.query is not None
        view = ddl.quote("__ctt_" + s.target)
        prefix = f"CREATE TEMPORARY VIEW {view} AS "

        key = PlanCache.key(self._ddl, prefix + s.query, topics) if self.plans else ""
        self._run(prefix + s.query, _rejected_in(src, s, prefix=prefix))
        planned = self.plans.get(key) if self.plans else None
        if planned is None:
            planned = self._plan(view, _rejected_in(src, s, prefix=prefix, positioned=False))
            if self.plans:
                self.plans.put(key, planned)
        cols, mode_ops = planned.columns, planned.changelog
        declared = test.tables.get(s.target)
        sinked = sink_sql.sinked(test, s.target)
        if mode_ops == ["I"]:
            mode = ddl.SinkMode.APPEND
        elif declared is not None and declared.primary_key:
            mode = ddl.SinkMode.UPSERT
        elif sinked is not None:
            mode = sink_sql.updating_mode(test, src.file, src.locate(s.line, None))
        else:
            mode = ddl.SinkMode.RETRACT
        topic = topics[s.target]
        pk = declared.primary_key if declared else []
        if sinked is not None and declared is None:
            sink_sql.check_columns(test, cols, s, src.file)
            self._run(
                sink_sql.envelope_table(
                    test,
                    s.target,
                    topic=topic,
                    bootstrap=self.bootstrap,
                    mode=mode,
                    extra=_sink_options(test, topic),
                ),
                _rejected_in(src, s, positioned=False),
            )
            return OutputPlan(table=s.target, topic=topic, columns=cols, mode=mode, envelope=True)
        sink_cols = [
            (c.name, c.type.replace(" NOT NULL", "") if c.name not in pk else c.type) for c in cols
        ]
        if declared is None:
            self._run(
                ddl.sink_table(
                    s.target,
                    sink_cols,
                    topic=topic,
                    bootstrap=self.bootstrap,
                    mode=mode,
                    primary_key=pk,
                    extra=_sink_options(test, topic),
                    properties=self.props,
                ),
                _rejected_in(src, s, positioned=False),
            )
        return OutputPlan(
            table=s.target, topic=topic, columns=cols, mode=mode, declared=declared is not None
        )

    def _plan(self, view: str, at_query: Callable[[StatementError], ConfigError]) -> Planned:
        """The view's columns (DESCRIBE) and changelog operations (EXPLAIN CHANGELOG_MODE)."""
        described = self._run(f"DESCRIBE {view}", at_query)
        cols = [
            Column(
                name=str(r.fields[0]), type=str(r.fields[1]) + ("" if r.fields[2] else " NOT NULL")
            )
            for r in described
        ]
        explain = self._run(f"EXPLAIN CHANGELOG_MODE SELECT * FROM {view}", at_query)
        return Planned(
            columns=cols, changelog=ddl.changelog_mode(str(explain[0].fields[0]) if explain else "")
        )


def _sink_options(test: FlinkTest, topic: str) -> dict[str, str]:
    """What a recovery scenario's guarantee asks of the sink (transactions for exactly-once)."""
    return test.recovery.sink_options(topic) if test.recovery else {}

"""Turning a test's SQL into run-scoped tables and sinks in an engine session, and the job's INSERTs.

Works on any :class:`FlinkEngine`: the DDL it emits is the local connector's
(``ctt.sql.ddl``), the statements it runs go through ``engine.run``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ctt.config.spec import Completion, FlinkTest, LoadedTest
from ctt.engines.base import FlinkEngine, ResultRow, StatementError
from ctt.errors import ConfigError
from ctt.flinktest.inputs import TableInput
from ctt.kafka.naming import scoped
from ctt.observed.model import Column
from ctt.sql import ddl, render, statements
from ctt.sql.statements import Kind


class OutputPlan(BaseModel):
    table: str
    topic: str
    columns: list[Column]
    mode: ddl.SinkMode
    declared: bool = Field(False, description="declared under `tables:` by the user")


class SqlSource(BaseModel):
    """Where the SQL came from, to turn a statement's line into the user's file:line."""

    text: str
    file: str
    first_line: int  # line in `file` of the SQL's first line

    def locate(self, stmt_line: int, err_line: int | None) -> int:
        return self.first_line + stmt_line - 1 + ((err_line or 1) - 1)


def sql_source(lt: LoadedTest) -> SqlSource:
    test = lt.test
    if test.flink_sql is not None:
        text = render.render_text(
            test.flink_sql, test.params, file=str(lt.file), line_offset=lt.sql_line or 1
        )
        return SqlSource(text=text, file=str(lt.file), first_line=lt.sql_line or 1)
    assert test.sql_template is not None
    text, path = render.render_template(test.sql_template, test.params, spec_dir=lt.file.parent)
    return SqlSource(text=text, file=str(path), first_line=1)


def targets(stmts: list[statements.Statement]) -> list[str]:
    return [s.target for s in stmts if s.kind in (Kind.CTAS, Kind.INSERT) and s.target]


class SqlSetup:
    """Runs the DDL part of a test in the engine session and returns the job's INSERT statements."""

    def __init__(self, engine: FlinkEngine, *, run_id: str, bootstrap: str) -> None:
        self.engine = engine
        self.run_id = run_id
        self.bootstrap = bootstrap

    def _run(self, sql: str, src: SqlSource, stmt_line: int) -> list[ResultRow]:
        try:
            return self.engine.run(sql)
        except StatementError as exc:
            raise ConfigError(
                f"Flink rejected the SQL: {exc.message}",
                file=src.file,
                line=src.locate(stmt_line, exc.sql_line),
            ) from None

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
    ) -> tuple[list[str], list[OutputPlan], dict[str, str]]:
        """Run the DDL; return (insert statements, outputs, SET options). Topics must exist."""
        outs = set(targets(stmts))
        if not outs:
            raise ConfigError(
                "the SQL writes no table: use CREATE TABLE ... AS SELECT or INSERT INTO",
                file=src.file,
                line=src.first_line,
            )
        settings: dict[str, str] = dict(test.settings)
        for s in stmts:
            if s.kind is Kind.SET:
                k, v = statements.set_option(s)
                settings[k] = v
        for name, table in test.tables.items():
            bounded = None
            if name not in outs and test.completion is Completion.BOUNDED:
                inp = inputs.get(name)
                bounded = (
                    inp.offsets(table.partitions, include_closing=False)
                    if inp
                    else dict.fromkeys(range(table.partitions), 0)
                )
            self._run(
                ddl.source_table(
                    name, table, topic=topics[name], bootstrap=self.bootstrap, bounded=bounded
                ),
                src,
                1,
            )
        inserts: list[str] = []
        plans: list[OutputPlan] = []
        for s in stmts:
            if s.kind is Kind.SET:
                continue
            if s.kind is Kind.INSERT:
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
                plans.append(
                    OutputPlan(
                        table=s.target,
                        topic=topics[s.target],
                        columns=cols,
                        mode=mode,
                        declared=True,
                    )
                )
                inserts.append(s.sql)
            elif s.kind is Kind.CTAS:
                assert s.target is not None and s.query is not None
                plans.append(self._ctas(test, s, src, topics))
                inserts.append(
                    f"INSERT INTO {ddl.quote(s.target)} SELECT * FROM {ddl.quote('__ctt_' + s.target)}"
                )
            else:
                self._run(s.sql, src, s.line)
        return inserts, plans, settings

    def _ctas(
        self, test: FlinkTest, s: statements.Statement, src: SqlSource, topics: dict[str, str]
    ) -> OutputPlan:
        assert s.target is not None and s.query is not None
        view = ddl.quote("__ctt_" + s.target)
        # The view restates the query from its first line: count the CTAS lines before it.
        query_line = s.line + s.sql[: max(0, s.sql.find(s.query))].count("\n")
        self._run(f"CREATE TEMPORARY VIEW {view} AS {s.query}", src, query_line)
        described = self._run(f"DESCRIBE {view}", src, query_line)
        cols = [
            Column(
                name=str(r.fields[0]), type=str(r.fields[1]) + ("" if r.fields[2] else " NOT NULL")
            )
            for r in described
        ]
        explain = self._run(f"EXPLAIN CHANGELOG_MODE SELECT * FROM {view}", src, query_line)
        mode_ops = ddl.changelog_mode(str(explain[0].fields[0]) if explain else "")
        declared = test.tables.get(s.target)
        if mode_ops == ["I"]:
            mode = ddl.SinkMode.APPEND
        elif declared is not None and declared.primary_key:
            mode = ddl.SinkMode.UPSERT
        else:
            mode = ddl.SinkMode.RETRACT
        topic = topics[s.target]
        pk = declared.primary_key if declared else []
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
                ),
                src,
                query_line,
            )
        return OutputPlan(
            table=s.target, topic=topic, columns=cols, mode=mode, declared=declared is not None
        )

"""The runner's side of generated dead-letter routing: which table is routed, its DDL, the DLQ branch.

The SQL itself is :mod:`ctt.sql.dlq`; this module ties it to a test (its tables,
topics and ground truth) for :class:`ctt.flinktest.sql_setup.SqlSetup`, which runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ctt.config.error_handling import Routing
from ctt.config.spec import FlinkTest
from ctt.errors import ConfigError
from ctt.observed.model import Column
from ctt.sql import ddl, dlq


class DeadLetter(NamedTuple):
    table: str
    topic: str
    columns: list[Column]
    ddl: str | None  # the sink's CREATE TABLE; None when the spec declares the table
    insert: str  # the statement-set branch that fills it


def generated(test: FlinkTest) -> bool:
    """ctt routes this test's bad records (``error_handling: {routing: generated}``)."""
    eh = test.error_handling
    return eh is not None and eh.routing is Routing.GENERATED


def extra_outputs(test: FlinkTest) -> set[str]:
    """Tables ctt writes beside the test's SQL: the dead-letter table of generated routing."""
    eh = test.error_handling
    return {eh.dead_letter} if eh is not None and generated(test) else set()


def routed_source(
    test: FlinkTest,
    topics: Mapping[str, str],
    bounded: Mapping[int, int] | None,
    *,
    bootstrap: str,
    properties: Mapping[str, str] | None = None,
) -> list[str]:
    """Generated routing: the raw table with parsed columns and the view of its good records.
    The test's own routing: the raw table (``payload`` only) its SQL reads, beside the source."""
    eh, name = test.error_handling, test.error_source()
    assert eh is not None and name is not None
    table = test.tables[name]
    if not generated(test):
        return [
            dlq.payload_table(
                eh.raw_table or f"{name}_raw",
                topic=topics[name],
                bootstrap=bootstrap,
                bounded=bounded,
                properties=properties,
            )
        ]
    try:
        dlq.check_supported(name, table)
    except dlq.RoutingUnsupported as exc:
        raise ConfigError(str(exc)) from None
    enums = eh.allowed_values(test.generated_data()[name])
    return [
        dlq.raw_source(
            name,
            table,
            eh,
            enums,
            topic=topics[name],
            bootstrap=bootstrap,
            bounded=bounded,
            properties=properties,
        ),
        dlq.good_view(name, table),
    ]


def dead_letter(
    test: FlinkTest,
    topics: Mapping[str, str],
    *,
    bootstrap: str,
    properties: Mapping[str, str] | None = None,
) -> DeadLetter:
    """The dead-letter sink (unless declared) and the INSERT that sends bad records to it."""
    eh, name = test.error_handling, test.error_source()
    assert eh is not None and name is not None
    target = eh.dead_letter
    declared = test.tables.get(target)
    if declared is not None:
        columns = [Column(name=c, type=t) for c, t in declared.schema_.items()]
        sink = None
    else:
        columns = [Column(name=c, type=t) for c, t in dlq.DLQ_COLUMNS]
        sink = ddl.sink_table(
            target,
            list(dlq.DLQ_COLUMNS),
            topic=topics[target],
            bootstrap=bootstrap,
            mode=ddl.SinkMode.APPEND,
            properties=properties,
        )
    return DeadLetter(target, topics[target], columns, sink, dlq.dlq_insert(name, target))

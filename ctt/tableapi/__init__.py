"""Python Table API programs: run the user's program and hand the runner the SQL Flink made of it.

The program is a function ``transform(table_env) -> Table``. ctt declares the spec's tables in
a PyFlink ``TableEnvironment`` (the same DDL the runner uses), calls the function, and asks
Flink's own Table API for the SQL form of the returned Table's query operation
(``QueryOperation.asSerializableString()``, FLIP-393). That SQL is what the session cluster
runs, through the runner's usual path (CTAS into a run-scoped sink). This is also how
Confluent Cloud runs Table API programs: its plugin turns them into SQL statements
(docs/table-api.md). PyFlink is the optional extra ``ctt[table-api]``, imported only here.
"""

from __future__ import annotations

from ctt.tableapi.program import TableApiSql, program_sql

__all__ = ["TableApiSql", "program_sql"]

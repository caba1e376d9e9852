"""What planning a CTAS learns (its columns and changelog mode), kept by SQL text for the run.

A ``CREATE TABLE t AS SELECT`` needs two gateway round trips besides its DDL: ``DESCRIBE`` for
the sink's columns and ``EXPLAIN CHANGELOG_MODE`` for append, upsert or retract. Both depend only
on the query and the tables it reads, not on which topics those tables sit on or where their
bounded input ends; tests that share SQL (a spec file's tests over one template, a retried test)
plan alike. The key is the session's DDL so far plus the query, with the run-scoped topic names
and bounded offsets taken out, so a test whose tables differ in any other way plans afresh.
"""

from __future__ import annotations

import hashlib
import re
import threading

from pydantic import BaseModel

from ctt.observed.model import Column

_OFFSETS = re.compile(r"'scan\.bounded\.specific-offsets'\s*=\s*'[^']*'")


class Planned(BaseModel):
    """A CTAS query's result columns and the changelog operations its plan emits."""

    columns: list[Column]
    changelog: list[str]


class PlanCache:
    """Thread-safe: the runner's workers plan side by side."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: dict[str, Planned] = {}
        self.hits = 0

    @staticmethod
    def key(session_ddl: list[str], query: str, topics: dict[str, str]) -> str:
        """The cache key: DDL and query with topic names (longest first) and offsets neutralised."""
        text = "\n;\n".join([*session_ddl, query])
        for table, topic in sorted(topics.items(), key=lambda kv: -len(kv[1])):
            text = text.replace(topic, f"<topic of {table}>")
        text = _OFFSETS.sub("'scan.bounded.specific-offsets' = <offsets>", text)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> Planned | None:
        with self._lock:
            found = self._plans.get(key)
            if found is not None:
                self.hits += 1
            return found

    def put(self, key: str, planned: Planned) -> None:
        with self._lock:
            self._plans[key] = planned

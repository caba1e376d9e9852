"""Reports of a failed job that a user can act on, and the runner's side of expected failures.

A report carries Flink's root cause (the deepest exception, :mod:`ctt.engines.flink_failures`),
the operator it failed in, the spec line of the statement behind that operator, the number of
restarts, and the offending record: the ground truth's poison record when the test mixed
one in (ctt cannot know which record a failure came from otherwise). Records are cut to
:data:`MAX_RECORD_CHARS` and fields whose names look secret are masked.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ctt.config.spec import FlinkTest
from ctt.engines.base import FailureCause
from ctt.observed.model import InputRecord, OutputRow

MAX_RECORD_CHARS = 300
MAX_DLQ_ROWS = 50
_SECRET = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|auth|private", re.I)
_MASK = "***"


def expects_failure(test: FlinkTest) -> bool:
    """The spec asks for ``job_fails_as_expected``: a failed job is what it tests."""
    return any("job_fails_as_expected" in item for item in test.validation)


def redact(value: Any) -> Any:
    """``value`` with every field whose name looks like a secret masked, nested ones too."""
    if isinstance(value, dict):
        return {k: _MASK if _SECRET.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def cut(text: str, size: int = MAX_RECORD_CHARS) -> str:
    return text if len(text) <= size else f"{text[:size]}... ({len(text)} chars)"


def show_record(rec: InputRecord) -> str:
    """One record for a report: its fields (secrets masked) or its raw text, cut."""
    if rec.row is not None:
        text = json.dumps(redact(rec.row), default=str, ensure_ascii=False)
    else:
        text = rec.payload or ""
    return cut(text)


def offending(records: Iterable[InputRecord]) -> list[str]:
    """The poison records the ground truth marks, as shown in a report."""
    return [
        f"{r.table}[partition {r.partition}] {show_record(r)}"
        for r in records
        if r.malformed == "poison"
    ]


def failure_info(
    cause: FailureCause, *, where: str | None, restarts: int | None, records: Iterable[InputRecord]
) -> dict[str, Any]:
    """What ``job_fails_as_expected`` and the report read (``ValidationContext.extra``)."""
    bad = offending(records)
    lines = [
        f"root cause: {cause.exception}: {cause.message}",
        f"operator: {cause.operator or 'unknown'}",
        f"SQL: {where or 'unknown'}",
        f"restarts: {'unknown' if restarts is None else restarts}",
        *(f"offending record: {b}" for b in bad),
    ]
    return {
        "summary": cause.summary(),
        "exception": cause.exception,
        "message": cause.message,
        "operator": cause.operator,
        "trace": cause.trace,
        "where": where,
        "restarts": restarts,
        "offending": bad,
        "report": "\n".join(lines),
    }


def suffix(records: Iterable[InputRecord]) -> str:
    """Appended to a failed job's message: the offending record when the ground truth has a
    poison record, else the malformed records sent (one of them is the likely cause)."""
    recs = list(records)
    bad = offending(recs)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return f"; offending record (ground truth): {bad[0]}{more}"
    malformed = [r for r in recs if r.malformed is not None]
    if not malformed:
        return ""
    kinds = Counter(r.malformed for r in malformed)
    listed = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    return f"; malformed records sent (ground truth): {listed}, e.g. {show_record(malformed[0])}"


def dlq_rows(rows: Iterable[OutputRow]) -> list[dict[str, Any]]:
    """The DLQ rows a report lists: at most :data:`MAX_DLQ_ROWS`, payloads cut, secrets masked."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if len(out) == MAX_DLQ_ROWS:
            break
        row = dict(r.row)
        if isinstance(row.get("payload"), str):
            payload = row["payload"]
            with contextlib.suppress(ValueError):
                payload = json.dumps(redact(json.loads(payload)), ensure_ascii=False)
            row["payload"] = cut(payload, 160)
        out.append(redact(row))
    return out

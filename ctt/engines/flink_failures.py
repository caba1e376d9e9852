"""Why a Flink job failed, from its exception history: the deepest cause, not the wrapper.

Flink wraps a task's exception in scheduler exceptions ("Recovery is suppressed
by ..."); the stack trace text lists the chain as ``Caused by:`` lines, and the
last one is what the user's SQL or data did. The JVM's helpful NullPointerException
text ("Cannot invoke ... because ... is null") does not survive Flink's exception
serialisation, so for a bare NPE the TaskManager log is read (a bounded tail).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ctt.engines.base import FailureCause, JobFailure

_CAUSE = re.compile(r"^(?:Caused by: )?(?P<cls>[A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?:: (?P<msg>.*))?$")
_EXECUTION = re.compile(r" - execution #\d+$")
_LOG_TAIL_BYTES = 4 * 1024 * 1024
# Deepest causes that say the stack broke, not the test: lost TaskManagers, unreachable Kafka.
_INFRA = frozenset(
    {
        "NoResourceAvailableException",
        "TaskManagerLostException",
        "TimeoutException",
        "ConnectException",
        "UnknownHostException",
        "PartitionNotFoundException",
        "RemoteTransportException",
        "LocalTransportException",
        "HeartbeatTimeoutException",
        "BrokerNotAvailableException",
        "NetworkException",
        "OutOfMemoryError",
        "IOException",
    }
)
NO_CAPACITY = "NoResourceAvailableException"


def cause_chain(stacktrace: str) -> list[tuple[str, str]]:
    """(class, message) of the exception and each ``Caused by``, outermost first."""
    chain: list[tuple[str, str]] = []
    lines = stacktrace.splitlines()
    for i, line in enumerate(lines):
        if i and not line.startswith("Caused by: "):
            continue
        m = _CAUSE.match(line.strip())
        if m:
            chain.append((m["cls"], (m["msg"] or "").strip()))
    return chain


def _short(cls: str) -> str:
    return cls.rsplit(".", 1)[-1]


def task_name(raw: str | None) -> str | None:
    """``IntervalJoin[22] -> ... (1/1) - execution #2`` without the attempt suffix."""
    return _EXECUTION.sub("", raw) if raw else None


def deepest(entries: list[dict[str, Any]]) -> FailureCause | None:
    """The cause to report from ``/jobs/:id/exceptions`` entries (newest first).

    The newest entry is often the scheduler's "recovery is suppressed" wrapper
    without a task; its concurrent exceptions and the older entries name the
    task that failed. Prefer an entry with a task name; report its deepest cause.
    """
    candidates: list[dict[str, Any]] = []
    for entry in entries:
        candidates.append(entry)
        candidates.extend(entry.get("concurrentExceptions") or [])
    if not candidates:
        return None
    chosen = next((e for e in candidates if e.get("taskName")), candidates[0])
    chain = cause_chain(str(chosen.get("stacktrace") or ""))
    if not chain:
        name = str(chosen.get("exceptionName") or "unknown exception")
        chain = [(name, "")]
    cls, msg = chain[-1]
    return FailureCause(
        exception=_short(cls),
        message=msg or "(no message)",
        operator=task_name(chosen.get("taskName")),
        infrastructure=any(_short(c) in _INFRA for c, _ in chain[-1:]),
        trace="\n".join(f"{_short(c)}: {m}" if m else _short(c) for c, m in chain),
    )


def history(entries: list[dict[str, Any]]) -> list[JobFailure]:
    """Every failure of ``/jobs/:id/exceptions`` entries (newest first), oldest first.

    Each entry is one failure that Flink handled (restarted the job, or gave up on it), stamped
    with the JobManager's clock (``timestamp``, epoch milliseconds).
    """
    out = [
        JobFailure(at=float(e.get("timestamp") or 0) / 1000, cause=deepest([e])) for e in entries
    ]
    return sorted(out, key=lambda f: f.at)


def no_capacity(entries: list[dict[str, Any]]) -> bool:
    """The job failed because it got no slot (anywhere in any cause chain)."""
    for entry in entries:
        for e in [entry, *(entry.get("concurrentExceptions") or [])]:
            text = str(e.get("stacktrace") or "") + str(e.get("exceptionName") or "")
            if any(_short(c) == NO_CAPACITY for c, _ in cause_chain(text)) or NO_CAPACITY in str(
                e.get("exceptionName")
            ):
                return True
    return False


def helpful_message(log: Path, cause: FailureCause) -> str | None:
    """The JVM's message for ``cause`` from the last ``_LOG_TAIL_BYTES`` of a TaskManager log.

    Flink logs "<task>#<attempt> (...) switched from RUNNING to FAILED" and then
    the exception with its full message: the first such exception after a line
    naming the task.
    """
    try:
        with log.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - _LOG_TAIL_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    found: str | None = None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if cause.operator and cause.operator not in line:
            continue
        for nxt in lines[i + 1 : i + 4]:
            head, sep, msg = nxt.partition(": ")
            if sep and " " not in head and _short(head) == cause.exception:
                found = msg.strip()  # keep the last: the newest failure
                break
    return found

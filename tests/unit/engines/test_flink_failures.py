"""The deepest cause of a failed Flink job, from its exception history and the TaskManager log."""

from pathlib import Path

from ctt.engines.flink_failures import cause_chain, deepest, helpful_message, no_capacity

TASK = "IntervalJoin[22] -> Calc[23] -> order_shipping[24]: Writer (1/1)"
NPE = "java.lang.NullPointerException\n\tat org.apache.flink.table.runtime.X.processElement(X.java:50)"
WRAPPER = (
    "org.apache.flink.runtime.JobException: Recovery is suppressed by FixedDelayRestartBackoff\n"
    "\tat org.apache.flink.runtime.A.b(A.java:1)\n"
    "Caused by: java.lang.NullPointerException\n\tat x.Y.z(Y.java:2)"
)
HISTORY = [
    {
        "exceptionName": "org.apache.flink.runtime.JobException",
        "stacktrace": WRAPPER,
        "concurrentExceptions": [
            {"exceptionName": "java.lang.NullPointerException", "stacktrace": NPE,
             "taskName": TASK + " - execution #2"}
        ],
    }
]


def test_chain_is_outermost_first() -> None:
    assert [c for c, _ in cause_chain(WRAPPER)] == [
        "org.apache.flink.runtime.JobException",
        "java.lang.NullPointerException",
    ]


def test_deepest_cause_names_the_task_not_the_wrapper() -> None:
    cause = deepest(HISTORY)
    assert cause is not None
    assert cause.exception == "NullPointerException"
    assert cause.operator == TASK
    assert not cause.infrastructure


def test_nested_causes_report_the_last() -> None:
    trace = ("org.apache.flink.runtime.X: wrap\nCaused by: java.io.UncheckedIOException: io\n"
             "Caused by: java.lang.ArithmeticException: / by zero")
    cause = deepest([{"stacktrace": trace, "taskName": "Calc[3] (1/1) - execution #0"}])
    assert cause is not None and cause.summary() == "ArithmeticException in Calc[3] (1/1): / by zero"


def test_lost_connections_are_infrastructure() -> None:
    trace = "x.Y: wrap\nCaused by: java.net.ConnectException: Connection refused"
    cause = deepest([{"stacktrace": trace}])
    assert cause is not None and cause.infrastructure


def test_no_slot_is_recognised_anywhere_in_the_chain() -> None:
    trace = ("org.apache.flink.runtime.JobException: Recovery is suppressed\nCaused by: "
             "org.apache.flink.runtime.jobmanager.scheduler.NoResourceAvailableException: no slot")
    assert no_capacity([{"stacktrace": trace}])
    assert not no_capacity(HISTORY)


def test_helpful_npe_text_comes_from_the_taskmanager_log(tmp_path: Path) -> None:
    log = tmp_path / "taskmanager.log"
    msg = ('Cannot invoke "TimestampData.getMillisecond()" because the return value of '
           '"RowData.getTimestamp(int, int)" is null')
    log.write_text(
        "2026 INFO other\n"
        f"2026 WARN org.apache.flink.runtime.taskmanager.Task [] - {TASK}#2 (abc) switched "
        "from RUNNING to FAILED with failure cause:\n"
        f"java.lang.NullPointerException: {msg}\n\tat x.Y.z(Y.java:1)\n"
    )
    cause = deepest(HISTORY)
    assert cause is not None and helpful_message(log, cause) == msg
    assert helpful_message(tmp_path / "missing.log", cause) is None

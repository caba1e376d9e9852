"""Retry-After parsing, backoff, redaction, and pushgateway grouping-key paths."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from ctt.ci.http import RetryPolicy, redact, retry_after_seconds
from ctt.ci.telemetry import pushgateway_path
from tests.contract.ci_servers import PushgatewayServer

NOW = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 02 Dec 2026 22:00:30 GMT", now=NOW) == 30.0
    assert retry_after_seconds("Wed, 02 Dec 2026 21:00:00 GMT", now=NOW) == 0.0  # past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@given(st.text(max_size=40))
def test_any_retry_after_header_is_a_number_or_none(value: str) -> None:
    got = retry_after_seconds(value, now=NOW)
    assert got is None or got >= 0


def test_backoff_doubles_up_to_the_cap_and_obeys_the_server() -> None:
    policy = RetryPolicy(base=0.5, max_wait=3.0)
    assert [policy.wait(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.wait(1, 2.5) == 2.5
    assert policy.wait(1, 500.0) == 3.0


def test_redact_hides_every_registered_secret() -> None:
    text = "POST https://hooks.slack.com/services/T/B/abcdef failed; token glpat-xyz9"
    out = redact(text, ["https://hooks.slack.com/services/T/B/abcdef", "glpat-xyz9", ""])
    assert "abcdef" not in out and "glpat-xyz9" not in out


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(lambda k: k != "job"),
        st.text(max_size=20),
        max_size=4,
    ),
    st.text(min_size=1, max_size=20),
)
def test_pushgateway_paths_decode_to_the_grouping_key(grouping: dict[str, str], job: str) -> None:
    path = pushgateway_path(job, grouping)
    assert PushgatewayServer.grouping(path) == {"job": job, **grouping}

"""``ctt cleanup``: a wrong --older-than is a usage error before anything is touched."""

from __future__ import annotations

import pytest

from ctt.commands.cleanup import cleanup
from ctt.console import Output
from ctt.errors import UsageError


def test_bad_age_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--older-than"):
        cleanup(Output(quiet=True), older_than="a while", prefix="ctt", dry_run=True)


def test_a_run_id_that_is_not_one_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a ctt run id"):
        cleanup(Output(quiet=True), older_than="1h", prefix="ctt", dry_run=True, run_id="ctt")

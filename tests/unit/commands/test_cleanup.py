"""``ctt cleanup``: a wrong --older-than is a usage error before anything is touched."""

from __future__ import annotations

import pytest

from ctt.commands.cleanup import cleanup
from ctt.console import Output
from ctt.errors import UsageError


def test_bad_age_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--older-than"):
        cleanup(Output(quiet=True), older_than="a while", prefix="ctt", dry_run=True)

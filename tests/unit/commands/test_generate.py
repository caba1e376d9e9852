"""``ctt generate``: text options become typed values, or usage errors that say what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctt.commands.generate import parse_cli_values, run_generate
from ctt.config.datagen import Format
from ctt.console import Output
from ctt.errors import UsageError


def test_cli_values() -> None:
    assert parse_cli_values(duration="60s", data_format="avro") == {
        "duration": 60.0,
        "data_format": Format.AVRO,
    }
    assert parse_cli_values(duration=None, data_format=None) == {
        "duration": None,
        "data_format": None,
    }
    with pytest.raises(UsageError, match="--duration"):
        parse_cli_values(duration="a minute", data_format=None)
    with pytest.raises(UsageError, match="--format must be one of: json, avro"):
        parse_cli_values(duration=None, data_format="xml")


@pytest.mark.parametrize(
    ("spec", "table", "message"),
    [(Path("s.yaml"), None, "--spec needs --table"), (None, "orders", "--table needs --spec")],
)
def test_spec_and_table_go_together(spec: Path | None, table: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        run_generate(
            Output(quiet=True),
            spec=spec,
            table=table,
            test=None,
            topic=None,
            rate=None,
            count=None,
            duration=None,
            seed=None,
            ground_truth=None,
            bootstrap_servers=None,
            data_format=None,
        )

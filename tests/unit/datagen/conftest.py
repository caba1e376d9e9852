from __future__ import annotations

import pytest

from ctt.config.datagen import TableShape


@pytest.fixture
def events() -> TableShape:
    """The seed's user events: key, event time with a 5 s watermark delay, 3 partitions."""
    return TableShape(
        name="user_events",
        columns=[
            ("user_id", "BIGINT"),
            ("event_type", "STRING"),
            ("event_timestamp", "TIMESTAMP(3)"),
            ("payload", "STRING"),
            ("amount", "DECIMAL(10, 2)"),
            ("user_name", "STRING"),
            ("age", "INT NOT NULL"),
            ("tags", "ARRAY<STRING>"),
            ("address", "ROW<city STRING, zip INT>"),
        ],
        key_columns=["user_id"],
        event_time="event_timestamp",
        watermark_delay_s=5.0,
        partitions=3,
    )

"""Table API programs for specs/table_api/user_programs.yaml.

Each function receives the TableEnvironment (the spec's tables already declared in it) and
returns the result Table; ctt writes it to the spec's ``output`` table. The same functions run
on Confluent Cloud with Confluent's Table API plugin (docs/table-api.md).
"""

from pyflink.table import Table, TableEnvironment
from pyflink.table.expressions import col, if_then_else, lit
from pyflink.table.window import Tumble


def classify_users(env: TableEnvironment) -> Table:
    """The seed's basic_field_transformation, written with the Table API."""
    users = env.from_path("source_users")
    return users.select(
        col("user_id"),
        col("user_name").upper_case.alias("user_name_upper"),
        col("event_timestamp"),
        if_then_else(col("age") >= 18, "adult", "minor").alias("age_category"),
    )


def hourly_activity(env: TableEnvironment) -> Table:
    """The seed's windowed_aggregation (events and purchases per user and hour), as a Table API
    tumbling window: event time, so the watermark decides what is late."""
    events = env.from_path("user_events")
    return (
        events.window(Tumble.over(lit(1).hours).on(col("event_timestamp")).alias("w"))
        .group_by(col("user_id"), col("w"))
        .select(
            col("user_id"),
            col("w").start.alias("window_start"),
            col("user_id").count.alias("event_count"),
            if_then_else(col("event_type") == "purchase", 1, 0).sum.alias("purchase_count"),
        )
    )

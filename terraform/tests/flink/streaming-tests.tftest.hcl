# Provider-free checks of the names and ids a streaming test run feeds the modules.

variables {
  sql_template   = "tests/flink/sql/windowed-tvf.sql"
  environment_id = "env-abc123"
  cluster_id     = "lkc-xyz789"
  template_vars = {
    source_topic = "s"
    target_topic = "t"
  }
}

run "a_valid_dotted_name_passes" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-20260101-a1b2.windowed-aggregation"
  }
  assert {
    condition     = output.statement_name == "ctt-20260101-a1b2.windowed-aggregation"
    error_message = "the name must pass through unchanged"
  }
}

run "upper_case_name_is_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "CTT_Run1"
  }
  expect_failures = [var.statement_name]
}

run "name_over_100_characters_is_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-${join("", [for i in range(100) : "a"])}"
  }
  expect_failures = [var.statement_name]
}

run "name_ending_in_a_dash_is_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-run1-"
  }
  expect_failures = [var.statement_name]
}

run "ids_must_be_confluent_ids" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-run1"
    environment_id = "production"
    cluster_id     = "my-cluster"
  }
  expect_failures = [var.environment_id, var.cluster_id]
}

# Provider-free checks of the statement the flink-job module would submit:
# `cd terraform && terraform init -test-directory=tests/flink && terraform test -test-directory=tests/flink`

variables {
  environment_id = "env-abc123"
  cluster_id     = "lkc-xyz789"
  template_vars = {
    source_topic = "ctt-r1-user-events"
    target_topic = "ctt-r1-user-events-transformed"
  }
}

run "seed_user_transformation_renders_for_confluent" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-user-transformation"
    sql_template   = "../flink/modules/flink-job/flink-sql/user-transformation.sql"
  }

  assert {
    condition     = strcontains(output.statement, "FROM `ctt-r1-user-events`")
    error_message = "source_topic was not rendered into the statement"
  }
  assert {
    condition     = startswith(output.statement, "-- The seed's") && strcontains(output.statement, "CREATE TABLE `ctt-r1-user-events-transformed` AS")
    error_message = "target_topic was not rendered as the CTAS target"
  }
  assert {
    condition = output.properties == {
      "sql.current-catalog"  = "env-abc123"
      "sql.current-database" = "lkc-xyz789"
    }
    error_message = "catalog/database must come from environment_id/cluster_id"
  }
  assert {
    condition     = length(output.problems) == 0
    error_message = "the shipped template must be valid Confluent SQL"
  }
}

run "window_tvf_passes" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-windowed-aggregation"
    sql_template   = "tests/flink/sql/windowed-tvf.sql"
    properties     = { "sql.state-ttl" = "1 h" }
  }

  assert {
    condition     = output.properties["sql.state-ttl"] == "1 h" && length(output.properties) == 3
    error_message = "extra properties must be merged"
  }
}

run "seed_legacy_group_window_is_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-windowed-legacy"
    sql_template   = "tests/flink/sql/windowed-legacy.sql"
  }
  expect_failures = [output.statement]
}

run "seed_proctime_is_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-proctime"
    sql_template   = "tests/flink/sql/user-events-proctime.sql"
  }
  expect_failures = [output.statement]
}

run "set_and_second_statement_are_refused" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-two"
    sql_template   = "tests/flink/sql/two-statements.sql"
  }
  expect_failures = [output.statement]
}

run "strings_and_comments_are_not_code" {
  command = plan
  module {
    source = "../flink/modules/statement-sql"
  }
  variables {
    statement_name = "ctt-r1-strings"
    sql_template   = "tests/flink/sql/strings-and-comments.sql"
  }
  assert {
    condition     = length(output.problems) == 0
    error_message = "literals and comments must not trigger dialect errors"
  }
}

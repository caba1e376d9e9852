# Offline: the spec module declares no provider, so `terraform init` needs no registry.

variables {
  service_account_id = "sa-123abc"
  name_prefix        = "ctt-r1-"
  connectors = {
    "results-to-postgres" = {
      class  = "PostgresSink"
      topics = ["transformed-data", "aggregated-results"]
      tasks  = 2
      config = {
        "connection.host"   = "db.example.com"
        "input.data.format" = "JSON_SR"
        "auto.create"       = "true"
      }
    }
    "sample-events" = {
      class        = "DatagenSource"
      output_topic = "ctt-r1-source"
      config       = { "quickstart" = "USERS", "output.data.format" = "JSON_SR" }
    }
  }
  secrets = {
    "results-to-postgres" = { "connection.password" = "hunter2" }
  }
}

run "sink_config_is_complete" {
  command = plan

  assert {
    condition = output.connectors["results-to-postgres"].config_nonsensitive == tomap({
      "connector.class"          = "PostgresSink"
      "name"                     = "ctt-r1-results-to-postgres"
      "kafka.auth.mode"          = "SERVICE_ACCOUNT"
      "kafka.service.account.id" = "sa-123abc"
      "tasks.max"                = "2"
      "topics"                   = "transformed-data,aggregated-results"
      "errors.tolerance"         = "all"
      "connection.host"          = "db.example.com"
      "input.data.format"        = "JSON_SR"
      "auto.create"              = "true"
    })
    error_message = "the sink's config: class, name, service account auth, tasks, topics, DLQ tolerance, user config"
  }
  assert {
    condition     = output.connectors["results-to-postgres"].status == "RUNNING"
    error_message = "connectors run by default"
  }
}

run "source_writes_to_its_output_topic" {
  command = plan

  assert {
    condition     = output.connectors["sample-events"].config_nonsensitive["kafka.topic"] == "ctt-r1-source" && !contains(keys(output.connectors["sample-events"].config_nonsensitive), "topics")
    error_message = "a source has kafka.topic and no topics"
  }
  assert {
    condition     = !contains(keys(output.connectors["sample-events"].config_nonsensitive), "errors.tolerance")
    error_message = "only sinks get the DLQ default"
  }
}

run "secrets_stay_out_of_the_plain_config" {
  command = plan

  assert {
    condition     = length(output.secret_keys) == 1 && output.secret_keys["results-to-postgres"] == tolist(["connection.password"])
    error_message = "secret keys are reported by name"
  }
  assert {
    condition     = alltrue([for c in values(output.connectors) : !contains(values(c.config_nonsensitive), "hunter2")])
    error_message = "a secret value leaked into config_nonsensitive"
  }
}

run "errors_tolerance_none_is_kept" {
  command = plan
  variables {
    connectors = {
      strict = { class = "PostgresSink", topics = ["t"], config = { "errors.tolerance" = "none" } }
    }
    secrets = {}
  }
  assert {
    condition     = output.connectors["strict"].config_nonsensitive["errors.tolerance"] == "none"
    error_message = "the user's errors.tolerance wins over the default"
  }
}

run "password_in_plain_config_is_refused" {
  command = plan
  variables {
    connectors = {
      leaky = { class = "PostgresSink", topics = ["t"], config = { "connection.password" = "x" } }
    }
    secrets = {}
  }
  expect_failures = [var.connectors]
}

run "sink_without_topics_is_refused" {
  command = plan
  variables {
    connectors = { s = { class = "PostgresSink" } }
    secrets    = {}
  }
  expect_failures = [var.connectors]
}

run "source_without_output_topic_is_refused" {
  command = plan
  variables {
    connectors = { s = { class = "DatagenSource" } }
    secrets    = {}
  }
  expect_failures = [var.connectors]
}

run "zero_tasks_and_unknown_status_are_refused" {
  command = plan
  variables {
    connectors = { s = { class = "PostgresSink", topics = ["t"], tasks = 0, status = "STOPPED" } }
    secrets    = {}
  }
  expect_failures = [var.connectors]
}

run "secrets_for_an_unknown_connector_are_refused" {
  command = plan
  variables {
    secrets = { "typo" = { "connection.password" = "x" } }
  }
  expect_failures = [output.connectors]
}

run "bad_service_account_is_refused" {
  command = plan
  variables {
    service_account_id = "flink-test-sa"
  }
  expect_failures = [var.service_account_id]
}

# Offline: the spec module declares no provider, so `terraform init` needs no registry.

variables {
  topics = {
    "test-errors"        = { partitions = 3 }
    "dead-letter-queue"  = { partitions = 1, config = { "retention.ms" = "604800000" } }
    "transformed-data"   = { partitions = 6 }
    "aggregated-results" = { partitions = 3, config = { "cleanup.policy" = "compact" } }
  }
}

run "seed_topics_keep_their_names_and_partitions" {
  command = plan

  assert {
    condition = { for k, t in output.topics : t.topic_name => t.partitions } == {
      "test-errors"        = 3
      "dead-letter-queue"  = 1
      "transformed-data"   = 6
      "aggregated-results" = 3
    }
    error_message = "the seed's four topics with 3, 1, 6 and 3 partitions"
  }
}

run "prefix_and_default_config_are_applied" {
  command = plan
  variables {
    name_prefix    = "ctt-r1-"
    default_config = { "retention.ms" = "3600000", "cleanup.policy" = "delete" }
  }

  assert {
    condition     = output.topics["test-errors"].topic_name == "ctt-r1-test-errors"
    error_message = "name_prefix must prefix every topic"
  }
  assert {
    condition     = output.topics["dead-letter-queue"].config["retention.ms"] == "604800000"
    error_message = "a topic's own config wins over default_config"
  }
  assert {
    condition     = output.topics["aggregated-results"].config == tomap({ "retention.ms" = "3600000", "cleanup.policy" = "compact" })
    error_message = "default_config must be merged under the topic's config"
  }
}

run "topic_without_settings_gets_one_partition" {
  command = plan
  variables {
    topics = { "plain" = {} }
  }

  assert {
    condition     = output.topics["plain"].partitions == 1 && length(output.topics["plain"].config) == 0
    error_message = "defaults: one partition, no config"
  }
}

run "bad_topic_name_is_refused" {
  command = plan
  variables {
    topics = { "no spaces/allowed" = { partitions = 1 } }
  }
  expect_failures = [var.topics]
}

run "zero_partitions_are_refused" {
  command = plan
  variables {
    topics = { "t" = { partitions = 0 } }
  }
  expect_failures = [var.topics]
}

run "fractional_partitions_are_refused" {
  command = plan
  variables {
    topics = { "t" = { partitions = 1.5 } }
  }
  expect_failures = [var.topics]
}

run "unknown_cleanup_policy_is_refused" {
  command = plan
  variables {
    topics = { "t" = { config = { "cleanup.policy" = "forever" } } }
  }
  expect_failures = [var.topics]
}

run "non_numeric_retention_is_refused" {
  command = plan
  variables {
    topics = { "t" = { config = { "retention.ms" = "7d" } } }
  }
  expect_failures = [var.topics]
}

run "prefix_making_a_name_too_long_is_refused" {
  command = plan
  variables {
    name_prefix = join("", [for i in range(100) : "p"])
    topics      = { (join("", [for i in range(200) : "t"])) = {} }
  }
  expect_failures = [output.topics]
}

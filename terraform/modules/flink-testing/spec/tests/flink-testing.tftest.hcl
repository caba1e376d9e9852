# Offline: the spec module and the modules it uses (../../topics/spec,
# ../../rbac/spec, flink/modules/statement-sql) declare no provider.

variables {
  organization_id = "00000000-0000-0000-0000-000000000c77"
  environment_id  = "env-abc123"
  cluster_id      = "lkc-xyz789"
}

run "seed_defaults" {
  command = plan

  assert {
    condition = { for k, t in output.topics : t.topic_name => t.partitions } == {
      "test-errors"        = 3
      "dead-letter-queue"  = 1
      "transformed-data"   = 6
      "aggregated-results" = 3
    }
    error_message = "the seed's additional_topics with their partitions"
  }
  assert {
    condition     = output.service_account.display_name == "flink-test-sa" && output.service_account.description == "Service account for Flink testing"
    error_message = "the seed's service account"
  }
  assert {
    condition     = output.compute_pool == { create = true, display_name = "automation-test-pool", cloud = "AWS", region = "us-west-2", max_cfu = 10 }
    error_message = "the seed's compute pool: automation-test-pool, AWS us-west-2, 10 CFU"
  }
  assert {
    condition     = output.prefix == "" && length(output.statements) == 0
    error_message = "no run id: the seed's names, no statements"
  }
}

run "service_account_is_least_privileged" {
  command = plan

  assert {
    condition     = output.role_bindings["flink"].role_name == "FlinkDeveloper" && output.role_bindings["flink"].crn_pattern == "crn://confluent.cloud/organization=00000000-0000-0000-0000-000000000c77/environment=env-abc123"
    error_message = "FlinkDeveloper on the environment, to run statements"
  }
  assert {
    condition     = endswith(output.role_bindings["write-dead-letter-queue"].crn_pattern, "/kafka=lkc-xyz789/topic=dead-letter-queue") && output.role_bindings["write-dead-letter-queue"].role_name == "DeveloperWrite"
    error_message = "write access to each of its own topics by exact name"
  }
  assert {
    condition     = endswith(output.role_bindings["manage-prefix-ctt-"].crn_pattern, "/topic=ctt-*") && endswith(output.role_bindings["group-prefix-ctt-"].crn_pattern, "/group=ctt-*")
    error_message = "ctt's run-scoped topics and groups by prefix"
  }
  assert {
    condition     = length([for b in values(output.role_bindings) : b if contains(["EnvironmentAdmin", "CloudClusterAdmin", "FlinkAdmin", "ResourceOwner", "OrganizationAdmin"], b.role_name)]) == 0
    error_message = "no admin role"
  }
  assert {
    condition     = length(output.role_bindings) == 1 + 2 * 4 + 4
    error_message = "1 Flink binding, read+write per topic, 4 per prefix"
  }
}

run "run_id_scopes_every_name" {
  command = plan
  variables {
    run_id = "20261202-a1b2"
  }

  assert {
    condition     = alltrue([for t in values(output.topics) : startswith(t.topic_name, "ctt-20261202-a1b2-")])
    error_message = "every topic gets the run prefix"
  }
  assert {
    condition     = output.service_account.display_name == "flink-test-sa-20261202-a1b2" && output.compute_pool.display_name == "ctt-20261202-a1b2-automation-test-pool"
    error_message = "service account and pool are per run"
  }
  assert {
    condition     = endswith(output.role_bindings["read-test-errors"].crn_pattern, "/topic=ctt-20261202-a1b2-test-errors")
    error_message = "bindings follow the prefixed topic names"
  }
}

run "existing_pool_is_reused" {
  command = plan
  variables {
    compute_pool_id = "lfcp-00001"
  }
  assert {
    condition     = output.compute_pool.create == false
    error_message = "compute_pool_id: no pool is created"
  }
}

run "statements_are_named_and_checked" {
  command = plan
  variables {
    run_id = "r1"
    statements = {
      "user-transformation" = {
        sql_template  = "../../../../flink/modules/flink-job/flink-sql/user-transformation.sql"
        template_vars = { source_topic = "ctt-r1-user-events", target_topic = "ctt-r1-transformed-data" }
      }
    }
  }

  assert {
    condition     = output.statements["user-transformation"].statement_name == "ctt-r1-user-transformation"
    error_message = "statement named <prefix><key>"
  }
  assert {
    condition     = strcontains(output.statements["user-transformation"].statement, "FROM `ctt-r1-user-events`")
    error_message = "template rendered"
  }
  assert {
    condition     = output.statements["user-transformation"].properties["sql.current-database"] == "lkc-xyz789"
    error_message = "statements run against the cluster"
  }
}

# A statement Confluent Cloud rejects (legacy GROUP BY TUMBLE, PROCTIME()) fails inside
# flink/modules/statement-sql, which terraform/tests/flink tests directly (expect_failures
# cannot name a child module's output).

run "bad_settings_are_refused" {
  command = plan
  variables {
    run_id          = "Run_1"
    cloud           = "ibm"
    compute_pool    = { max_cfu = 7 }
    compute_pool_id = "pool-1"
  }
  expect_failures = [var.run_id, var.cloud, var.compute_pool, var.compute_pool_id]
}

run "bad_ids_are_refused" {
  command = plan
  variables {
    organization_id = "acme"
    environment_id  = "production"
    cluster_id      = "my-cluster"
  }
  expect_failures = [var.organization_id, var.environment_id, var.cluster_id]
}

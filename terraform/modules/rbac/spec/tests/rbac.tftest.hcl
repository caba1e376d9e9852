# Offline: the spec module declares no provider, so `terraform init` needs no registry.

variables {
  organization_id = "00000000-0000-0000-0000-000000000c77"
  environment_id  = "env-abc123"
  cluster_id      = "lkc-xyz789"
  service_account = {
    display_name = "flink-test-sa"
    description  = "Service account for Flink testing"
  }
  role_bindings = {
    flink         = { role = "FlinkDeveloper", scope = "environment" }
    read_errors   = { role = "DeveloperRead", scope = "topic", resource = "test-errors" }
    write_ctt     = { role = "DeveloperWrite", scope = "topic", resource = "ctt-*" }
    consumer_ctt  = { role = "DeveloperRead", scope = "group", resource = "ctt-*" }
    cluster_stats = { role = "MetricsViewer", scope = "cluster" }
  }
}

run "seed_service_account_and_crn_patterns" {
  command = plan

  assert {
    condition     = output.service_account.display_name == "flink-test-sa" && output.service_account.description == "Service account for Flink testing"
    error_message = "the seed's service account"
  }
  assert {
    condition     = output.role_bindings["flink"].crn_pattern == "crn://confluent.cloud/organization=00000000-0000-0000-0000-000000000c77/environment=env-abc123"
    error_message = "an environment binding's CRN is the environment's"
  }
  assert {
    condition     = output.role_bindings["read_errors"].crn_pattern == "crn://confluent.cloud/organization=00000000-0000-0000-0000-000000000c77/environment=env-abc123/cloud-cluster=lkc-xyz789/kafka=lkc-xyz789/topic=test-errors"
    error_message = "a topic binding's CRN names cluster and topic"
  }
  assert {
    condition     = endswith(output.role_bindings["write_ctt"].crn_pattern, "/kafka=lkc-xyz789/topic=ctt-*") && endswith(output.role_bindings["consumer_ctt"].crn_pattern, "/kafka=lkc-xyz789/group=ctt-*")
    error_message = "a prefix binding keeps its trailing *"
  }
  assert {
    condition     = endswith(output.role_bindings["cluster_stats"].crn_pattern, "/environment=env-abc123/cloud-cluster=lkc-xyz789")
    error_message = "a cluster binding's CRN ends at the cluster"
  }
  assert {
    condition     = output.role_bindings["read_errors"].role_name == "DeveloperRead" && length(output.role_bindings) == 5
    error_message = "one binding per key, role passed through"
  }
}

run "admin_role_is_refused_by_default" {
  command = plan
  variables {
    role_bindings = { admin = { role = "EnvironmentAdmin", scope = "environment" } }
  }
  expect_failures = [output.role_bindings]
}

run "admin_role_passes_when_allowed" {
  command = plan
  variables {
    role_bindings     = { admin = { role = "EnvironmentAdmin", scope = "environment" } }
    allow_admin_roles = true
  }
  assert {
    condition     = output.role_bindings["admin"].role_name == "EnvironmentAdmin"
    error_message = "allow_admin_roles must permit admin roles"
  }
}

run "role_outside_its_scope_is_refused" {
  command = plan
  variables {
    role_bindings = { wrong = { role = "FlinkDeveloper", scope = "topic", resource = "t" } }
  }
  expect_failures = [var.role_bindings]
}

run "unknown_scope_is_refused" {
  command = plan
  variables {
    role_bindings = { wrong = { role = "DeveloperRead", scope = "schema", resource = "s" } }
  }
  expect_failures = [var.role_bindings]
}

run "topic_binding_without_resource_is_refused" {
  command = plan
  variables {
    role_bindings = { wrong = { role = "DeveloperRead", scope = "topic" } }
  }
  expect_failures = [var.role_bindings]
}

run "topic_binding_without_cluster_is_refused" {
  command = plan
  variables {
    cluster_id    = null
    role_bindings = { t = { role = "DeveloperRead", scope = "topic", resource = "t" } }
  }
  expect_failures = [output.role_bindings]
}

run "bad_ids_are_refused" {
  command = plan
  variables {
    organization_id = "my-org"
    environment_id  = "production"
    cluster_id      = "cluster-1"
  }
  expect_failures = [var.organization_id, var.environment_id, var.cluster_id]
}

run "bad_service_account_name_is_refused" {
  command = plan
  variables {
    service_account = { display_name = "-${join("", [for i in range(70) : "a"])}" }
  }
  expect_failures = [var.service_account]
}

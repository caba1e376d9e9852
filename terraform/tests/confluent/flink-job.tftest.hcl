# Plans the provider-backed modules with a mocked confluentinc/confluent provider.
# `terraform init` must download the provider schema, so this suite needs registry
# access (CI), unlike tests/flink which runs anywhere:
#   cd terraform && terraform init -test-directory=tests/confluent && \
#   terraform test -test-directory=tests/confluent

mock_provider "confluent" {}

variables {
  statement_name     = "ctt-r1-user-transformation"
  source_topic       = "ctt-r1-user-events"
  target_topic       = "ctt-r1-user-events-transformed"
  organization_id    = "00000000-0000-0000-0000-000000000c77"
  environment_id     = "env-abc123"
  cluster_id         = "lkc-xyz789"
  compute_pool_id    = "lfcp-00001"
  service_account_id = "sa-123"
  rest_endpoint      = "https://flink.us-east-1.aws.confluent.cloud"
  flink_api_key      = "key"
  flink_api_secret   = "secret"
}

run "statement_carries_rendered_sql_and_properties" {
  command = plan
  module {
    source = "../flink/modules/flink-job"
  }

  assert {
    condition     = confluent_flink_statement.transformation_job.statement_name == "ctt-r1-user-transformation"
    error_message = "statement_name must come from the variable"
  }
  assert {
    condition     = strcontains(confluent_flink_statement.transformation_job.statement, "FROM `ctt-r1-user-events`")
    error_message = "the templatefile() result must be the statement"
  }
  assert {
    condition     = confluent_flink_statement.transformation_job.properties["sql.current-database"] == "lkc-xyz789"
    error_message = "sql.current-database must be the cluster"
  }
}

run "compute_pool_defaults_match_the_seed" {
  command = plan
  module {
    source = "../flink/modules/compute-pool"
  }
  variables {
    cloud_provider = "aws"
    region         = "us-east-1"
  }

  assert {
    condition     = confluent_flink_compute_pool.test_pool.max_cfu == 5 && confluent_flink_compute_pool.test_pool.cloud == "AWS"
    error_message = "the seed's pool: 5 CFU, cloud upper-cased"
  }
}

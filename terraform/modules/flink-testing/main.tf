# A Flink test environment on Confluent Cloud (the seed's flink_resources and
# additional_topics): a compute pool, the service account flink-test-sa with
# least-privilege role bindings and its Flink and Kafka API keys, the seed's
# topics, and optional statements. Everything it creates is decided (and tested
# offline) by ./spec; this file only maps that onto confluent_* resources.
# `ctt run --engine confluent --provision` applies it for one run and destroys it
# after; its outputs are the engine's settings (docs/terraform.md).
# Needs the confluentinc/confluent provider, i.e. registry access; the provider
# reads CONFLUENT_CLOUD_API_KEY / CONFLUENT_CLOUD_API_SECRET (a Cloud API key).

terraform {
  required_version = ">= 1.6"
  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = ">= 2.0"
    }
  }
}

variable "run_id" {
  description = "ctt's run id: names get a \"ctt-<run_id>-\" prefix (null keeps the seed's names)."
  type        = string
  default     = null
}

variable "organization_id" {
  description = "Confluent organization id (a UUID); ctt passes CONFLUENT_ORG_ID."
  type        = string
}

variable "environment_id" {
  description = "The environment, env-...; ctt passes CONFLUENT_ENV_ID."
  type        = string
}

variable "cluster_id" {
  description = "The Kafka cluster, lkc-...; ctt passes CONFLUENT_KAFKA_CLUSTER_ID."
  type        = string
}

variable "kafka_admin_api_key" {
  description = "A Kafka API key of the cluster allowed to create topics (the topics are created with it, not with the new service account's key, so no role binding has to propagate first)."
  type        = string
  sensitive   = true
}

variable "kafka_admin_api_secret" {
  description = "The secret of kafka_admin_api_key."
  type        = string
  sensitive   = true
}

variable "cloud" {
  description = "AWS, GCP or AZURE."
  type        = string
  default     = "AWS"
}

variable "region" {
  description = "The cluster's region; the compute pool and the Flink API key are created there."
  type        = string
  default     = "us-west-2"
}

variable "compute_pool" {
  description = "{ display_name, max_cfu } of the pool to create (the seed: automation-test-pool, 10 CFU)."
  type = object({
    display_name = optional(string, "automation-test-pool")
    max_cfu      = optional(number, 10)
  })
  default = {}
}

variable "compute_pool_id" {
  description = "Use this existing pool (lfcp-...) instead of creating one."
  type        = string
  default     = null
}

variable "service_account" {
  description = "{ display_name, description } of the service account (the seed: flink-test-sa)."
  type = object({
    display_name = optional(string, "flink-test-sa")
    description  = optional(string, "Service account for Flink testing")
  })
  default = {}
}

variable "topics" {
  description = "Topics to create; the default is the seed's test-errors (3), dead-letter-queue (1), transformed-data (6), aggregated-results (3)."
  type = map(object({
    partitions = optional(number, 1)
    config     = optional(map(string), {})
  }))
  default = {
    "test-errors"        = { partitions = 3 }
    "dead-letter-queue"  = { partitions = 1 }
    "transformed-data"   = { partitions = 6 }
    "aggregated-results" = { partitions = 3 }
  }
}

variable "topic_access_prefixes" {
  description = "Further topic/group prefixes the service account may use (ctt's test topics start with ctt-)."
  type        = list(string)
  default     = ["ctt-"]
}

variable "statements" {
  description = "Statements to submit: key -> { sql_template, template_vars, properties }."
  type = map(object({
    sql_template  = string
    template_vars = optional(map(string), {})
    properties    = optional(map(string), {})
  }))
  default = {}
}

module "spec" {
  source                = "./spec"
  run_id                = var.run_id
  organization_id       = var.organization_id
  environment_id        = var.environment_id
  cluster_id            = var.cluster_id
  cloud                 = var.cloud
  region                = var.region
  compute_pool          = var.compute_pool
  compute_pool_id       = var.compute_pool_id
  service_account       = var.service_account
  topics                = var.topics
  topic_access_prefixes = var.topic_access_prefixes
  statements            = var.statements
}

data "confluent_flink_region" "this" {
  cloud  = module.spec.compute_pool.cloud
  region = module.spec.compute_pool.region
}

data "confluent_kafka_cluster" "this" {
  id = var.cluster_id
  environment {
    id = var.environment_id
  }
}

resource "confluent_flink_compute_pool" "this" {
  count = module.spec.compute_pool.create ? 1 : 0

  display_name = module.spec.compute_pool.display_name
  cloud        = module.spec.compute_pool.cloud
  region       = module.spec.compute_pool.region
  max_cfu      = module.spec.compute_pool.max_cfu
  environment {
    id = var.environment_id
  }
}

module "rbac" {
  source          = "../rbac"
  organization_id = var.organization_id
  environment_id  = var.environment_id
  cluster_id      = var.cluster_id
  service_account = module.spec.service_account
  role_bindings   = module.spec.role_binding_requests
}

resource "confluent_api_key" "flink" {
  display_name = "${module.spec.service_account.display_name}-flink"
  description  = "Flink API key of ${module.spec.service_account.display_name}"
  owner {
    id          = module.rbac.service_account_id
    api_version = module.rbac.service_account_api_version
    kind        = module.rbac.service_account_kind
  }
  managed_resource {
    id          = data.confluent_flink_region.this.id
    api_version = data.confluent_flink_region.this.api_version
    kind        = data.confluent_flink_region.this.kind
    environment {
      id = var.environment_id
    }
  }
}

resource "confluent_api_key" "kafka" {
  display_name = "${module.spec.service_account.display_name}-kafka"
  description  = "Kafka API key of ${module.spec.service_account.display_name}"
  owner {
    id          = module.rbac.service_account_id
    api_version = module.rbac.service_account_api_version
    kind        = module.rbac.service_account_kind
  }
  managed_resource {
    id          = data.confluent_kafka_cluster.this.id
    api_version = data.confluent_kafka_cluster.this.api_version
    kind        = data.confluent_kafka_cluster.this.kind
    environment {
      id = var.environment_id
    }
  }
}

# The environment's (only) Schema Registry: Confluent tables read and write records framed
# with its schema ids, and ctt produces and reads through it (ctt/kafka/registry.py).
data "confluent_schema_registry_cluster" "this" {
  environment {
    id = var.environment_id
  }
}

resource "confluent_api_key" "schema_registry" {
  display_name = "${module.spec.service_account.display_name}-schema-registry"
  description  = "Schema Registry API key of ${module.spec.service_account.display_name}"
  owner {
    id          = module.rbac.service_account_id
    api_version = module.rbac.service_account_api_version
    kind        = module.rbac.service_account_kind
  }
  managed_resource {
    id          = data.confluent_schema_registry_cluster.this.id
    api_version = data.confluent_schema_registry_cluster.this.api_version
    kind        = data.confluent_schema_registry_cluster.this.kind
    environment {
      id = var.environment_id
    }
  }
}

module "topics" {
  source           = "../topics"
  cluster_id       = var.cluster_id
  rest_endpoint    = data.confluent_kafka_cluster.this.rest_endpoint
  kafka_api_key    = var.kafka_admin_api_key
  kafka_api_secret = var.kafka_admin_api_secret
  topics           = var.topics
  name_prefix      = module.spec.prefix
}

locals {
  compute_pool_id = coalesce(var.compute_pool_id, try(confluent_flink_compute_pool.this[0].id, null))
}

resource "confluent_flink_statement" "this" {
  for_each   = module.spec.statements
  depends_on = [module.rbac, module.topics]

  organization {
    id = var.organization_id
  }
  environment {
    id = var.environment_id
  }
  compute_pool {
    id = local.compute_pool_id
  }
  principal {
    id = module.rbac.service_account_id
  }
  statement_name = each.value.statement_name
  statement      = each.value.statement
  properties     = each.value.properties
  rest_endpoint  = data.confluent_flink_region.this.rest_endpoint
  credentials {
    key    = confluent_api_key.flink.id
    secret = confluent_api_key.flink.secret
  }
}

# The outputs ctt feeds into the Confluent engine's settings (ctt/infra/provision.py,
# FLINK_TESTING_SETTINGS); terraform/standin/flink-testing has the same names.

output "organization_id" {
  description = "-> CONFLUENT_ORG_ID"
  value       = var.organization_id
}

output "environment_id" {
  description = "-> CONFLUENT_ENV_ID"
  value       = var.environment_id
}

output "kafka_cluster_id" {
  description = "-> CONFLUENT_KAFKA_CLUSTER_ID (the statements' database)"
  value       = var.cluster_id
}

output "cloud" {
  description = "-> CONFLUENT_CLOUD"
  value       = module.spec.compute_pool.cloud
}

output "region" {
  description = "-> CONFLUENT_REGION"
  value       = module.spec.compute_pool.region
}

output "compute_pool_id" {
  description = "-> CONFLUENT_COMPUTE_POOL_ID"
  value       = local.compute_pool_id
}

output "service_account_id" {
  description = "-> CONFLUENT_PRINCIPAL_ID: statements run as flink-test-sa"
  value       = module.rbac.service_account_id
}

output "flink_rest_endpoint" {
  description = "-> CONFLUENT_FLINK_REST_ENDPOINT"
  value       = data.confluent_flink_region.this.rest_endpoint
}

output "flink_api_key" {
  description = "-> CONFLUENT_FLINK_API_KEY (the service account's)"
  value       = confluent_api_key.flink.id
}

output "flink_api_secret" {
  description = "-> CONFLUENT_FLINK_API_SECRET"
  value       = confluent_api_key.flink.secret
  sensitive   = true
}

output "kafka_bootstrap_servers" {
  description = "-> CONFLUENT_KAFKA_BOOTSTRAP (host:port)"
  value       = trimprefix(data.confluent_kafka_cluster.this.bootstrap_endpoint, "SASL_SSL://")
}

output "kafka_api_key" {
  description = "-> CONFLUENT_KAFKA_API_KEY (the service account's)"
  value       = confluent_api_key.kafka.id
}

output "kafka_api_secret" {
  description = "-> CONFLUENT_KAFKA_API_SECRET"
  value       = confluent_api_key.kafka.secret
  sensitive   = true
}

output "schema_registry_url" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_URL"
  value       = data.confluent_schema_registry_cluster.this.rest_endpoint
}

output "schema_registry_api_key" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_API_KEY (the service account's)"
  value       = confluent_api_key.schema_registry.id
}

output "schema_registry_api_secret" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_API_SECRET"
  value       = confluent_api_key.schema_registry.secret
  sensitive   = true
}

output "topics" {
  description = "Topic name -> partitions of the topics created."
  value       = module.topics.partitions
}

output "statement_names" {
  description = "Statement key -> Confluent statement name."
  value       = { for k, s in confluent_flink_statement.this : k => s.statement_name }
}

# A Flink transformation under test on Confluent Cloud: source and target topics,
# an optional compute pool and the statement, all named by one run id so parallel
# runs never share anything. Needs the confluentinc/confluent provider.

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
  description = "ctt's run id: lower case letters, digits and '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$", var.run_id))
    error_message = "run_id: up to 42 characters of [a-z0-9-], starting and ending alphanumeric."
  }
}

variable "test_name" {
  type = string
}

variable "organization_id" {
  type = string
}

variable "environment_id" {
  type = string
}

variable "cluster_id" {
  type = string
}

variable "kafka_rest_endpoint" {
  type = string
}

variable "kafka_api_key" {
  type      = string
  sensitive = true
}

variable "kafka_api_secret" {
  type      = string
  sensitive = true
}

variable "flink_rest_endpoint" {
  type = string
}

variable "flink_api_key" {
  type      = string
  sensitive = true
}

variable "flink_api_secret" {
  type      = string
  sensitive = true
}

variable "service_account_id" {
  type = string
}

variable "compute_pool_id" {
  description = "Use this pool; null creates one for the run."
  type        = string
  default     = null
}

variable "cloud_provider" {
  type    = string
  default = "AWS"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "sql_template" {
  type    = string
  default = null
}

locals {
  prefix       = "ctt-${var.run_id}-${replace(lower(var.test_name), "/[^a-z0-9]+/", "-")}"
  source_topic = "${local.prefix}-source"
  target_topic = "${local.prefix}-target"
}

module "topics" {
  source           = "../topics"
  cluster_id       = var.cluster_id
  rest_endpoint    = var.kafka_rest_endpoint
  kafka_api_key    = var.kafka_api_key
  kafka_api_secret = var.kafka_api_secret
  topics = {
    (local.source_topic) = { partitions = 1 }
  }
}

module "compute_pool" {
  source         = "../../../flink/modules/compute-pool"
  count          = var.compute_pool_id == null ? 1 : 0
  display_name   = substr(local.prefix, 0, 64)
  cloud_provider = var.cloud_provider
  region         = var.region
  environment_id = var.environment_id
}

module "job" {
  source             = "../../../flink/modules/flink-job"
  statement_name     = substr(local.prefix, 0, 100)
  sql_template       = var.sql_template
  source_topic       = module.topics.topic_names[local.source_topic]
  target_topic       = local.target_topic # CTAS creates it
  organization_id    = var.organization_id
  environment_id     = var.environment_id
  cluster_id         = var.cluster_id
  compute_pool_id    = coalesce(var.compute_pool_id, try(module.compute_pool[0].id, null))
  service_account_id = var.service_account_id
  rest_endpoint      = var.flink_rest_endpoint
  flink_api_key      = var.flink_api_key
  flink_api_secret   = var.flink_api_secret
}

output "source_topic" {
  value = local.source_topic
}

output "target_topic" {
  value = local.target_topic
}

output "statement_name" {
  value = module.job.statement_name
}

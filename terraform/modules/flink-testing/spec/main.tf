# The flink-testing module's specification, with no provider: every name, topic,
# role binding, compute pool setting and statement ../main.tf creates for a Flink
# test environment on Confluent Cloud (the seed's flink_resources and
# additional_topics). `terraform test` runs here offline (spec/tests).

terraform {
  required_version = ">= 1.6"
}

variable "run_id" {
  description = "ctt's run id (lower case letters, digits, '-'): names get a \"ctt-<run_id>-\" prefix so parallel runs share nothing. null keeps the seed's names."
  type        = string
  default     = null

  validation {
    condition     = var.run_id == null || can(regex("^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$", var.run_id))
    error_message = "run_id: up to 42 characters of [a-z0-9-], starting and ending alphanumeric."
  }
}

variable "organization_id" {
  description = "Confluent organization id (a UUID)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.organization_id))
    error_message = "organization_id must be the organization's UUID."
  }
}

variable "environment_id" {
  description = "The environment, env-...: the statements' catalog."
  type        = string

  validation {
    condition     = can(regex("^env-[a-z0-9]+$", var.environment_id))
    error_message = "environment_id must look like env-xxxxx."
  }
}

variable "cluster_id" {
  description = "The Kafka cluster, lkc-...: the statements' database, holds the topics."
  type        = string

  validation {
    condition     = can(regex("^lkc-[a-z0-9]+$", var.cluster_id))
    error_message = "cluster_id must look like lkc-xxxxx."
  }
}

variable "cloud" {
  description = "Cloud of the compute pool and Flink region: AWS, GCP or AZURE."
  type        = string
  default     = "AWS"

  validation {
    condition     = contains(["AWS", "GCP", "AZURE"], upper(var.cloud))
    error_message = "cloud must be AWS, GCP or AZURE."
  }
}

variable "region" {
  description = "Region of the compute pool and Flink region (the cluster's region)."
  type        = string
  default     = "us-west-2"
}

variable "compute_pool" {
  description = "The compute pool to create: display_name and max_cfu (the seed: automation-test-pool, 10 CFU). Ignored when compute_pool_id is set."
  type = object({
    display_name = optional(string, "automation-test-pool")
    max_cfu      = optional(number, 10)
  })
  default = {}

  validation {
    condition     = contains([5, 10, 20, 30, 40, 50], var.compute_pool.max_cfu)
    error_message = "compute_pool.max_cfu must be one of 5, 10, 20, 30, 40, 50."
  }
  validation {
    condition     = can(regex("^[0-9A-Za-z-][\\w.-]{0,63}$", var.compute_pool.display_name))
    error_message = "compute_pool.display_name: up to 64 letters, digits, '_', '.', '-'."
  }
}

variable "compute_pool_id" {
  description = "Use this existing pool (lfcp-...) instead of creating one."
  type        = string
  default     = null

  validation {
    condition     = var.compute_pool_id == null || can(regex("^lfcp-[a-z0-9]+$", var.compute_pool_id))
    error_message = "compute_pool_id must look like lfcp-xxxxx."
  }
}

variable "service_account" {
  description = "The service account statements run as (the seed: flink-test-sa)."
  type = object({
    display_name = optional(string, "flink-test-sa")
    description  = optional(string, "Service account for Flink testing")
  })
  default = {}
}

variable "topics" {
  description = "Topics to create (name -> { partitions, config }); the default is the seed's error and transformation topics."
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
  description = "Topic (and consumer group) name prefixes the service account may read and write besides its own topics: ctt's run-scoped test topics start with ctt-."
  type        = list(string)
  default     = ["ctt-"]
}

variable "statements" {
  description = "Statements to submit: key -> { sql_template (templatefile path), template_vars, properties }. Each is named \"<prefix><key>\" and checked by flink/modules/statement-sql."
  type = map(object({
    sql_template  = string
    template_vars = optional(map(string), {})
    properties    = optional(map(string), {})
  }))
  default = {}
}

locals {
  prefix = var.run_id == null ? "" : "ctt-${var.run_id}-"
  pool = {
    create       = var.compute_pool_id == null
    display_name = substr("${local.prefix}${var.compute_pool.display_name}", 0, 64)
    cloud        = upper(var.cloud)
    region       = var.region
    max_cfu      = var.compute_pool.max_cfu
  }
  service_account = {
    display_name = var.run_id == null ? var.service_account.display_name : substr("${var.service_account.display_name}-${var.run_id}", 0, 64)
    description  = var.service_account.description
  }
  role_binding_requests = merge(
    { flink = { role = "FlinkDeveloper", scope = "environment" } },
    local.own_topic_bindings,
    local.prefix_bindings,
  )
  own_topic_bindings = merge([for key, t in module.topics.topics : {
    "read-${key}"  = { role = "DeveloperRead", scope = "topic", resource = t.topic_name }
    "write-${key}" = { role = "DeveloperWrite", scope = "topic", resource = t.topic_name }
  }]...)
  prefix_bindings = merge([for p in var.topic_access_prefixes : {
    "read-prefix-${p}"   = { role = "DeveloperRead", scope = "topic", resource = "${p}*" }
    "write-prefix-${p}"  = { role = "DeveloperWrite", scope = "topic", resource = "${p}*" }
    "manage-prefix-${p}" = { role = "DeveloperManage", scope = "topic", resource = "${p}*" }
    "group-prefix-${p}"  = { role = "DeveloperRead", scope = "group", resource = "${p}*" }
  }]...)
}

module "topics" {
  source      = "../../topics/spec"
  topics      = var.topics
  name_prefix = local.prefix
}

module "rbac" {
  source          = "../../rbac/spec"
  organization_id = var.organization_id
  environment_id  = var.environment_id
  cluster_id      = var.cluster_id
  service_account = local.service_account
  role_bindings   = local.role_binding_requests
}

module "statements" {
  source   = "../../../../flink/modules/statement-sql"
  for_each = var.statements

  statement_name = "${local.prefix}${each.key}"
  sql_template   = each.value.sql_template
  template_vars  = each.value.template_vars
  properties     = each.value.properties
  environment_id = var.environment_id
  cluster_id     = var.cluster_id
}

output "prefix" {
  description = "The name prefix of this run (\"\" without run_id)."
  value       = local.prefix
}

output "compute_pool" {
  description = "{ create, display_name, cloud, region, max_cfu } of the pool ../main.tf creates (create = false: compute_pool_id is used)."
  value       = local.pool
}

output "service_account" {
  description = "{ display_name, description } of the service account."
  value       = module.rbac.service_account
}

output "role_bindings" {
  description = "Key -> { role_name, crn_pattern } bound to the service account."
  value       = module.rbac.role_bindings
}

output "topics" {
  description = "Topic key -> { topic_name, partitions, config }."
  value       = module.topics.topics
}

output "statements" {
  description = "Statement key -> { statement_name, statement, properties }, dialect-checked."
  value = { for k, s in module.statements : k => {
    statement_name = s.statement_name
    statement      = s.statement
    properties     = s.properties
  } }
}

output "role_binding_requests" {
  description = "Key -> { role, scope, resource }: the input ../main.tf gives the rbac module."
  value       = local.role_binding_requests
}

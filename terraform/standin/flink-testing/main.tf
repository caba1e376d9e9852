# A stand-in for terraform/modules/flink-testing built from terraform's built-in
# terraform_data resource only, so that it plans, applies and destroys with no
# provider and no registry. It takes the same variables and has the same outputs
# (same names and types), computed from the same ./spec of the real module; only
# the confluent_* resources are replaced, and the ids and keys are made up.
# It exists to test `ctt infra` and `ctt run --provision` end to end here:
#   ctt infra apply terraform/standin/flink-testing
# Optional: standin_events_file gets one line per create/destroy (what tests read),
# standin_flink_rest_endpoint points the engine at a local server (the contract server).

terraform {
  required_version = ">= 1.6"
}

variable "run_id" {
  description = "As in the real module."
  type        = string
  default     = null
}

variable "organization_id" {
  description = "As in the real module."
  type        = string
}

variable "environment_id" {
  description = "As in the real module."
  type        = string
}

variable "cluster_id" {
  description = "As in the real module."
  type        = string
}

variable "kafka_admin_api_key" {
  description = "As in the real module (unused here)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "kafka_admin_api_secret" {
  description = "As in the real module (unused here)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "cloud" {
  description = "As in the real module."
  type        = string
  default     = "AWS"
}

variable "region" {
  description = "As in the real module."
  type        = string
  default     = "us-west-2"
}

variable "compute_pool" {
  description = "As in the real module."
  type = object({
    display_name = optional(string, "automation-test-pool")
    max_cfu      = optional(number, 10)
  })
  default = {}
}

variable "compute_pool_id" {
  description = "As in the real module."
  type        = string
  default     = null
}

variable "service_account" {
  description = "As in the real module."
  type = object({
    display_name = optional(string, "flink-test-sa")
    description  = optional(string, "Service account for Flink testing")
  })
  default = {}
}

variable "topics" {
  description = "As in the real module."
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
  description = "As in the real module."
  type        = list(string)
  default     = ["ctt-"]
}

variable "statements" {
  description = "As in the real module."
  type = map(object({
    sql_template  = string
    template_vars = optional(map(string), {})
    properties    = optional(map(string), {})
  }))
  default = {}
}

variable "standin_events_file" {
  description = "Stand-in only: a file that gets \"create <what>\" and \"destroy <what>\" lines."
  type        = string
  default     = null
}

variable "standin_flink_rest_endpoint" {
  description = "Stand-in only: the flink_rest_endpoint output (default: the region's real endpoint)."
  type        = string
  default     = null
}

variable "standin_schema_registry_url" {
  description = "Stand-in only: the schema_registry_url output (default: a made-up psrc- endpoint in the region)."
  type        = string
  default     = null
}

module "spec" {
  source                = "../../modules/flink-testing/spec"
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

locals {
  # one object per confluent_* resource the real module creates
  objects = merge(
    module.spec.compute_pool.create ? { "compute_pool" = module.spec.compute_pool.display_name } : {},
    { "service_account" = module.spec.service_account.display_name },
    { for k, b in module.spec.role_bindings : "role_binding.${k}" => "${b.role_name} ${b.crn_pattern}" },
    { "api_key.flink" = "flink", "api_key.kafka" = "kafka", "api_key.schema_registry" = "schema_registry" },
    { for k, t in module.spec.topics : "topic.${k}" => "${t.topic_name}/${t.partitions}" },
    { for k, s in module.spec.statements : "statement.${k}" => s.statement_name },
  )
}

resource "terraform_data" "object" {
  for_each = local.objects
  input = {
    what   = each.key
    spec   = each.value
    id     = substr(sha256("${var.environment_id}/${each.key}/${each.value}"), 0, 8)
    events = var.standin_events_file
  }

  # The events are a log, not part of the object: a create-time provisioner that Ctrl-C cuts
  # short must not taint it, since terraform runs no destroy-time provisioner for a tainted
  # resource and its "destroy" line would be missing although the object is destroyed.
  # Seen under load: when the interrupt itself kills this provisioner, terraform still
  # destroys the object but runs no destroy provisioner for it (tainted, it seems, whatever
  # on_failure says); the Ctrl-C test allows for that.
  provisioner "local-exec" {
    when       = create
    on_failure = continue
    command    = self.input.events == null ? "true" : "printf 'create %s\\n' \"$WHAT\" >> \"$EVENTS\""
    environment = {
      WHAT   = self.input.what
      EVENTS = coalesce(self.input.events, "/dev/null")
    }
  }

  provisioner "local-exec" {
    when    = destroy
    command = self.input.events == null ? "true" : "printf 'destroy %s\\n' \"$WHAT\" >> \"$EVENTS\""
    environment = {
      WHAT   = self.input.what
      EVENTS = coalesce(self.input.events, "/dev/null")
    }
  }
}

locals {
  ids             = { for k, o in terraform_data.object : k => o.output.id }
  compute_pool_id = coalesce(var.compute_pool_id, try("lfcp-${local.ids["compute_pool"]}", null))
}

output "organization_id" {
  description = "-> CONFLUENT_ORG_ID"
  value       = var.organization_id
}

output "environment_id" {
  description = "-> CONFLUENT_ENV_ID"
  value       = var.environment_id
}

output "kafka_cluster_id" {
  description = "-> CONFLUENT_KAFKA_CLUSTER_ID"
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
  description = "-> CONFLUENT_PRINCIPAL_ID"
  value       = "sa-${local.ids["service_account"]}"
}

output "flink_rest_endpoint" {
  description = "-> CONFLUENT_FLINK_REST_ENDPOINT"
  value       = coalesce(var.standin_flink_rest_endpoint, "https://flink.${lower(module.spec.compute_pool.region)}.${lower(module.spec.compute_pool.cloud)}.confluent.cloud")
}

output "flink_api_key" {
  description = "-> CONFLUENT_FLINK_API_KEY"
  value       = upper("standin${local.ids["api_key.flink"]}")
}

output "flink_api_secret" {
  description = "-> CONFLUENT_FLINK_API_SECRET"
  value       = sha256("flink-secret/${local.ids["api_key.flink"]}")
  sensitive   = true
}

output "kafka_bootstrap_servers" {
  description = "-> CONFLUENT_KAFKA_BOOTSTRAP"
  value       = "pkc-standin.${lower(module.spec.compute_pool.region)}.${lower(module.spec.compute_pool.cloud)}.confluent.cloud:9092"
}

output "kafka_api_key" {
  description = "-> CONFLUENT_KAFKA_API_KEY"
  value       = upper("standin${local.ids["api_key.kafka"]}")
}

output "kafka_api_secret" {
  description = "-> CONFLUENT_KAFKA_API_SECRET"
  value       = sha256("kafka-secret/${local.ids["api_key.kafka"]}")
  sensitive   = true
}

output "schema_registry_url" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_URL"
  value       = coalesce(var.standin_schema_registry_url, "https://psrc-standin.${lower(module.spec.compute_pool.region)}.${lower(module.spec.compute_pool.cloud)}.confluent.cloud")
}

output "schema_registry_api_key" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_API_KEY"
  value       = upper("standin${local.ids["api_key.schema_registry"]}")
}

output "schema_registry_api_secret" {
  description = "-> CONFLUENT_SCHEMA_REGISTRY_API_SECRET"
  value       = sha256("schema-registry-secret/${local.ids["api_key.schema_registry"]}")
  sensitive   = true
}

output "topics" {
  description = "Topic name -> partitions of the topics created."
  value       = { for k, t in module.spec.topics : t.topic_name => t.partitions }
}

output "statement_names" {
  description = "Statement key -> Confluent statement name."
  value       = { for k, s in module.spec.statements : k => s.statement_name }
}

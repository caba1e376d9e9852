# Fully managed connectors on Confluent Cloud (the seed's "Transformed Topic ->
# Sink Connector"). What each connector gets is decided (and tested offline) by
# ./spec; this file only maps it onto confluent_connector.
# Needs the confluentinc/confluent provider, i.e. registry access (docs/terraform.md).

terraform {
  required_version = ">= 1.6"
  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = ">= 2.0"
    }
  }
}

variable "environment_id" {
  description = "The environment, env-..."
  type        = string
}

variable "cluster_id" {
  description = "The Kafka cluster the connectors read from or write to, lkc-..."
  type        = string
}

variable "service_account_id" {
  description = "The service account the connectors authenticate as, sa-..."
  type        = string
}

variable "connectors" {
  description = "Key -> { class, topics, output_topic, tasks, config, status }; see spec/main.tf."
  type = map(object({
    class        = string
    topics       = optional(list(string), [])
    output_topic = optional(string)
    tasks        = optional(number, 1)
    config       = optional(map(string), {})
    status       = optional(string, "RUNNING")
  }))
}

variable "secrets" {
  description = "Connector key -> secret settings (config_sensitive)."
  type        = map(map(string))
  default     = {}
  sensitive   = true
}

variable "name_prefix" {
  description = "Prepended to every connector name."
  type        = string
  default     = ""
}

module "spec" {
  source             = "./spec"
  connectors         = var.connectors
  secrets            = var.secrets
  service_account_id = var.service_account_id
  name_prefix        = var.name_prefix
}

resource "confluent_connector" "this" {
  for_each = module.spec.connectors

  environment {
    id = var.environment_id
  }
  kafka_cluster {
    id = var.cluster_id
  }
  status              = each.value.status
  config_nonsensitive = each.value.config_nonsensitive
  config_sensitive    = lookup(var.secrets, each.key, {})
}

output "connector_ids" {
  description = "Connector key -> id, lcc-..."
  value       = { for k, c in confluent_connector.this : k => c.id }
}

output "connector_names" {
  description = "Connector key -> name."
  value       = { for k, c in module.spec.connectors : k => c.name }
}

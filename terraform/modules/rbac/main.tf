# A service account and its role bindings on Confluent Cloud. What is bound
# where is decided (and tested offline) by ./spec; this file only maps it onto
# confluent_service_account and confluent_role_binding.
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

variable "organization_id" {
  description = "Confluent organization id (a UUID)."
  type        = string
}

variable "environment_id" {
  description = "The environment the bindings live in, env-..."
  type        = string
}

variable "cluster_id" {
  description = "The Kafka cluster, lkc-...; needed by cluster and topic-level bindings."
  type        = string
  default     = null
}

variable "service_account" {
  description = "{ display_name, description } of the service account to create."
  type = object({
    display_name = string
    description  = optional(string, "")
  })
}

variable "role_bindings" {
  description = "Key -> { role, scope, resource }; see spec/main.tf for the rules."
  type = map(object({
    role     = string
    scope    = string
    resource = optional(string)
  }))
  default = {}
}

variable "allow_admin_roles" {
  description = "Permit admin roles for the account (off: least privilege)."
  type        = bool
  default     = false
}

module "spec" {
  source            = "./spec"
  organization_id   = var.organization_id
  environment_id    = var.environment_id
  cluster_id        = var.cluster_id
  service_account   = var.service_account
  role_bindings     = var.role_bindings
  allow_admin_roles = var.allow_admin_roles
}

resource "confluent_service_account" "this" {
  display_name = module.spec.service_account.display_name
  description  = module.spec.service_account.description
}

resource "confluent_role_binding" "this" {
  for_each = module.spec.role_bindings

  principal   = "User:${confluent_service_account.this.id}"
  role_name   = each.value.role_name
  crn_pattern = each.value.crn_pattern
}

output "service_account_id" {
  description = "The service account's id, sa-..."
  value       = confluent_service_account.this.id
}

output "service_account_api_version" {
  description = "For confluent_api_key.owner."
  value       = confluent_service_account.this.api_version
}

output "service_account_kind" {
  description = "For confluent_api_key.owner."
  value       = confluent_service_account.this.kind
}

output "role_binding_ids" {
  description = "Binding key -> role binding id, rb-..."
  value       = { for k, b in confluent_role_binding.this : k => b.id }
}

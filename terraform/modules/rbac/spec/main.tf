# The rbac module's specification, with no provider: the service account, the
# role bindings and their CRN patterns that ../main.tf creates, checked for
# role/scope fit and least privilege. `terraform test` runs here offline.
# CRN patterns as Confluent Cloud writes them (organization -> environment ->
# cloud-cluster -> kafka -> topic|group|transactional-id), a trailing * = prefix.

terraform {
  required_version = ">= 1.6"
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
  description = "The environment the bindings live in, env-..."
  type        = string

  validation {
    condition     = can(regex("^env-[a-z0-9]+$", var.environment_id))
    error_message = "environment_id must look like env-xxxxx."
  }
}

variable "cluster_id" {
  description = "The Kafka cluster, lkc-...; needed by cluster, topic, group and transactional-id bindings."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_id == null || can(regex("^lkc-[a-z0-9]+$", var.cluster_id))
    error_message = "cluster_id must look like lkc-xxxxx."
  }
}

variable "service_account" {
  description = "The service account to create: display_name (1-64 characters, unique in the organization) and description."
  type = object({
    display_name = string
    description  = optional(string, "")
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$", var.service_account.display_name))
    error_message = "service_account.display_name: 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit."
  }
}

variable "role_bindings" {
  description = "Key -> { role, scope (environment | cluster | topic | group | transactional-id), resource (the name; a trailing * binds a prefix) }."
  type = map(object({
    role     = string
    scope    = string
    resource = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for b in values(var.role_bindings) : contains(["environment", "cluster", "topic", "group", "transactional-id"], b.scope)])
    error_message = "scope must be environment, cluster, topic, group or transactional-id."
  }
  validation {
    condition = alltrue([for b in values(var.role_bindings) : contains(lookup({
      "environment"      = ["EnvironmentAdmin", "FlinkAdmin", "FlinkDeveloper", "MetricsViewer", "DataDiscovery", "Operator"]
      "cluster"          = ["CloudClusterAdmin", "Operator", "MetricsViewer"]
      "topic"            = ["DeveloperRead", "DeveloperWrite", "DeveloperManage", "ResourceOwner"]
      "group"            = ["DeveloperRead", "DeveloperManage", "ResourceOwner"]
      "transactional-id" = ["DeveloperWrite", "ResourceOwner"]
    }, b.scope, []), b.role)])
    error_message = "role does not fit its scope (e.g. DeveloperRead binds a topic or group, FlinkDeveloper an environment)."
  }
  validation {
    condition     = alltrue([for b in values(var.role_bindings) : contains(["environment", "cluster"], b.scope) ? b.resource == null : can(regex("^[a-zA-Z0-9._-]{1,249}\\*?$", coalesce(b.resource, "!")))])
    error_message = "topic, group and transactional-id bindings need a resource name (a trailing * binds a prefix); environment and cluster bindings take none."
  }
}

variable "allow_admin_roles" {
  description = "Permit EnvironmentAdmin, CloudClusterAdmin, FlinkAdmin and ResourceOwner: off, so a test account stays least-privileged."
  type        = bool
  default     = false
}

locals {
  admin_roles = ["EnvironmentAdmin", "CloudClusterAdmin", "FlinkAdmin", "ResourceOwner"]
  env_crn     = "crn://confluent.cloud/organization=${var.organization_id}/environment=${var.environment_id}"
  cluster_crn = var.cluster_id == null ? null : "${local.env_crn}/cloud-cluster=${var.cluster_id}"

  role_bindings = {
    for key, b in var.role_bindings : key => {
      role_name = b.role
      crn_pattern = (
        b.scope == "environment" ? local.env_crn :
        local.cluster_crn == null ? null :
        b.scope == "cluster" ? local.cluster_crn :
        "${local.cluster_crn}/kafka=${var.cluster_id}/${b.scope}=${b.resource}"
      )
    }
  }
}

output "service_account" {
  description = "{ display_name, description } of the account ../main.tf creates."
  value       = var.service_account
}

output "role_bindings" {
  description = "Key -> { role_name, crn_pattern }: what ../main.tf binds to the service account."
  value       = local.role_bindings

  precondition {
    condition     = alltrue([for b in values(local.role_bindings) : b.crn_pattern != null])
    error_message = "cluster, topic, group and transactional-id bindings need cluster_id."
  }
  precondition {
    condition     = var.allow_admin_roles || length([for b in values(var.role_bindings) : b if contains(local.admin_roles, b.role)]) == 0
    error_message = "an admin role (EnvironmentAdmin, CloudClusterAdmin, FlinkAdmin, ResourceOwner) for a test account: set allow_admin_roles = true if you mean it."
  }
}

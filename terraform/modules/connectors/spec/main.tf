# The connectors module's specification, with no provider: the exact
# config_nonsensitive of each fully managed connector ../main.tf creates, and
# the checks that keep secrets out of it. `terraform test` runs here offline.

terraform {
  required_version = ">= 1.6"
}

variable "connectors" {
  description = <<-EOT
    Key -> a fully managed connector: class (connector.class, e.g. PostgresSink,
    DatagenSource), topics (a sink's input topics), output_topic (a source's
    kafka.topic), tasks (tasks.max), config (non-secret settings), status
    (RUNNING or PAUSED). Secrets go in var.secrets, never in config.
  EOT
  type = map(object({
    class        = string
    topics       = optional(list(string), [])
    output_topic = optional(string)
    tasks        = optional(number, 1)
    config       = optional(map(string), {})
    status       = optional(string, "RUNNING")
  }))

  validation {
    condition     = alltrue([for c in values(var.connectors) : can(regex("^[A-Za-z0-9_]+$", c.class))])
    error_message = "class is a managed connector class such as PostgresSink or DatagenSource."
  }
  validation {
    condition     = alltrue([for c in values(var.connectors) : !endswith(c.class, "Sink") || length(c.topics) > 0])
    error_message = "a sink connector needs at least one input topic."
  }
  validation {
    condition     = alltrue([for c in values(var.connectors) : !endswith(c.class, "Source") || c.output_topic != null])
    error_message = "a source connector needs output_topic."
  }
  validation {
    condition     = alltrue([for c in values(var.connectors) : c.tasks >= 1 && floor(c.tasks) == c.tasks])
    error_message = "tasks must be a whole number >= 1."
  }
  validation {
    condition     = alltrue([for c in values(var.connectors) : contains(["RUNNING", "PAUSED"], c.status)])
    error_message = "status must be RUNNING or PAUSED."
  }
  validation {
    condition     = alltrue(flatten([for c in values(var.connectors) : [for k in keys(c.config) : !can(regex("(?i)(password|secret|api\\.key|credentials|token)", k))]]))
    error_message = "a secret-looking key (password, secret, api.key, credentials, token) is in config: put it in var.secrets."
  }
  validation {
    condition     = alltrue([for c in values(var.connectors) : lookup(c.config, "errors.tolerance", "all") == "all" || lookup(c.config, "errors.tolerance", "all") == "none"])
    error_message = "errors.tolerance must be all or none."
  }
}

variable "secrets" {
  description = "Connector key -> secret settings (config_sensitive), e.g. { sink = { \"connection.password\" = \"...\" } }."
  type        = map(map(string))
  default     = {}
  sensitive   = true
}

variable "service_account_id" {
  description = "The service account the connectors authenticate as (kafka.auth.mode SERVICE_ACCOUNT), sa-..."
  type        = string

  validation {
    condition     = can(regex("^sa-[a-z0-9]+$", var.service_account_id))
    error_message = "service_account_id must look like sa-xxxxx."
  }
}

variable "name_prefix" {
  description = "Prepended to every connector name, e.g. \"ctt-<run>-\"."
  type        = string
  default     = ""
}

locals {
  connectors = {
    for key, c in var.connectors : key => {
      name   = "${var.name_prefix}${key}"
      status = c.status
      config_nonsensitive = tomap(merge(
        # fully managed sinks send what they cannot write to a DLQ topic by default
        endswith(c.class, "Sink") ? { "errors.tolerance" = "all" } : {},
        c.config,
        {
          "connector.class"          = c.class
          "name"                     = "${var.name_prefix}${key}"
          "kafka.auth.mode"          = "SERVICE_ACCOUNT"
          "kafka.service.account.id" = var.service_account_id
          "tasks.max"                = tostring(c.tasks)
        },
        length(c.topics) > 0 ? { "topics" = join(",", c.topics) } : {},
        c.output_topic != null ? { "kafka.topic" = c.output_topic } : {},
      ))
    }
  }
  # keys only: safe to show
  secret_keys = { for k, s in nonsensitive(var.secrets) : k => sort(keys(s)) }
}

output "connectors" {
  description = "Key -> { name, status, config_nonsensitive }: what ../main.tf creates (secrets apart)."
  value       = local.connectors

  precondition {
    condition     = alltrue([for k in keys(local.secret_keys) : contains(keys(var.connectors), k)])
    error_message = "var.secrets names a connector that var.connectors does not have."
  }
  precondition {
    condition     = alltrue([for k, c in local.connectors : length(c.name) <= 64])
    error_message = "a connector name (name_prefix + key) is longer than 64 characters."
  }
}

output "secret_keys" {
  description = "Connector key -> the names (not values) of its secret settings."
  value       = local.secret_keys
}

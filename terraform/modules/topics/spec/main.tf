# The topics module's specification, with no provider: the variables, their
# validation and the exact topics ../main.tf creates. `terraform test` runs here
# offline (spec/tests); ../main.tf only maps local.topics onto confluent_kafka_topic.

terraform {
  required_version = ">= 1.6"
}

variable "topics" {
  description = "Topic name (before name_prefix) -> partitions (1-4096 here; Confluent Cloud's per-topic limit depends on the cluster type) and topic configs."
  type = map(object({
    partitions = optional(number, 1)
    config     = optional(map(string), {})
  }))

  validation {
    condition     = alltrue([for name in keys(var.topics) : can(regex("^[a-zA-Z0-9._-]{1,249}$", name))])
    error_message = "Kafka topic names: 1-249 characters of letters, digits, '.', '_' and '-'."
  }
  validation {
    condition     = alltrue([for t in values(var.topics) : t.partitions >= 1 && t.partitions <= 4096 && floor(t.partitions) == t.partitions])
    error_message = "partitions must be a whole number from 1 to 4096."
  }
  validation {
    condition = alltrue(flatten([for t in values(var.topics) : [
      for k, v in t.config : k != "cleanup.policy" || contains(["delete", "compact", "compact,delete", "delete,compact"], v)
    ]]))
    error_message = "cleanup.policy must be delete, compact or compact,delete."
  }
  validation {
    condition = alltrue(flatten([for t in values(var.topics) : [
      for k, v in t.config : !contains(["retention.ms", "retention.bytes", "max.message.bytes", "min.insync.replicas", "segment.bytes"], k) || can(regex("^-?[0-9]+$", v))
    ]]))
    error_message = "retention.ms, retention.bytes, max.message.bytes, min.insync.replicas and segment.bytes must be integers."
  }
}

variable "name_prefix" {
  description = "Prepended to every topic name, e.g. \"ctt-<run>-\" so that parallel runs never share a topic; \"\" keeps the names as given."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{0,100}$", var.name_prefix))
    error_message = "name_prefix: up to 100 characters of letters, digits, '.', '_' and '-'."
  }
}

variable "default_config" {
  description = "Topic configs every topic gets unless it sets the key itself."
  type        = map(string)
  default     = {}
}

locals {
  topics = {
    for name, t in var.topics : name => {
      topic_name = "${var.name_prefix}${name}"
      partitions = t.partitions
      config     = merge(var.default_config, t.config)
    }
  }
}

output "topics" {
  description = "Topic key -> { topic_name (prefixed), partitions, config (defaults merged) }: what ../main.tf creates."
  value       = local.topics

  precondition {
    condition     = alltrue([for t in values(local.topics) : length(t.topic_name) <= 249])
    error_message = "a prefixed topic name is longer than 249 characters: shorten name_prefix."
  }
}

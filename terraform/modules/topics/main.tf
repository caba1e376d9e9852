# Kafka topics for Flink tests: one per name, run-scoped names come from ctt.
# Needs the confluentinc/confluent provider; see docs/confluent-cloud.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = ">= 2.0"
    }
  }
}

variable "cluster_id" {
  type = string
}

variable "rest_endpoint" {
  description = "The Kafka cluster's REST endpoint."
  type        = string
}

variable "kafka_api_key" {
  type      = string
  sensitive = true
}

variable "kafka_api_secret" {
  type      = string
  sensitive = true
}

variable "topics" {
  description = "Topic name -> settings."
  type = map(object({
    partitions = optional(number, 1)
    config     = optional(map(string), {})
  }))

  validation {
    condition     = alltrue([for name in keys(var.topics) : can(regex("^[a-zA-Z0-9._-]{1,249}$", name))])
    error_message = "Kafka topic names: 1-249 characters of letters, digits, '.', '_' and '-'."
  }
}

resource "confluent_kafka_topic" "this" {
  for_each = var.topics

  kafka_cluster {
    id = var.cluster_id
  }
  topic_name       = each.key
  partitions_count = each.value.partitions
  config           = each.value.config
  rest_endpoint    = var.rest_endpoint
  credentials {
    key    = var.kafka_api_key
    secret = var.kafka_api_secret
  }
}

output "topic_names" {
  value = { for k, t in confluent_kafka_topic.this : k => t.topic_name }
}

# Kafka topics on a Confluent Cloud cluster. What is created is decided (and
# tested offline) by ./spec; this file only maps it onto confluent_kafka_topic.
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

variable "cluster_id" {
  description = "The Kafka cluster, lkc-..."
  type        = string
}

variable "rest_endpoint" {
  description = "The Kafka cluster's REST endpoint (https://pkc-....confluent.cloud:443)."
  type        = string
}

variable "kafka_api_key" {
  description = "A Kafka API key of the cluster allowed to create topics."
  type        = string
  sensitive   = true
}

variable "kafka_api_secret" {
  description = "The secret of kafka_api_key."
  type        = string
  sensitive   = true
}

variable "topics" {
  description = "Topic name -> { partitions, config }; see spec/main.tf for the rules."
  type = map(object({
    partitions = optional(number, 1)
    config     = optional(map(string), {})
  }))
}

variable "name_prefix" {
  description = "Prepended to every topic name (\"\" keeps them as given)."
  type        = string
  default     = ""
}

variable "default_config" {
  description = "Topic configs every topic gets unless it sets the key itself."
  type        = map(string)
  default     = {}
}

module "spec" {
  source         = "./spec"
  topics         = var.topics
  name_prefix    = var.name_prefix
  default_config = var.default_config
}

resource "confluent_kafka_topic" "this" {
  for_each = module.spec.topics

  kafka_cluster {
    id = var.cluster_id
  }
  topic_name       = each.value.topic_name
  partitions_count = each.value.partitions
  config           = each.value.config
  rest_endpoint    = var.rest_endpoint
  credentials {
    key    = var.kafka_api_key
    secret = var.kafka_api_secret
  }
}

output "topic_names" {
  description = "Topic key -> the created topic's name."
  value       = { for k, t in confluent_kafka_topic.this : k => t.topic_name }
}

output "partitions" {
  description = "Topic name -> partitions."
  value       = { for t in confluent_kafka_topic.this : t.topic_name => t.partitions_count }
}

# A Confluent Cloud Flink compute pool (the seed's "test_pool").
# Needs the confluentinc/confluent provider (registry access); see docs/confluent-cloud.md.

terraform {
  required_version = ">= 1.6"
  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = ">= 2.0"
    }
  }
}

variable "display_name" {
  type    = string
  default = "test-compute-pool"

  validation {
    condition     = can(regex("^[0-9A-Za-z-][\\w.-]{0,63}$", var.display_name))
    error_message = "display_name: up to 64 letters, digits, '_', '.', '-' (fcpm v2 ComputePoolSpec)."
  }
}

variable "cloud_provider" {
  type = string

  validation {
    condition     = contains(["AWS", "GCP", "AZURE"], upper(var.cloud_provider))
    error_message = "cloud_provider must be AWS, GCP or AZURE."
  }
}

variable "region" {
  type = string
}

variable "max_cfu" {
  type    = number
  default = 5

  validation {
    condition     = contains([5, 10, 20, 30, 40, 50], var.max_cfu)
    error_message = "max_cfu must be one of 5, 10, 20, 30, 40, 50."
  }
}

variable "environment_id" {
  type = string
}

resource "confluent_flink_compute_pool" "test_pool" {
  display_name = var.display_name
  cloud        = upper(var.cloud_provider)
  region       = var.region
  max_cfu      = var.max_cfu

  environment {
    id = var.environment_id
  }
}

output "id" {
  value = confluent_flink_compute_pool.test_pool.id
}

output "display_name" {
  value = confluent_flink_compute_pool.test_pool.display_name
}

# One Flink statement on Confluent Cloud (the seed's "transformation_job").
# The SQL and the name are rendered and checked by ../statement-sql, which needs
# no provider; the statement itself needs the confluentinc/confluent provider.

terraform {
  required_version = ">= 1.6"
  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = ">= 2.0"
    }
  }
}

variable "statement_name" {
  type = string
}

variable "sql_template" {
  description = "Defaults to the seed's flink-sql/user-transformation.sql in this module."
  type        = string
  default     = null
}

variable "source_topic" {
  type = string
}

variable "target_topic" {
  type = string
}

variable "organization_id" {
  type = string
}

variable "environment_id" {
  type = string
}

variable "cluster_id" {
  type = string
}

variable "compute_pool_id" {
  type = string
}

variable "service_account_id" {
  type = string
}

variable "rest_endpoint" {
  description = "https://flink.<region>.<cloud>.confluent.cloud"
  type        = string
}

variable "flink_api_key" {
  type      = string
  sensitive = true
}

variable "flink_api_secret" {
  type      = string
  sensitive = true
}

variable "properties" {
  type    = map(string)
  default = {}
}

variable "stopped" {
  type    = bool
  default = false
}

module "sql" {
  source         = "../statement-sql"
  statement_name = var.statement_name
  sql_template   = coalesce(var.sql_template, "${path.module}/flink-sql/user-transformation.sql")
  template_vars = {
    source_topic = var.source_topic
    target_topic = var.target_topic
  }
  environment_id = var.environment_id
  cluster_id     = var.cluster_id
  properties     = var.properties
}

resource "confluent_flink_statement" "transformation_job" {
  organization {
    id = var.organization_id
  }
  environment {
    id = var.environment_id
  }
  compute_pool {
    id = var.compute_pool_id
  }
  principal {
    id = var.service_account_id
  }
  statement_name = module.sql.statement_name
  statement      = module.sql.statement
  properties     = module.sql.properties
  stopped        = var.stopped
  rest_endpoint  = var.rest_endpoint
  credentials {
    key    = var.flink_api_key
    secret = var.flink_api_secret
  }
}

output "statement_name" {
  value = confluent_flink_statement.transformation_job.statement_name
}

output "statement" {
  value = module.sql.statement
}

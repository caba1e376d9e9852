# Renders one Flink SQL statement for Confluent Cloud and checks it, with no provider:
# the name rules of the statements API and the dialect rules ctt enforces in
# ctt/engines/confluent_dialect.py (window TVFs only, no PROCTIME(), no connector
# options, SET/USE as properties). Used by ../flink-job; tested by
# terraform/tests/flink/*.tftest.hcl with `terraform test`, which needs no registry.

terraform {
  required_version = ">= 1.6"
}

variable "statement_name" {
  description = "Confluent statement name: at most 100 chars of [a-z0-9], '-' and '.' labels."
  type        = string

  validation {
    condition     = length(var.statement_name) <= 100
    error_message = "statement_name must be at most 100 characters."
  }
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", var.statement_name))
    error_message = "statement_name must match [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)* (lower case, digits, '-', '.')."
  }
}

variable "sql_template" {
  description = "Path of the SQL template (templatefile syntax: $${source_topic})."
  type        = string
}

variable "template_vars" {
  description = "Values for the template, e.g. { source_topic = ..., target_topic = ... }."
  type        = map(string)
  default     = {}
}

variable "environment_id" {
  description = "Confluent environment: the statement's sql.current-catalog."
  type        = string

  validation {
    condition     = can(regex("^env-[a-z0-9]+$", var.environment_id))
    error_message = "environment_id must look like env-xxxxx."
  }
}

variable "cluster_id" {
  description = "Kafka cluster: the statement's sql.current-database."
  type        = string

  validation {
    condition     = can(regex("^lkc-[a-z0-9]+$", var.cluster_id))
    error_message = "cluster_id must look like lkc-xxxxx."
  }
}

variable "properties" {
  description = "Further statement properties (what SET would do in a shell)."
  type        = map(string)
  default     = {}
}

locals {
  statement = trimspace(templatefile(var.sql_template, var.template_vars))
  # the dialect checks look at code only: '...' literals and comments become ~
  # one left-to-right pass, like a tokenizer: an apostrophe in a comment opens no string
  code       = upper(replace(local.statement, "/'([^']|'')*'|--[^\\n]*|(?s:/\\*.*?\\*/)/", " ~ "))
  statements = [for s in split(";", local.code) : s if trimspace(s) != ""]

  problems = compact([
    length(local.statements) == 1 ? "" : "exactly one statement per Confluent statement resource (found ${length(local.statements)})",
    can(regex("PROCTIME\\s*\\(", local.code)) ? "PROCTIME() does not exist in Confluent Cloud Flink SQL: use $rowtime or CURRENT_TIMESTAMP" : "",
    can(regex("GROUP\\s+BY[^;]*\\b(TUMBLE|HOP|SESSION)\\s*\\(", local.code)) ? "legacy GROUP BY TUMBLE/HOP/SESSION windows do not exist in Confluent Cloud: use window TVFs (FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL ...)))" : "",
    can(regex("(TUMBLE|HOP|SESSION)_(START|END|ROWTIME)\\s*\\(", local.code)) ? "TUMBLE_START/_END and friends do not exist in Confluent Cloud: select window_start/window_end of a window TVF" : "",
    can(regex("'CONNECTOR'\\s*=", upper(local.statement))) ? "'connector' options are not allowed: Confluent tables are Kafka topics" : "",
    can(regex("^\\s*(SET|USE)\\b", local.code)) ? "SET/USE are client-side in Confluent Cloud: pass them in var.properties" : "",
  ])

  statement_properties = merge(
    {
      "sql.current-catalog"  = var.environment_id
      "sql.current-database" = var.cluster_id
    },
    var.properties,
  )
}

output "statement" {
  description = "The rendered SQL, checked for the Confluent dialect."
  value       = local.statement

  precondition {
    condition     = length(local.problems) == 0
    error_message = "The Flink SQL is not valid for Confluent Cloud: ${join("; ", local.problems)}."
  }
  precondition {
    condition     = length(local.statement) <= 131072
    error_message = "spec.statement may hold at most 131072 characters."
  }
}

output "statement_name" {
  description = "The validated statement name."
  value       = var.statement_name
}

output "properties" {
  description = "spec.properties: catalog and database from the environment and cluster, plus var.properties."
  value       = local.statement_properties
}

output "problems" {
  description = "Dialect problems found (empty when the statement output exists)."
  value       = local.problems
}

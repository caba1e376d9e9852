# Root of `terraform test` for the provider-free suites (tests/flink): the run blocks
# load ../flink/modules/statement-sql themselves. It declares no resources and no
# providers, so `terraform init` here needs no registry.

terraform {
  required_version = ">= 1.6"
}

"""ctt: continuous testing for Kafka + Flink SQL pipelines."""

__version__ = "0.1.0"

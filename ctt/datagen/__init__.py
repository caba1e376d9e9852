"""Streaming data generator: fields, distributions, rates, event time, watermarks, late and malformed records.

Public surface: :class:`TableShape` and :class:`GeneratorConfig` (what to generate),
:func:`generate` (pure, deterministic records; :func:`ctt.datagen.pipeline.generate_pipelined`
makes the same records in a worker process), the ground-truth writer/reader, and
:func:`ctt.kafka.produce.produce` to send records to Kafka.
"""

from ctt.config.datagen import (
    Column,
    FieldSpec,
    Format,
    GeneratorConfig,
    MalformedKind,
    Partitioning,
    Pattern,
    TableShape,
)
from ctt.datagen.ground_truth import (
    GroundTruthHeader,
    GroundTruthRecord,
    GroundTruthWriter,
    read_ground_truth,
)
from ctt.kafka.record import GeneratedRecord

__all__ = [
    "Column",
    "FieldSpec",
    "Format",
    "GeneratedRecord",
    "GeneratorConfig",
    "GroundTruthHeader",
    "GroundTruthRecord",
    "GroundTruthWriter",
    "MalformedKind",
    "Partitioning",
    "Pattern",
    "TableShape",
    "read_ground_truth",
]

"""Pydantic models and loaders for every YAML file a user writes.

Public surface: the YAML loader with its source map (:mod:`ctt.config.yaml_source`),
re-exported here; modules outside ``ctt.config`` import from this package.
"""

from ctt.config.yaml_source import (
    Loc,
    SourceMap,
    load_yaml,
    load_yaml_cached,
    parse_model,
    suggest,
)

__all__ = ["Loc", "SourceMap", "load_yaml", "load_yaml_cached", "parse_model", "suggest"]

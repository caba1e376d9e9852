"""Pydantic models and loaders for every YAML file a user writes.

Public surface: :func:`load_yaml`, :func:`parse_model`, :class:`SourceMap`.
"""

from ctt.config._yaml import SourceMap, load_yaml, parse_model, suggest

__all__ = ["SourceMap", "load_yaml", "parse_model", "suggest"]

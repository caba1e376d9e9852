"""Validators registered by the seed's names; one module each under ``ctt.validate.checks``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctt.config import spec
from ctt.config.spec import LoadedTest
from ctt.observed.model import Outcome, ValidationContext

Parse = Callable[[Any], Any]
Check = Callable[[Any, ValidationContext], Outcome]


@dataclass(frozen=True)
class Validator:
    name: str
    parse: Parse
    check: Check
    doc: str


_REGISTRY: dict[str, Validator] = {}


def register(name: str, *, parse: Parse) -> Callable[[Check], Check]:
    """Decorator: ``@register("row_count", parse=parse_int)`` on a module's ``check``."""

    def deco(fn: Check) -> Check:
        if name in _REGISTRY:
            raise RuntimeError(f"validator {name!r} registered twice")
        _REGISTRY[name] = Validator(name, parse, fn, (fn.__doc__ or "").strip())
        return fn

    return deco


def _load() -> None:
    """Import every check module once (importing one check directly must not stop the rest)."""
    from ctt.validate import checks

    for mod in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{mod.name}")


def parsers() -> dict[str, Parse]:
    """Every validation name and the parser of its argument, for the spec loader."""
    _load()
    return {name: v.parse for name, v in sorted(_REGISTRY.items())}


def load_spec(path: Path) -> list[LoadedTest]:
    """A spec file's tests with every ``validation:`` item checked against the registry."""
    return spec.load_spec(path, validations=parsers())


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get(name: str) -> Validator:
    _load()
    return _REGISTRY[name]

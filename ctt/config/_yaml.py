"""YAML loading that remembers where each value came from.

pydantic reports errors by location (``("tests", "t1", "validation", 0)``);
users need ``file:line``. :class:`SourceMap` bridges the two, so every config
error in ctt points at the user's file, with the nearest valid name for typos.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ctt.errors import ConfigError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class SourceMap:
    """Line numbers (1-based) of every mapping key and sequence item, by path."""

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc`` or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on big files


def _construct(node: yaml.Node, loc: Loc, smap: SourceMap, loader: Any) -> Any:
    smap.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ConfigError(
                    "mapping keys must be plain scalars",
                    file=smap.file,
                    line=key_node.start_mark.line + 1,
                )
            skey = key if isinstance(key, str) else str(key)
            if skey in out:
                raise ConfigError(
                    f"duplicate key {skey!r}", file=smap.file, line=key_node.start_mark.line + 1
                )
            smap.lines[(*loc, skey)] = key_node.start_mark.line + 1
            out[skey] = _construct(value_node, (*loc, skey), smap, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), smap, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(path: Path | str, text: str | None = None) -> tuple[Any, SourceMap]:
    """Parse one YAML document; return plain data and its source map.

    Raises :class:`ConfigError` with ``file:line`` for syntax errors, duplicate
    keys and unreadable files.
    """
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", file=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read file: {exc}", file=name) from None
    smap = SourceMap(name)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, smap
        return _construct(node, (), smap, loader), smap
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", file=name, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=name) from None
    finally:
        loader.dispose()


def suggest(name: str, choices: typing.Iterable[str]) -> str | None:
    """The nearest valid name for a typo, or None."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str] | None:
    """Field names (aliases first) valid at ``loc`` inside ``model``, where it can be known."""
    tp: Any = model
    for part in loc:
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
            fld = tp.model_fields.get(part) or next(
                (f for f in tp.model_fields.values() if f.alias == part), None
            )
            if fld is None:
                return None
            tp = fld.annotation
        elif origin in (dict, typing.Mapping) or origin is list:
            tp = typing.get_args(tp)[-1]
        else:
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return None
            tp = args[0]
            return _fields_at(tp, (part,)) if isinstance(tp, type) else None
        while typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return None
            tp = args[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return None


def parse_model(model: type[M], data: Any, smap: SourceMap, *, root: Loc = ()) -> M:
    """Validate ``data`` into ``model``; turn the first pydantic error into a ConfigError.

    ``root`` is where ``data`` sits inside the file, so lines stay right when a
    caller validates one part of a document at a time.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: Loc = tuple(err["loc"])
        where = ".".join(str(p) for p in (*root, *loc)) or "(document)"
        hint = None
        if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            valid = _fields_at(model, loc[:-1]) or []
            near = suggest(loc[-1], valid)
            hint = f"did you mean {near!r}?" if near else f"valid keys: {', '.join(valid)}"
            message = f"unknown key {where!r}"
        else:
            message = f"{where}: {err['msg']}"
        raise ConfigError(
            message, file=smap.file, line=smap.line_of((*root, *loc)), hint=hint
        ) from None

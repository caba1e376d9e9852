"""YAML loading that remembers where each value came from.

pydantic reports errors by location (``("tests", "t1", "validation", 0)``);
users need ``file:line``. :class:`SourceMap` bridges the two, so every config
error in ctt points at the user's file, with the nearest valid name for typos.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
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


_CACHE_FORMAT = f"1/pyyaml {yaml.__version__}/{_Loader.__name__}"


def _json_safe(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (no dates, bytes, sets, NaN)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif item is not None and not isinstance(item, (str, int)):
            return False  # bool is an int
    return True


def load_yaml_cached(path: Path | str, cache_dir: Path | None) -> tuple[Any, SourceMap]:
    """:func:`load_yaml`, reusing the parse of an unchanged file from ``cache_dir``.

    Parsing a 10,000-suite catalogue costs ~0.5 s; the cached data and line map
    (JSON, keyed by the file's content) load in ~0.05 s. Errors are the same as
    :func:`load_yaml`'s: a file that fails to parse is never cached. Without
    ``cache_dir`` this is :func:`load_yaml`.
    """
    if cache_dir is None:
        return load_yaml(path)
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return load_yaml(path)  # the same errors, raised by the one place that words them
    key = hashlib.blake2b(raw + _CACHE_FORMAT.encode(), digest_size=16).hexdigest()
    slot = hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    entry = cache_dir / f"yaml-{slot}.json"
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if cached["key"] == key:
            lines = {tuple(item[1:]): item[0] for item in cached["lines"]}
            return cached["data"], SourceMap(name, lines)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # no entry, a stale or damaged one: parse
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
    except UnicodeDecodeError:
        return load_yaml(path)
    data, smap = load_yaml(path, text)
    if _json_safe(data):
        doc = {"key": key, "data": data, "lines": [[n, *loc] for loc, n in smap.lines.items()]}
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
            tmp.replace(entry)
        except OSError:
            pass  # a read-only cache only costs speed
    return data, smap


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

"""YAML loading that remembers where each value came from.

pydantic reports errors by location (``("tests", "t1", "validation", 0)``);
users need ``file:line:col`` and the line itself. :class:`SourceMap` bridges
the two, and :func:`parse_model` words pydantic's errors in the user's terms
("row 1 of `purchases` must be a mapping of column to value"), so every config
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

from ctt.config.durations import DurationError
from ctt.errors import ConfigError, snippet

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

__all__ = [
    "FastLoader",
    "Loc",
    "SourceMap",
    "load_yaml",
    "load_yaml_cached",
    "parse_model",
    "safe_load",
    "suggest",
    "user_loc",
]


@dataclass
class SourceMap:
    """Line and column (1-based) of every mapping key and sequence item, by path.

    ``text`` is the file as parsed, for the snippet below an error message.
    """

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)
    cols: dict[Loc, int] = field(default_factory=dict)
    text: str | None = field(default=None, repr=False, compare=False)

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc`` or of its nearest ancestor that has one."""
        return self.position(loc)[0]

    def position(self, loc: Loc) -> tuple[int | None, int | None]:
        """(line, column) of ``loc`` or of its nearest ancestor that has a line."""
        for end in range(len(loc), -1, -1):
            key = tuple(loc[:end])
            line = self.lines.get(key)
            if line is not None:
                return line, self.cols.get(key)
        return None, None

    def copy_subtree(self, src: Loc, dst: Loc) -> None:
        """Make everything recorded below ``src`` known below ``dst`` too (moved keys)."""
        n = len(src)
        for table in (self.lines, self.cols):
            for loc, value in list(table.items()):
                if loc[:n] == src:
                    table[(*dst, *loc[n:])] = value

    def error(
        self,
        message: str,
        loc: Loc = (),
        *,
        hint: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> ConfigError:
        """A ConfigError at ``loc`` (or at ``line``/``col``) with the file's snippet."""
        if line is None:
            line, col = self.position(loc)
        if line is not None and self.text is not None:
            # an empty or header-only document ends after its last line: point at that line
            lines = self.text.splitlines() or [""]
            if line > len(lines):
                line, col = len(lines), len(lines[-1]) + 1
        shown = snippet(self.text, line, col) if self.text and line else ""
        return ConfigError(
            message, file=self.file, line=line, col=col, hint=hint, snippet=shown or None
        )


FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader in libyaml's C when the wheel has it: about 10x faster on big files."""
_NODES_BASE, _NODES_PER_CHAR = 100_000, 10
"""More values than this (plus this per character) is a "billion laughs" of aliases, not a config."""


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` through :data:`FastLoader`: same data, a tenth of the CPU."""
    return yaml.load(text, Loader=FastLoader)


class _Builder:
    """Turns a composed node tree into plain data while filling the source map."""

    def __init__(self, smap: SourceMap, loader: Any, size: int) -> None:
        self.smap = smap
        self.loader = loader
        self.count = 0
        self.limit = _NODES_BASE + _NODES_PER_CHAR * size
        self.path: set[int] = set()  # ids of the collection nodes being built (alias cycles)

    def at(self, node: yaml.Node, message: str, hint: str | None = None) -> ConfigError:
        mark = node.start_mark
        return self.smap.error(message, hint=hint, line=mark.line + 1, col=mark.column + 1)

    def mark(self, loc: Loc, node: yaml.Node) -> None:
        if loc not in self.smap.lines:
            self.smap.lines[loc] = node.start_mark.line + 1
            self.smap.cols[loc] = node.start_mark.column + 1

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2024-13-45
            raise self.at(node, f"cannot read this value: {exc}") from None

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > self.limit:
            raise self.at(node, "the document expands to too many values (aliases)")
        self.mark(loc, node)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self.scalar(node)
        if id(node) in self.path:
            raise self.at(node, "an alias refers to a value that contains it")
        self.path.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            return self.mapping(node, loc)
        finally:
            self.path.discard(id(node))

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        self.loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.at(key_node, "mapping keys must be plain scalars")
            key = self.scalar(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise self.at(key_node, "mapping keys must be plain scalars")
            skey = key if isinstance(key, str) else str(key)
            if skey in out:
                raise self.at(key_node, f"duplicate key {skey!r}", hint="keep one")
            self.smap.lines[(*loc, skey)] = key_node.start_mark.line + 1
            self.smap.cols[(*loc, skey)] = key_node.start_mark.column + 1
            out[skey] = self.build(value_node, (*loc, skey))
        return out


def _inside(text: str, line: int, col: int) -> tuple[int, int]:
    """Clamp a parser mark to the file's last line (errors "at end of stream")."""
    lines = text.splitlines() or [""]
    if line > len(lines):
        return len(lines), len(lines[-1]) + 1
    return line, min(col, len(lines[line - 1]) + 1)


def load_yaml(path: Path | str, text: str | None = None) -> tuple[Any, SourceMap]:
    """Parse one YAML document; return plain data and its source map.

    Raises :class:`ConfigError` with ``file:line:col`` and a snippet for syntax
    errors, duplicate keys and unreadable files.
    """
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", file=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read file: {exc}", file=name) from None
    smap = SourceMap(name, text=text)
    try:
        loader = FastLoader(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=name) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, smap
        return _Builder(smap, loader, len(text)).build(node, ()), smap
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise ConfigError(f"invalid YAML: {problem}", file=name) from None
        line, col = _inside(text, mark.line + 1, mark.column + 1)
        raise smap.error(f"invalid YAML: {problem}", line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=name) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", file=name) from None
    finally:
        loader.dispose()


_CACHE_FORMAT = f"2/pyyaml {yaml.__version__}/{FastLoader.__name__}"


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
            lines = {tuple(item[2:]): item[0] for item in cached["lines"]}
            cols = {tuple(item[2:]): item[1] for item in cached["lines"]}
            text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
            return cached["data"], SourceMap(name, lines, cols, text)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # no entry, a stale or damaged one: parse
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
    except UnicodeDecodeError:
        return load_yaml(path)
    data, smap = load_yaml(path, text)
    if _json_safe(data):
        doc = {
            "key": key,
            "data": data,
            "lines": [[n, smap.cols.get(loc, 0), *loc] for loc, n in smap.lines.items()],
        }
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


def user_loc(data: Any, loc: Loc, *, keep_last: bool = False) -> Loc:
    """``loc`` with pydantic's union labels (``dict[str,TableData]``) removed: keys of the file only.

    A part is kept when it is a key or index of the data at that point;
    ``keep_last`` keeps the final part even when absent (a missing key).
    """
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        inside = (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if inside:
            node = node[part]
        elif not (keep_last and i == len(loc) - 1):
            continue
        out.append(part)
    return tuple(out)


_CONTAINERS = {
    "flink_transformation_tests": "test",
    "tables": "table",
    "test_data": "the data of",
    "expected": "the expected output",
    "suites": "suite",
    "pools": "pool",
    "dependencies": "dependency",
}
"""Maps whose keys are names the user chose: ``tables.users`` reads "table `users`"."""

_ITEMS = {"rows": "row", "deletes": "delete"}
"""Lists of a named thing: ``purchases.rows.0`` reads "row 1 of `purchases`"."""

_MAPPINGS = {"rows": "a mapping of column to value", "deletes": "a mapping of key column to value"}

_TYPE_WORDS = {
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dataclass_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "frozen_set_type": "a list",
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}
_BOUNDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def subject(loc: Loc) -> str:
    """How a user names the value at ``loc`` (a user loc): "`timeout`", "row 2 of `orders`"."""
    if not loc:
        return "the document"
    last = loc[-1]
    parent = loc[-2] if len(loc) > 1 else None
    if isinstance(last, int):
        noun = _ITEMS.get(str(parent))
        if noun and len(loc) > 2:
            return f"{noun} {last + 1} of `{loc[-3]}`"
        return f"item {last + 1} of `{parent}`" if parent is not None else f"item {last + 1}"
    if isinstance(parent, str) and parent in _CONTAINERS:
        return f"{_CONTAINERS[parent]} `{last}`"
    return f"`{last}`"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe(err: Any, loc: Loc, model: type[BaseModel]) -> tuple[str, str | None]:
    """One pydantic error as (message, hint) in the user's terms, at user loc ``loc``."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    what = subject(loc)
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        valid = _fields_at(model, tuple(err["loc"])[:-1]) or []
        near = suggest(loc[-1], valid)
        hint = (
            f"did you mean {near!r}?"
            if near
            else (f"valid keys: {', '.join(valid)}" if valid else None)
        )
        where = f" in {subject(loc[:-1])}" if len(loc) > 1 else ""
        return f"unknown key `{loc[-1]}`{where}", hint
    if kind == "missing" and loc:
        where = f" in {subject(loc[:-1])}" if len(loc) > 1 else ""
        return f"`{loc[-1]}` is required{where}", None
    if kind in _TYPE_WORDS:
        word = _TYPE_WORDS[kind]
        if word == "a mapping" and len(loc) > 1:
            word = _MAPPINGS.get(str(loc[-2]), word)
        return f"{what} must be {word}, not {_shown(err.get('input'))}", None
    if kind in ("enum", "literal_error"):
        return f"{what} must be one of {ctx.get('expected', '?')}", None
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"{what} must be {words} {ctx.get(key)}", None
    error = ctx.get("error")
    if isinstance(error, DurationError):
        return (
            f"{what} must be a duration like 30s, 500ms or 5m, not {_shown(err.get('input'))}",
            None,
        )
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return (f"{what} {msg}" if msg.startswith("must ") else f"{what}: {msg}"), None


def _best(errors: list[Any], data: Any) -> tuple[Any, Loc]:
    """The most specific error: the deepest place in the file (union branches that fit).

    At equal depth an unknown key wins over a missing one: ``schem`` next to a
    missing ``schema`` is one typo, and its hint names the fix.
    """
    ranked = [
        (err, user_loc(data, tuple(err["loc"]), keep_last=err["type"] == "missing"))
        for err in errors
    ]
    return max(ranked, key=lambda e: (len(e[1]), e[0]["type"] == "extra_forbidden"))


def parse_model(model: type[M], data: Any, smap: SourceMap, *, root: Loc = ()) -> M:
    """Validate ``data`` into ``model``; turn pydantic's errors into one ConfigError.

    The error names the value as the user wrote it and points at its
    ``file:line:col``. ``root`` is where ``data`` sits inside the file, so
    positions stay right when a caller validates one part of a document.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err, loc = _best(exc.errors(), data)
        message, hint = describe(err, loc, model)
        at = (*root, *loc)
        if err["type"] == "missing" and loc:
            at = at[:-1]  # the mapping that lacks the key
        raise smap.error(message, at, hint=hint) from None

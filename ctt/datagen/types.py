"""Flink SQL type strings parsed into a small tree the value generators dispatch on.

Only what a source table's physical columns use: numbers, strings, booleans,
temporal types and the nested ARRAY / MAP / ROW (both ``ROW<a INT>`` and
``ROW(a INT)``), each optionally ``NOT NULL``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    TINYINT = "TINYINT"
    SMALLINT = "SMALLINT"
    INT = "INT"
    BIGINT = "BIGINT"
    FLOAT = "FLOAT"
    DOUBLE = "DOUBLE"
    DECIMAL = "DECIMAL"
    BOOLEAN = "BOOLEAN"
    STRING = "STRING"
    BYTES = "BYTES"
    DATE = "DATE"
    TIME = "TIME"
    TIMESTAMP = "TIMESTAMP"
    TIMESTAMP_LTZ = "TIMESTAMP_LTZ"
    ARRAY = "ARRAY"
    MAP = "MAP"
    ROW = "ROW"


_ALIASES = {
    "INTEGER": Kind.INT,
    "VARCHAR": Kind.STRING,
    "CHAR": Kind.STRING,
    "DEC": Kind.DECIMAL,
    "NUMERIC": Kind.DECIMAL,
    "DOUBLE PRECISION": Kind.DOUBLE,
    "REAL": Kind.FLOAT,
    "VARBINARY": Kind.BYTES,
    "BINARY": Kind.BYTES,
}

INTEGER_KINDS = frozenset({Kind.TINYINT, Kind.SMALLINT, Kind.INT, Kind.BIGINT})


@dataclass(frozen=True)
class SqlType:
    """One parsed type. ``length`` for VARCHAR/CHAR, ``precision``/``scale`` for DECIMAL and time."""

    kind: Kind
    nullable: bool = True
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    element: SqlType | None = None  # ARRAY element, MAP value
    key: SqlType | None = None  # MAP key
    fields: tuple[tuple[str, SqlType], ...] = field(default=())  # ROW members


class TypeSyntaxError(ValueError):
    """A type string ctt cannot read."""


_TOKEN = re.compile(r"\s*(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),]|'[^']*')")


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise TypeSyntaxError(f"cannot read type {text!r} at {text[pos:]!r}")
        out.append(match.group(1))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok.upper() != expected):
            want = expected or "more"
            raise TypeSyntaxError(f"cannot read type {self.text!r}: expected {want}, got {tok!r}")
        self.i += 1
        return tok

    def number(self) -> int:
        tok = self.take()
        if not tok.isdigit():
            raise TypeSyntaxError(f"cannot read type {self.text!r}: expected a number, got {tok!r}")
        return int(tok)

    def params(self) -> list[int]:
        if self.peek() != "(":
            return []
        self.take("(")
        values = [self.number()]
        while self.peek() == ",":
            self.take(",")
            values.append(self.number())
        self.take(")")
        return values

    def parse(self) -> SqlType:
        result = self.type_()
        if self.peek() is not None:
            raise TypeSyntaxError(f"cannot read type {self.text!r}: unexpected {self.peek()!r}")
        return result

    def type_(self) -> SqlType:
        word = self.take().upper()
        if word == "DOUBLE" and (self.peek() or "").upper() == "PRECISION":
            self.take()
        if word in _ALIASES:
            kind = _ALIASES[word]
        else:
            try:
                kind = Kind(word)
            except ValueError:
                raise TypeSyntaxError(f"unsupported type {word!r} in {self.text!r}") from None
        result: SqlType
        if kind is Kind.ARRAY:
            result = SqlType(kind, element=self.nested_one())
        elif kind is Kind.MAP:
            key, value = self.nested_pair()
            result = SqlType(kind, key=key, element=value)
        elif kind is Kind.ROW:
            result = SqlType(kind, fields=self.row_fields())
        else:
            params = self.params()
            if kind is Kind.TIMESTAMP and (self.peek() or "").upper() == "WITH":
                for word_ in ("WITH", "LOCAL", "TIME", "ZONE"):
                    self.take(word_)
                kind = Kind.TIMESTAMP_LTZ
            if kind is Kind.DECIMAL:
                precision = params[0] if params else 10
                scale = params[1] if len(params) > 1 else 0
                result = SqlType(kind, precision=precision, scale=scale)
            elif kind in (Kind.TIMESTAMP, Kind.TIMESTAMP_LTZ, Kind.TIME):
                result = SqlType(kind, precision=params[0] if params else 6)
            elif kind is Kind.STRING and word in ("VARCHAR", "CHAR"):
                result = SqlType(kind, length=params[0] if params else 1)
            else:
                result = SqlType(kind)
        if (self.peek() or "").upper() == "NOT" and (self.peek(1) or "").upper() == "NULL":
            self.take()
            self.take()
            result = SqlType(
                result.kind,
                nullable=False,
                length=result.length,
                precision=result.precision,
                scale=result.scale,
                element=result.element,
                key=result.key,
                fields=result.fields,
            )
        elif (self.peek() or "").upper() == "NULL":
            self.take()
        return result

    def _open(self) -> str:
        tok = self.take()
        if tok not in ("<", "("):
            raise TypeSyntaxError(f"cannot read type {self.text!r}: expected '<' or '('")
        return ">" if tok == "<" else ")"

    def nested_one(self) -> SqlType:
        close = self._open()
        inner = self.type_()
        self.take(close)
        return inner

    def nested_pair(self) -> tuple[SqlType, SqlType]:
        close = self._open()
        key = self.type_()
        self.take(",")
        value = self.type_()
        self.take(close)
        return key, value

    def row_fields(self) -> tuple[tuple[str, SqlType], ...]:
        close = self._open()
        out: list[tuple[str, SqlType]] = []
        while True:
            name = self.take().strip("`")
            out.append((name, self.type_()))
            if (self.peek() or "").startswith("'"):
                self.take()  # field comment
            if self.peek() == ",":
                self.take(",")
                continue
            self.take(close)
            return tuple(out)


def parse_type(text: str) -> SqlType:
    """Parse a Flink SQL type string; raises :class:`TypeSyntaxError` with the text."""
    return _Parser(text).parse()

"""What ctt changes or refuses before Flink SQL goes to Confluent Cloud.

Users write one SQL text for both engines. Confluent Cloud's Flink SQL differs
from Apache Flink's in ways that fail late and cryptically in the cloud, so
ctt checks them here, before a statement costs a compute pool minute:

* window TVFs only: the legacy ``GROUP BY TUMBLE(...)`` group windows with
  ``TUMBLE_START``/``TUMBLE_END`` do not exist there. The simple forms (one
  table in ``FROM``, one group window) are rewritten mechanically to window
  TVFs; anything else is refused with an example of the TVF form;
* no ``PROCTIME()``: refused with advice (``$rowtime`` or ``CURRENT_TIMESTAMP``);
* tables are topics: ``'connector'`` options are refused, formats must be the
  Schema Registry ones;
* ``SET``/``USE`` are client-side: folded into ``spec.properties``.

It also derives valid statement names from ctt's run-scoped names. Everything
here is a pure function over text, on the tokens of :mod:`ctt.sql.lexer`, so
string literals, quoted identifiers and comments stay out of the way of the
rewrites; the group-window rewrite itself is :mod:`ctt.sql.group_windows`,
shared with the oracle.
"""

from __future__ import annotations

import hashlib
import itertools
import re

from pydantic import BaseModel, Field

from ctt.engines.base import StatementError
from ctt.sql import ddl
from ctt.sql.group_windows import GroupWindowError, rewrite_group_windows
from ctt.sql.lexer import TokenKind, code, line_col, tokenize
from ctt.sql.statements import parse_set, segments

__all__ = [
    "MAX_STATEMENT_NAME",
    "RESUMABLE_KINDS",
    "SCHEMA_REGISTRY_FORMATS",
    "STATEMENT_NAME_RE",
    "ConfluentDialectError",
    "ConfluentSql",
    "FoldedSql",
    "error_handling_options",
    "error_handling_sql",
    "fold_client_side",
    "is_valid_statement_name",
    "rewrite_legacy_group_windows",
    "split_statements",
    "statement_kind",
    "statement_name",
    "to_confluent",
]

STATEMENT_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
MAX_STATEMENT_NAME = 100
SCHEMA_REGISTRY_FORMATS = frozenset({"avro-registry", "json-registry", "proto-registry", "raw"})
RESUMABLE_KINDS = frozenset({"CREATE_TABLE_AS", "INSERT_INTO", "EXECUTE_STATEMENT_SET"})

_TVF_EXAMPLE = (
    "write a window TVF instead, e.g. SELECT user_id, window_start, COUNT(*) FROM "
    "TABLE(TUMBLE(TABLE user_events, DESCRIPTOR(event_timestamp), INTERVAL '1' HOUR)) "
    "GROUP BY user_id, window_start, window_end"
)


class ConfluentDialectError(StatementError):
    """The SQL uses something Confluent Cloud's Flink SQL does not have."""


# --------------------------------------------------------------------------- statements


def split_statements(sql: str) -> list[str]:
    """Split a script on ``;`` (not inside strings, identifiers or comments); comments kept."""
    return ["".join(t.text for t in seg).strip() for seg in segments(tokenize(sql)) if code(seg)]


def statement_kind(sql: str) -> str:
    """A coarse kind in Confluent's ``traits.sql_kind`` spelling (``CREATE_TABLE_AS`` ...)."""
    words = [t.upper for t in tokenize(sql) if t.is_word][:6]
    head = " ".join(words)
    if head.startswith("CREATE TABLE") and "AS" in _top_level_words(sql):
        return "CREATE_TABLE_AS"
    if head.startswith("INSERT INTO") or head.startswith("INSERT OVERWRITE"):
        return "INSERT_INTO"
    if head.startswith("EXECUTE STATEMENT SET") or head.startswith("STATEMENT SET"):
        return "EXECUTE_STATEMENT_SET"
    return words[0] if words else ""


def _top_level_words(sql: str) -> set[str]:
    depth = 0
    words: set[str] = set()
    for t in tokenize(sql):
        if t.is_punct("("):
            depth += 1
        elif t.is_punct(")"):
            depth -= 1
        elif t.is_word and depth == 0:
            words.add(t.upper)
    return words


class FoldedSql(BaseModel):
    """A script with its client-side ``SET``/``USE`` statements turned into properties."""

    statements: list[str]
    properties: dict[str, str] = Field(default_factory=dict)


def fold_client_side(sql: str, base: dict[str, str] | None = None) -> FoldedSql:
    """Turn ``SET 'k' = 'v'`` and ``USE [CATALOG] x`` into statement properties.

    Confluent Cloud has no sessions: ``SET`` and ``USE`` are handled by its
    clients and sent as ``spec.properties``. Later statements see the
    properties of the ``SET``/``USE`` before them, as in a shell session.
    """
    props = dict(base or {})
    statements: list[str] = []
    for stmt in split_statements(sql):
        toks = code(tokenize(stmt))
        head = toks[0].upper
        if head == "SET":
            option = parse_set(stmt)
            if option is None:
                raise ConfluentDialectError(
                    f"cannot read this SET statement: {_strip_comments(stmt)!r}",
                    hint="write SET 'key' = 'value'",
                )
            props[option[0]] = option[1]
        elif head == "USE" and len(toks) > 1 and toks[1].upper != "MODULES":
            catalog = toks[1].upper == "CATALOG"
            names = [t.value for t in toks[2 if catalog else 1 :] if t.is_name]
            text = _strip_comments(stmt)
            if catalog:
                if len(names) != 1:
                    raise ConfluentDialectError(f"USE CATALOG takes one name: {text!r}")
                props["sql.current-catalog"] = names[0]
            elif len(names) == 1:
                props["sql.current-database"] = names[0]
            elif len(names) == 2:
                props["sql.current-catalog"], props["sql.current-database"] = names
            else:
                raise ConfluentDialectError(f"USE takes [catalog.]database: {text!r}")
        else:
            statements.append(stmt)
    return FoldedSql(statements=statements, properties=props)


def _strip_comments(sql: str) -> str:
    comments = (TokenKind.COMMENT, TokenKind.UNTERMINATED_COMMENT)
    return "".join(t.text for t in tokenize(sql) if t.kind not in comments).strip()


# --------------------------------------------------------------------------- names


def is_valid_statement_name(name: str) -> bool:
    return len(name) <= MAX_STATEMENT_NAME and STATEMENT_NAME_RE.fullmatch(name) is not None


def statement_name(run_scoped: str) -> str:
    """A valid Confluent statement name derived from a ctt run-scoped name.

    Lower-cases, maps every other character to ``-``, trims each dot-separated
    label to start and end alphanumeric, and when the result exceeds 100
    characters cuts it. Whenever it had to change the input it appends a hash
    of the full input, so distinct run-scoped names stay distinct.
    """
    if is_valid_statement_name(run_scoped):
        return run_scoped
    labels = []
    for raw in run_scoped.lower().split("."):
        label = re.sub(r"[^a-z0-9-]+", "-", raw)
        label = re.sub(r"-{2,}", "-", label).strip("-")
        if label:
            labels.append(label)
    name = ".".join(labels) or "ctt"
    # the mapping is lossy (case, symbols, length): a hash of the input keeps it unique
    digest = hashlib.sha256(run_scoped.encode()).hexdigest()[:8]
    keep = name[: MAX_STATEMENT_NAME - len(digest) - 1].rstrip("-.")
    name = f"{keep}-{digest}"
    assert is_valid_statement_name(name), name
    return name


# --------------------------------------------------------------------------- checks


class ConfluentSql(BaseModel):
    """One statement ready for Confluent Cloud, with what ctt changed on the way."""

    sql: str
    rewrites: list[str] = Field(default_factory=list)


def to_confluent(sql: str) -> ConfluentSql:
    """Check one statement for Confluent Cloud and rewrite what is mechanical."""
    _refuse_proctime(sql)
    _refuse_connector_options(sql)
    rewritten = rewrite_legacy_group_windows(sql)
    rewrites = [] if rewritten == sql else ["legacy group window -> window TVF"]
    return ConfluentSql(sql=rewritten, rewrites=rewrites)


def _refuse_proctime(sql: str) -> None:
    toks = code(tokenize(sql))
    for tok, nxt in itertools.pairwise(toks):
        if tok.upper == "PROCTIME" and nxt.is_punct("("):
            raise ConfluentDialectError(
                "PROCTIME() does not exist in Confluent Cloud Flink SQL",
                sql_line=tok.line,
                hint="use the $rowtime column (the Kafka record time) or CURRENT_TIMESTAMP; "
                "processing-time windows are not available there",
            )


def _refuse_connector_options(sql: str) -> None:
    toks = code(tokenize(sql))
    for tok, eq, value_tok in zip(toks, toks[1:], toks[2:], strict=False):
        if tok.kind is not TokenKind.STRING or eq.text != "=":
            continue
        key = tok.value.lower()
        value = value_tok.value.lower() if value_tok.kind is TokenKind.STRING else ""
        if key == "connector":
            raise ConfluentDialectError(
                f"'connector' = '{value}' is not allowed in Confluent Cloud: "
                "tables are Kafka topics",
                sql_line=tok.line,
                hint="drop the connector options; set 'value.format' to avro-registry, "
                "json-registry or proto-registry",
            )
        if key in ("format", "key.format", "value.format") and value not in (
            SCHEMA_REGISTRY_FORMATS
        ):
            raise ConfluentDialectError(
                f"'{key}' = '{value}' is not a Confluent Cloud format",
                sql_line=tok.line,
                hint="use one of " + ", ".join(sorted(SCHEMA_REGISTRY_FORMATS)),
            )


# --------------------------------------------------------------------------- windows


def rewrite_legacy_group_windows(sql: str) -> str:
    """Rewrite ``GROUP BY ..., TUMBLE(ts, size)`` queries to the window TVF form.

    The rewrite is :func:`ctt.sql.group_windows.rewrite_group_windows`; what it
    cannot do mechanically is refused here with an example of the TVF form.
    """
    try:
        return rewrite_group_windows(sql).sql
    except GroupWindowError as exc:
        raise ConfluentDialectError(
            str(exc), sql_line=line_col(sql, exc.offset)[0], hint=_TVF_EXAMPLE
        ) from None


def error_handling_options(dead_letter: str) -> dict[str, str]:
    """Table options that send a source table's undeserializable records to ``dead_letter``.

    Confluent Cloud's equivalent of ctt's generated routing (``error_handling:`` in a spec):
    ``'error-handling.mode' = 'log'`` routes *deserialization* errors at the source only
    (not-JSON, a wrong type, a missing required field, a bad timestamp against the
    registered schema); an unknown enum value, an oversized record or a poison record
    parse, so they reach the SQL as on the local engine. The DLQ table's schema is
    Confluent's own (raw key/value bytes plus error metadata), not ctt's (payload, reason).
    """
    return {"error-handling.mode": "log", "error-handling.log.target": dead_letter}


def error_handling_sql(table: str, dead_letter: str) -> str:
    """``ALTER TABLE ... SET`` of :func:`error_handling_options` for an existing table (topic)."""
    return ddl.alter_options(table, error_handling_options(dead_letter))

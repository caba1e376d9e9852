"""Kafka-connector table DDL as Confluent Cloud tables, and the table names that go with it.

The runner declares every table the way the local engine needs it: the Kafka
connector over a run-scoped topic. In Confluent Cloud a table *is* its topic:
there are no connector options, the table's name is the topic's, and the
changelog and Schema Registry formats are table options. :class:`ConfluentCatalog`
turns one into the other, statement by statement, and renames the tables in
every later statement of the same engine session:

* ``CREATE TABLE user_events (...) WITH ('connector' = 'kafka', 'topic' = T, ...)``
  becomes ``CREATE TABLE `T` (...) WITH ('changelog.mode' = 'append',
  'value.format' = 'avro-registry', ...)``, and ``user_events`` is ``T`` from then on;
* ``CREATE TEMPORARY VIEW v AS q`` becomes a (persistent) ``CREATE VIEW`` with a
  session-unique name, since Confluent Cloud has no sessions; :attr:`views` lists
  them for the engine to drop at the end.

Only DDL whose connector is ``kafka`` or ``upsert-kafka`` with a ``topic`` is
translated (what :mod:`ctt.sql.ddl` writes); any other statement passes through
the renaming unchanged, so the dialect checks still see what the user wrote.
:func:`parse_create_table` is also what the contract server uses to go back.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from ctt.sql.lexer import Token, TokenKind, code, matching_paren, tokenize

__all__ = [
    "FORMATS",
    "ConfluentCatalog",
    "TableDdl",
    "parse_create_table",
    "rename_tables",
    "render_create_table",
]

# Apache Flink format -> Confluent Cloud format. Tables are read through Schema Registry;
# ctt produces a test's rows (not the local format's bytes) framed with Avro
# (ctt.kafka.registry), whatever the local format was: Confluent's default format, and the
# one Apache Flink's 'avro-confluent' also reads, so the contract server runs the same bytes.
FORMATS = {"json": "avro-registry", "avro": "avro-registry", "protobuf": "avro-registry"}
# options that belong to the Kafka connector, not to a Confluent table
_CONNECTOR_ONLY = ("connector", "topic", "key.fields")
_DROPPED_SUFFIXES = ("json.timestamp-format.standard",)


class TableDdl(BaseModel):
    """``CREATE TABLE name (columns) [DISTRIBUTED BY (...)] WITH (options)``, in parts."""

    name: str
    columns: str = Field(description="the text between the column list's parentheses")
    options: dict[str, str] = Field(default_factory=dict)
    distributed_by: list[str] = Field(default_factory=list)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def parse_create_table(sql: str) -> TableDdl | None:
    """The parts of a plain ``CREATE TABLE`` with a column list and ``WITH``; else None."""
    toks = code(tokenize(sql))
    words = [t.upper for t in toks[:3]]
    if words[:2] != ["CREATE", "TABLE"] or len(toks) < 4 or not toks[2].is_name:
        return None
    if not toks[3].is_punct("("):
        return None
    close = matching_paren(toks, 3)
    if close is None:
        return None
    columns = sql[toks[3].end : toks[close].offset].strip()
    i = close + 1
    distributed: list[str] = []
    if i + 2 < len(toks) and toks[i].upper == "DISTRIBUTED" and toks[i + 1].upper == "BY":
        end = matching_paren(toks, i + 2)
        if end is None:
            return None
        distributed = [t.value for t in toks[i + 3 : end] if t.is_name]
        i = end + 1
        while i < len(toks) and toks[i].upper != "WITH":
            i += 1  # INTO n BUCKETS
    if i + 1 >= len(toks) or toks[i].upper != "WITH" or not toks[i + 1].is_punct("("):
        return None
    end = matching_paren(toks, i + 1)
    if end is None or end != len(toks) - 1:
        return None
    options = _options(toks[i + 2 : end])
    if options is None:
        return None
    return TableDdl(
        name=toks[2].value, columns=columns, options=options, distributed_by=distributed
    )


def _options(toks: list[Token]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for n in range(0, len(toks), 4):
        key, eq, value = toks[n : n + 3]
        if key.kind is not TokenKind.STRING or eq.text != "=" or value.kind is not TokenKind.STRING:
            return None
        out[key.value] = value.value
        if n + 3 < len(toks) and not toks[n + 3].is_punct(","):
            return None
    return out


def render_create_table(ddl: TableDdl) -> str:
    opts = ",\n  ".join(
        f"'{k}' = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in ddl.options.items()
    )
    dist = (
        f"\nDISTRIBUTED BY ({', '.join(_quote(c) for c in ddl.distributed_by)})"
        if ddl.distributed_by
        else ""
    )
    return f"CREATE TABLE {_quote(ddl.name)} (\n  {ddl.columns}\n){dist} WITH (\n  {opts}\n)"


# words after which a name is a table; a FROM list runs until one of _FROM_ENDS
_TABLE_BEFORE = frozenset({"FROM", "JOIN", "INTO", "TABLE", "DESCRIBE", "VIEW", "UPDATE"})
_FROM_ENDS = frozenset(
    {"WHERE", "GROUP", "HAVING", "ORDER", "WINDOW", "LIMIT", "UNION", "ON", "SELECT", "USING"}
)


def rename_tables(sql: str, names: Mapping[str, str]) -> str:
    """Replace the table names in ``names`` where SQL names a table.

    A table position: after FROM/JOIN/INTO/TABLE/DESCRIBE/VIEW, after a comma of
    a FROM list, or as the qualifier of ``t.column``. A column or alias that
    happens to share a table's name (``COUNT(*) AS orders``) is left alone.
    """
    if not names:
        return sql
    toks = tokenize(sql)
    out: list[str] = []
    prev: Token | None = None
    in_from: list[bool] = [False]  # per parenthesis depth
    for i, tok in enumerate(toks):
        text = tok.text
        if tok.is_trivia:
            out.append(text)
            continue
        nxt = next((t for t in toks[i + 1 :] if not t.is_trivia), None)
        if tok.is_name and tok.value in names and not (prev is not None and prev.is_punct(".")):
            after_word = prev is not None and prev.upper in _TABLE_BEFORE
            in_list = prev is not None and prev.is_punct(",") and in_from[-1]
            qualifier = nxt is not None and nxt.is_punct(".")
            call = nxt is not None and nxt.is_punct("(")
            if (after_word or in_list or qualifier) and not call:
                text = _quote(names[tok.value])
        if tok.upper == "FROM":
            in_from[-1] = True
        elif tok.upper in _FROM_ENDS:
            in_from[-1] = False
        elif tok.is_punct("("):
            in_from.append(False)
        elif tok.is_punct(")") and len(in_from) > 1:
            in_from.pop()
        out.append(text)
        prev = tok
    return "".join(out)


def to_confluent_table(ddl: TableDdl) -> TableDdl | None:
    """The Confluent table for Kafka-connector DDL; None when it is not a Kafka table."""
    opts = dict(ddl.options)
    connector = opts.get("connector")
    topic = opts.get("topic")
    if connector not in ("kafka", "upsert-kafka") or not topic:
        return None
    value_format = opts.get("value.format") or opts.get("format") or "json"
    if value_format == "debezium-json":
        mode, value_format = "retract", "json"
    else:
        mode = "upsert" if connector == "upsert-kafka" else "append"
    out: dict[str, str] = {"changelog.mode": mode}
    if "key.format" in opts or mode == "upsert":
        out["key.format"] = FORMATS.get(opts.get("key.format", "json"), "avro-registry")
    out["value.format"] = FORMATS.get(value_format, value_format)
    for key, value in opts.items():
        if key in _CONNECTOR_ONLY or key.startswith("properties."):
            continue
        if key in ("format", "key.format", "value.format") or key.endswith(_DROPPED_SUFFIXES):
            continue
        if key.startswith("debezium-json."):
            continue
        out[key] = value.lower() if key == "value.fields-include" else value
    key_fields = [k for k in opts.get("key.fields", "").split(";") if k]
    return TableDdl(name=topic, columns=ddl.columns, options=out, distributed_by=key_fields)


class ConfluentCatalog:
    """One engine session's view of the catalog: table and view names, user's -> Confluent's."""

    def __init__(self, view_prefix: str) -> None:
        self.view_prefix = view_prefix
        self.names: dict[str, str] = {}
        self.views: list[str] = []

    def translate(self, sql: str) -> str:
        """The statement as Confluent Cloud should get it."""
        parsed = parse_create_table(sql)
        if parsed is not None:
            table = to_confluent_table(parsed)
            if table is not None:
                self.names[parsed.name] = table.name
                return render_create_table(table)
        view = self._temporary_view(sql)
        if view is not None:
            return view
        return rename_tables(sql, self.names)

    def _temporary_view(self, sql: str) -> str | None:
        toks = code(tokenize(sql))
        if [t.upper for t in toks[:3]] != ["CREATE", "TEMPORARY", "VIEW"] or len(toks) < 5:
            return None
        name_tok, as_tok = toks[3], toks[4]
        if not name_tok.is_name or as_tok.upper != "AS":
            return None
        query = rename_tables(sql[as_tok.end :], self.names)
        cname = f"{self.view_prefix}-{name_tok.value.strip('_')}"
        self.names[name_tok.value] = cname
        self.views.append(cname)
        return f"CREATE VIEW {_quote(cname)} AS{query}"

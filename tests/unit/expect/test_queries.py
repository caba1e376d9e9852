"""Query files: split on `;` outside quotes and comments, named by `-- name:`, lines kept."""

from __future__ import annotations

import pytest

from ctt.errors import ConfigError
from ctt.expect.queries import parse_file, split


def test_split_respects_quotes_and_comments() -> None:
    text = "SELECT ';' AS a; -- a ; comment\nSELECT \"x;y\" /* ; */ FROM t;\n\n-- only a comment\n"
    assert [(s.strip(), ln) for s, ln in split(text)] == [
        ("SELECT ';' AS a", 1),
        ('-- a ; comment\nSELECT "x;y" /* ; */ FROM t', 1),
    ]


def test_names_and_lines() -> None:
    qs = parse_file("-- name: a\nSELECT 1;\n\n-- name: b\n\nSELECT\n  2;\nSELECT 3", file="q.sql")
    assert [(q.name, q.line, q.sql) for q in qs] == [
        ("a", 2, "SELECT 1"),
        ("b", 6, "SELECT\n  2"),
        ("query 3", 8, "SELECT 3"),
    ]


def test_duplicate_names_and_empty_files() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_file("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;", file="q.sql")
    assert exc.value.location == "q.sql:4"
    with pytest.raises(ConfigError, match="no queries"):
        parse_file("-- nothing\n", file="q.sql")

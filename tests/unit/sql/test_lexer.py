"""The lexer: exact round trip, true positions, Flink's quoting, and never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctt.sql import lexer
from ctt.sql.lexer import Token, TokenKind, code, line_col, matching_paren, offset_of, tokenize

K = TokenKind

# SQL-shaped noise finds more edge cases than uniform text: quotes, comment starts, Jinja.
SQLISH = st.text(alphabet="ab1 .;(),=<>-*/'`\"\n\t{}%#$_", max_size=80)
ANY_TEXT = st.one_of(st.text(max_size=120), SQLISH)


def kinds(text: str) -> list[tuple[TokenKind, str]]:
    return [(t.kind, t.text) for t in tokenize(text) if t.kind is not K.WHITESPACE]


@settings(max_examples=300)
@given(ANY_TEXT)
def test_token_texts_concatenate_to_the_input(text: str) -> None:
    assert "".join(t.text for t in tokenize(text)) == text


@settings(max_examples=300)
@given(ANY_TEXT)
def test_each_token_is_where_its_line_and_col_say(text: str) -> None:
    offset = 0
    for tok in tokenize(text):
        assert tok.offset == offset and tok.text and text[tok.offset : tok.end] == tok.text
        line = text.count("\n", 0, tok.offset) + 1
        col = tok.offset - (text.rfind("\n", 0, tok.offset) + 1) + 1
        assert (tok.line, tok.col) == (line, col) == line_col(text, tok.offset)
        assert offset_of(text, tok.line, tok.col) == tok.offset
        offset = tok.end


@given(ANY_TEXT)
def test_unterminated_tokens_run_to_the_end(text: str) -> None:
    toks = tokenize(text)
    unterminated = {K.UNTERMINATED_STRING, K.UNTERMINATED_IDENTIFIER, K.UNTERMINATED_COMMENT}
    for tok in toks[:-1]:
        assert tok.kind not in unterminated


def test_flink_quoting() -> None:
    assert kinds("SELECT 'it''s', `a``b`, \"c\"\"d\" FROM t") == [
        (K.KEYWORD, "SELECT"),
        (K.STRING, "'it''s'"),
        (K.PUNCTUATION, ","),
        (K.QUOTED_IDENTIFIER, "`a``b`"),
        (K.PUNCTUATION, ","),
        (K.QUOTED_IDENTIFIER, '"c""d"'),
        (K.KEYWORD, "FROM"),
        (K.IDENTIFIER, "t"),
    ]
    string, ident = tokenize("'it''s'")[0], tokenize("`a``b`")[0]
    assert (string.value, ident.value) == ("it's", "a`b")


def test_comments_hide_quotes_and_semicolons() -> None:
    assert kinds("a -- it's; here\n/* ' ; */ b") == [
        (K.IDENTIFIER, "a"),
        (K.COMMENT, "-- it's; here"),
        (K.COMMENT, "/* ' ; */"),
        (K.IDENTIFIER, "b"),
    ]
    assert kinds("a - -1 / 2 */") == [
        (K.IDENTIFIER, "a"),
        (K.OPERATOR, "-"),
        (K.OPERATOR, "-"),
        (K.NUMBER, "1"),
        (K.OPERATOR, "/"),
        (K.NUMBER, "2"),
        (K.OPERATOR, "*"),
        (K.OPERATOR, "/"),
    ]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("'abc", K.UNTERMINATED_STRING, "abc"),
        ("'a''", K.UNTERMINATED_STRING, "a'"),  # '' is an escape, as Flink reads it
        ("`ab", K.UNTERMINATED_IDENTIFIER, "ab"),
        ("/* open", K.UNTERMINATED_COMMENT, "/* open"),
    ],
)
def test_unterminated_is_a_kind_of_its_own(text: str, kind: TokenKind, value: str) -> None:
    (tok,) = tokenize(text)
    assert (tok.kind, tok.value) == (kind, value)


def test_jinja_markup() -> None:
    assert kinds("FROM {{ src }}_x {% if a %}'{{ s }}'{# n #}") == [
        (K.KEYWORD, "FROM"),
        (K.JINJA_EXPRESSION, "{{ src }}"),
        (K.IDENTIFIER, "_x"),
        (K.JINJA_BLOCK, "{% if a %}"),
        (K.STRING, "'{{ s }}'"),  # inside a string, Jinja is the string's text
        (K.JINJA_BLOCK, "{# n #}"),
    ]
    assert kinds("{{ x") == [(K.PUNCTUATION, "{"), (K.PUNCTUATION, "{"), (K.IDENTIFIER, "x")]


def test_words_numbers_and_operators() -> None:
    assert kinds("$rowtime >= 1.5e3 AND x<>.5 || y => z") == [
        (K.IDENTIFIER, "$rowtime"),
        (K.OPERATOR, ">="),
        (K.NUMBER, "1.5e3"),
        (K.KEYWORD, "AND"),
        (K.IDENTIFIER, "x"),
        (K.OPERATOR, "<>"),
        (K.NUMBER, ".5"),
        (K.OPERATOR, "||"),
        (K.IDENTIFIER, "y"),
        (K.OPERATOR, "=>"),
        (K.IDENTIFIER, "z"),
    ]
    select = tokenize("select")[0]
    assert select.kind is K.KEYWORD and select.upper == "SELECT" and select.is_word
    assert tokenize("'select'")[0].upper == ""  # only unquoted words match by keyword


def test_positions_across_lines() -> None:
    text = "SELECT a,\r\n  'x\ny' AS b\nFROM t"
    by_text = {t.text: t for t in tokenize(text)}
    assert (by_text["'x\ny'"].line, by_text["'x\ny'"].col) == (2, 3)
    assert (by_text["AS"].line, by_text["AS"].col) == (3, 4)
    assert (by_text["FROM"].line, by_text["FROM"].col) == (4, 1)


def test_offset_of_clamps_to_the_line_and_text() -> None:
    text = "ab\ncd"
    assert offset_of(text, 1, 99) == 2  # end of line 1
    assert offset_of(text, 9, 1) == 3  # past the last line: its start
    assert offset_of(text, 0, 0) == 0


def test_code_and_matching_paren() -> None:
    toks = code(tokenize("f(a, (b) /* ) */, ')') x"))
    assert [t.text for t in toks][:3] == ["f", "(", "a"]
    close = matching_paren(toks, 1)
    assert close is not None and toks[close + 1].text == "x"
    assert matching_paren(toks, 0) is None  # not a "("
    assert matching_paren(code(tokenize("(a")), 0) is None


def test_public_surface() -> None:
    assert set(lexer.__all__) == {
        "KEYWORDS",
        "Token",
        "TokenKind",
        "code",
        "line_col",
        "matching_paren",
        "offset_of",
        "tokenize",
    }
    assert Token.__slots__  # tokens are small: scripts have thousands

"""The one Flink SQL lexer: typed tokens with offset, line and column, for everything that reads SQL.

No SQL library in the Python ecosystem knows Flink's dialect (backtick
identifiers, ``''`` escapes, Jinja in templates), and ctt only needs tokens,
not a parse tree: the statement splitter, lineage, the Confluent dialect, the
legacy group-window rewriter and the oracle all work on these.

Guarantees, tested as properties: the tokens' texts concatenate to the input
exactly; each token's ``line``/``col`` (1-based) is where its ``offset`` is;
:func:`tokenize` never raises. An unterminated string, quoted identifier or
block comment is a token of its own ``UNTERMINATED_*`` kind that runs to the
end of the text: the caller decides whether that is an error.

Lines are separated by ``\\n`` (so ``\\r\\n`` is one break); columns count
characters, as Flink's parser reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "KEYWORDS",
    "Token",
    "TokenKind",
    "code",
    "line_col",
    "matching_paren",
    "offset_of",
    "tokenize",
]


class TokenKind(StrEnum):
    KEYWORD = "keyword"  # an unquoted word in KEYWORDS (any case)
    IDENTIFIER = "identifier"  # any other unquoted word: names, functions, `$rowtime`
    QUOTED_IDENTIFIER = "quoted_identifier"  # `backticks` or "double quotes"
    STRING = "string"  # 'single quotes', '' escapes a quote
    NUMBER = "number"
    OPERATOR = "operator"  # = <> <= >= != || => + - * / % ...
    PUNCTUATION = "punctuation"  # ( ) [ ] , ; .
    COMMENT = "comment"  # -- to the end of the line, or /* ... */
    WHITESPACE = "whitespace"
    JINJA_EXPRESSION = "jinja_expression"  # {{ ... }}: a value, unknown until rendered
    JINJA_BLOCK = "jinja_block"  # {% ... %} and {# ... #}: template logic, not SQL
    UNTERMINATED_STRING = "unterminated_string"
    UNTERMINATED_IDENTIFIER = "unterminated_identifier"
    UNTERMINATED_COMMENT = "unterminated_comment"
    OTHER = "other"  # a character no SQL token starts with


# Reserved words that structure statements (Flink reserves many more; these are the ones ctt
# reads). Lineage relies on this set: a word in it is never a table name.
KEYWORDS = frozenset(
    """
    ALL ALTER AND AS BEGIN BETWEEN BY CASE CAST CREATE CROSS DELETE DESCRIBE DISTINCT DROP ELSE
    END EXCEPT EXECUTE EXISTS EXPLAIN FALSE FOR FROM FULL FUNCTION GROUP HAVING IF IN INNER INSERT
    INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LIKE LIMIT MATCH_RECOGNIZE MINUS NATURAL NOT NULL
    OF ON OR ORDER OUTER OVER OVERWRITE PARTITION PRIMARY RANGE REPLACE RIGHT ROWS SELECT SET
    STATEMENT SYSTEM_TIME TABLE TEMPORARY THEN TRUE UNION UNNEST UPDATE USING VALUES VIEW WHEN
    WHERE WINDOW WITH
    """.split()
)

_TRIVIA = frozenset(
    {
        TokenKind.WHITESPACE,
        TokenKind.COMMENT,
        TokenKind.UNTERMINATED_COMMENT,
        TokenKind.JINJA_BLOCK,
    }
)
_QUOTED = frozenset(
    {
        TokenKind.STRING,
        TokenKind.UNTERMINATED_STRING,
        TokenKind.QUOTED_IDENTIFIER,
        TokenKind.UNTERMINATED_IDENTIFIER,
    }
)

# Order matters: comments before operators (-- and /*), Jinja before punctuation ({).
# Possessive quantifiers (*+) read '' as an escape once and never backtrack, so a closing
# quote is found in linear time and 'a'' is an unterminated string, as Flink reads it.
_TOKEN_RE = re.compile(
    r"""
    (?P<whitespace>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<unterminated_comment>/\*.*)
  | (?P<jinja_expression>\{\{.*?\}\})
  | (?P<jinja_block>\{%.*?%\}|\{\#.*?\#\})
  | (?P<string>'(?:[^']|'')*+')
  | (?P<unterminated_string>'(?:[^']|'')*+)
  | (?P<quoted_identifier>`(?:[^`]|``)*+`|"(?:[^"]|"")*+")
  | (?P<unterminated_identifier>`(?:[^`]|``)*+|"(?:[^"]|"")*+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<word>(?:[^\W\d]|\$)[\w$]*)
  | (?P<operator><>|<=|>=|!=|==|\|\||=>|::|[-+*/%=<>!|&^~?:@#])
  | (?P<punctuation>[()\[\],;.{}])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its exact text and where it starts (offset, 1-based line and col)."""

    kind: TokenKind
    text: str
    offset: int
    line: int
    col: int

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.offset + len(self.text)

    @property
    def is_trivia(self) -> bool:
        """Whitespace, comments and Jinja blocks: what sits between code tokens."""
        return self.kind in _TRIVIA

    @property
    def is_word(self) -> bool:
        """An unquoted word, keyword or not (callers match words by :attr:`upper`)."""
        return self.kind in (TokenKind.KEYWORD, TokenKind.IDENTIFIER)

    @property
    def is_name(self) -> bool:
        """Something that can name a table or column: a word or a quoted identifier."""
        return self.is_word or self.kind in (
            TokenKind.QUOTED_IDENTIFIER,
            TokenKind.UNTERMINATED_IDENTIFIER,
        )

    @property
    def upper(self) -> str:
        """The upper-cased text of an unquoted word; ``""`` for every other token."""
        return self.text.upper() if self.is_word else ""

    @property
    def value(self) -> str:
        """A string's or quoted identifier's content without quotes and escapes; else the text."""
        if self.kind not in _QUOTED:
            return self.text
        quote = self.text[0]
        terminated = self.kind in (TokenKind.STRING, TokenKind.QUOTED_IDENTIFIER)
        inner = self.text[1:-1] if terminated else self.text[1:]
        return inner.replace(quote * 2, quote)

    def is_punct(self, char: str) -> bool:
        return self.kind is TokenKind.PUNCTUATION and self.text == char


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, trivia included, in order (never raises)."""
    out: list[Token] = []
    line, line_start = 1, 0
    for m in _TOKEN_RE.finditer(text):
        group = m.lastgroup or "other"
        tok_text = m.group()
        start = m.start()
        if group == "word":
            kind = TokenKind.KEYWORD if tok_text.upper() in KEYWORDS else TokenKind.IDENTIFIER
        else:
            kind = TokenKind(group)
        out.append(Token(kind, tok_text, start, line, start - line_start + 1))
        breaks = tok_text.count("\n")
        if breaks:
            line += breaks
            line_start = start + tok_text.rindex("\n") + 1
    return out


def code(tokens: list[Token]) -> list[Token]:
    """The tokens that are not trivia."""
    return [t for t in tokens if not t.is_trivia]


def matching_paren(tokens: list[Token], open_idx: int) -> int | None:
    """Index of the ``)`` closing the ``(`` at ``open_idx``; None when it is never closed."""
    depth = 0
    for i in range(open_idx, len(tokens)):
        tok = tokens[i]
        if tok.is_punct("("):
            depth += 1
        elif tok.is_punct(")"):
            depth -= 1
            if depth == 0:
                return i
    return None


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, col) of ``offset`` in ``text`` (clamped to the text)."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def offset_of(text: str, line: int, col: int) -> int:
    """The offset of 1-based (line, col) in ``text``; clamped to the line and to the text."""
    start = 0
    for _ in range(max(1, line) - 1):
        nl = text.find("\n", start)
        if nl == -1:
            break
        start = nl + 1
    end = text.find("\n", start)
    end = len(text) if end == -1 else end
    return min(start + max(1, col) - 1, end)

"""Mutation operators: one per kind of SQL mistake, registered by name, all reading lexer tokens.

Every operator has one signature, ``(tokens, text) -> Iterator[Mutant]`` (:attr:`Operator.fn`):
``tokens`` is :func:`ctt.sql.lexer.tokenize` of ``text`` and each mutant is in ``text``'s
coordinates (:mod:`ctt.mutate.sources` places it in the user's file). What an operator's code
finds is a :class:`Change` (label, edits, site); the registry turns each into a mutant. An
operator yields a mutant only where its pattern occurs, never the original text, and each
mutant changes one span (an edit that must touch two places to stay valid SQL, like a GROUP BY
column and its SELECT item, is the one span that covers both). Tokens, not regexes, so
strings, comments and Jinja never match by accident.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ctt.mutate.models import Mutant, Target
from ctt.sql.lexer import Token, TokenKind, code, line_col, matching_paren, tokenize

__all__ = ["OPERATORS", "Operator", "OperatorFn", "mutate_text", "names"]

OperatorFn = Callable[[list[Token], str], Iterator[Mutant]]

Edit = tuple[int, int, str]  # start, end, replacement


@dataclass(frozen=True)
class Change:
    """What an operator finds: a label, the edits of one mutant, and the offset it is reported at."""

    label: str
    edits: list[Edit]
    site: int


FinderFn = Callable[[list[Token], str], Iterator[Change]]


@dataclass(frozen=True)
class Operator:
    name: str
    target: Target
    doc: str
    fn: OperatorFn


OPERATORS: dict[str, Operator] = {}


def _register(name: str, target: Target = Target.SQL) -> Callable[[FinderFn], FinderFn]:
    """Register an operator that finds changes; its mutants are the changes that edit the text."""

    def deco(find: FinderFn) -> FinderFn:
        def fn(tokens: list[Token], text: str) -> Iterator[Mutant]:
            for change in find(tokens, text):
                m = _mutant(name, change.label, text, change.edits, change.site)
                if m is not None:
                    yield m

        OPERATORS[name] = Operator(name, target, (find.__doc__ or "").strip().splitlines()[0], fn)
        return find

    return deco


def names(target: Target | None = None) -> list[str]:
    return [n for n, op in OPERATORS.items() if target is None or op.target is target]


def mutate_text(text: str, operators: list[str] | None = None) -> list[Mutant]:
    """Every mutant of ``text`` by the named operators (default: all), in registry order."""
    tokens = tokenize(text)
    out: list[Mutant] = []
    for name in operators or list(OPERATORS):
        out += OPERATORS[name].fn(tokens, text)
    return out


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- building mutants ----------------------------------------------------------------------


def _mutant(operator: str, label: str, text: str, edits: list[Edit], site: int) -> Mutant | None:
    """One mutant from one or more edits, merged into the single span that covers them."""
    edits = sorted(edits)
    start, end = edits[0][0], max(e for _, e, _ in edits)
    parts, pos = [], start
    for s, e, repl in edits:
        if s < pos:
            return None  # overlapping edits: not one well-defined change
        parts += [text[pos:s], repl]
        pos = e
    parts.append(text[pos:end])
    replacement = "".join(parts)
    original = text[start:end]
    if replacement == original:
        return None
    line, col = line_col(text, site)
    return Mutant(
        operator=operator,
        label=label,
        description=label,
        line=line,
        col=col,
        site=site,
        start=start,
        end=end,
        original=original,
        replacement=replacement,
        text=text[:start] + replacement + text[end:],
    )


def _same_case(word: str, like: str) -> str:
    return word.lower() if like.islower() else word


def _squash(text: str) -> str:
    return " ".join(text.split())


def _is(tok: Token, *words: str) -> bool:
    return tok.upper in words


def _keywords(toks: list[Token], *words: str) -> Iterator[tuple[int, Token]]:
    """Index and token of each of ``words`` in ``toks``."""
    return ((i, t) for i, t in enumerate(toks) if t.upper in words)


def _args(toks: list[Token], open_idx: int, close_idx: int) -> list[tuple[int, int]]:
    """Top-level arguments of a call as (first, last) indices into ``toks``."""
    out, first, depth = [], open_idx + 1, 0
    for i in range(open_idx + 1, close_idx):
        t = toks[i]
        if t.is_punct("(") or t.is_punct("["):
            depth += 1
        elif t.is_punct(")") or t.is_punct("]"):
            depth -= 1
        elif t.is_punct(",") and depth == 0:
            out.append((first, i - 1))
            first = i + 1
    if first <= close_idx - 1:
        out.append((first, close_idx - 1))
    return out


def _nested(toks: list[Token], first: int) -> Iterator[tuple[int, Token, int]]:
    """``(index, token, paren depth)`` from ``first`` on, up to the ``)`` of an enclosing paren."""
    depth = 0
    for i in range(first, len(toks)):
        t = toks[i]
        if t.is_punct("("):
            depth += 1
        elif t.is_punct(")"):
            depth -= 1
            if depth < 0:
                return
        yield i, t, depth


def _extent(toks: list[Token], first: int, stops: frozenset[str]) -> int:
    """Last index of a clause starting at ``first``: up to a stop word, ``;`` or the closing ``)``."""
    last = first - 1
    for i, t, depth in _nested(toks, first):
        if depth == 0 and (t.is_punct(";") or t.upper in stops):
            break
        last = i
    return last


def _split(
    toks: list[Token], first: int, last: int, sep: Callable[[Token], bool]
) -> list[tuple[int, int]]:
    """Split ``toks[first..last]`` at top-level separators into (first, last) index pairs."""
    out, start, depth = [], first, 0
    for i in range(first, last + 1):
        t = toks[i]
        if t.is_punct("("):
            depth += 1
        elif t.is_punct(")"):
            depth -= 1
        elif depth == 0 and sep(t):
            out.append((start, i - 1))
            start = i + 1
    out.append((start, last))
    return [(a, b) for a, b in out if a <= b]


def _drop_item(toks: list[Token], items: list[tuple[int, int]], k: int) -> Edit:
    """Remove item ``k`` of a separated list with one of its separators."""
    a, b = items[k]
    if k + 1 < len(items):
        return (toks[a].offset, toks[items[k + 1][0]].offset, "")
    pb = items[k - 1][1]
    return (toks[pb].end, toks[b].end, "")


# --- intervals ---------------------------------------------------------------------------

_UNIT_MS = {"SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
_SMALLER = {"DAY": ("HOUR", 24), "HOUR": ("MINUTE", 60), "MINUTE": ("SECOND", 60)}
_LARGER = {"SECOND": ("MINUTE", 60), "MINUTE": ("HOUR", 60), "HOUR": ("DAY", 24)}


@dataclass(frozen=True)
class _Interval:
    """``INTERVAL 'n' UNIT`` with a whole number: tokens of the number and the unit."""

    number: Token
    unit: Token
    value: int

    @property
    def unit_name(self) -> str:
        return self.unit.upper.rstrip("S")

    @property
    def millis(self) -> int:
        return self.value * _UNIT_MS[self.unit_name]

    def literal(self) -> str:
        return f"{self.number.text} {self.unit.text}"


def _interval_at(toks: list[Token], i: int) -> _Interval | None:
    if not (_is(toks[i], "INTERVAL") and i + 2 < len(toks)):
        return None
    num, unit = toks[i + 1], toks[i + 2]
    if num.kind is not TokenKind.STRING or not unit.is_word:
        return None
    if unit.upper.rstrip("S") not in _UNIT_MS or not num.value.strip().isdigit():
        return None
    return _Interval(num, unit, int(num.value.strip()))


def _rescaled(iv: _Interval, factor: float) -> tuple[str, int] | None:
    """The literal ``'n' UNIT`` for ``iv`` times ``factor`` (kept within two digits) and its millis."""
    value, unit = iv.value * factor, iv.unit_name
    if value != int(value):  # an odd number halved: say it in the next smaller unit
        if unit not in _SMALLER:
            return None
        unit, per = _SMALLER[unit]
        value *= per
    n = int(value)
    while n >= 100 and unit in _LARGER and n % _LARGER[unit][1] == 0:
        unit, per = _LARGER[unit]
        n //= per
    if n <= 0:
        return None
    spelled = iv.unit.text if unit == iv.unit_name else _same_case(unit, iv.unit.text)
    if n >= 100:  # a field holds two digits unless its precision says more
        spelled = f"{_same_case(unit, iv.unit.text)}({len(str(n))})"
    return f"'{n}' {spelled}", n * _UNIT_MS[unit]


# --- window size and slide -------------------------------------------------------------------

_WINDOWS = {
    "TUMBLE": ("size",),
    "HOP": ("slide", "size"),
    "CUMULATE": ("step", "size"),
    "SESSION": ("gap",),
}
_AUX = ("_START", "_END", "_ROWTIME", "_PROCTIME")


def _call_intervals(toks: list[Token], open_idx: int) -> list[_Interval]:
    close = matching_paren(toks, open_idx)
    if close is None:
        return []
    out = []
    for a, b in _args(toks, open_idx, close):
        iv = _interval_at(toks, a)
        if iv is not None and b == a + 2:
            out.append(iv)
    return out


def _valid_window(func: str, millis: list[int]) -> bool:
    """HOP and CUMULATE need a size that is a whole multiple of the slide/step, and larger."""
    if func in ("HOP", "CUMULATE") and len(millis) == 2:
        step, size = millis
        return size > step and size % step == 0
    return True


@_register("window_size")
def window_size(tokens: list[Token], text: str) -> Iterator[Change]:
    """Window size, slide, step or gap doubled and halved (window TVFs and legacy group windows)."""
    toks = code(tokens)
    for i, t in enumerate(toks):
        if t.upper not in _WINDOWS or i + 1 >= len(toks) or not toks[i + 1].is_punct("("):
            continue
        if i > 0 and toks[i - 1].is_punct("."):
            continue
        func = t.upper
        intervals = _call_intervals(toks, i + 1)
        roles = _WINDOWS[func][-len(intervals) :] if intervals else ()
        legacy = not _is(toks[i + 2], "TABLE") if i + 2 < len(toks) else False
        # A legacy group window's TUMBLE_START(...) etc. must repeat its intervals exactly.
        aux: list[list[_Interval]] = []
        if legacy:
            for j, a in enumerate(toks):
                if a.upper not in {func + s for s in _AUX} or j + 1 >= len(toks):
                    continue
                if toks[j + 1].is_punct("("):
                    found = _call_intervals(toks, j + 1)
                    if [x.literal() for x in found] == [x.literal() for x in intervals]:
                        aux.append(found)
        for k, (iv, role) in enumerate(zip(intervals, roles, strict=True)):
            for verb, factor in (("doubled", 2.0), ("halved", 0.5)):
                new = _rescaled(iv, factor)
                if new is None:
                    continue
                literal, millis = new
                spans = [x.millis for x in intervals]
                spans[k] = millis
                if not _valid_window(func, spans):
                    continue
                edits = [(iv.number.offset, iv.unit.end, literal)]
                edits += [(a[k].number.offset, a[k].unit.end, literal) for a in aux]
                label = f"{func} {role} {iv.literal()} -> {literal} ({verb})"
                yield Change(label, edits, iv.number.offset)


# --- aggregates ------------------------------------------------------------------------------

_AGG_SWAP = {"SUM": "MAX", "MAX": "MIN", "MIN": "MAX", "AVG": "SUM"}
_AGGS = frozenset({*_AGG_SWAP, "COUNT"})


def _bare_column(toks: list[Token], a: int, b: int) -> str | None:
    """The text of ``col`` or ``t.col`` spanning ``toks[a..b]``, else None."""
    span = toks[a : b + 1]
    if len(span) == 1 and span[0].is_name and span[0].kind is not TokenKind.KEYWORD:
        return span[0].text
    if (
        len(span) == 3
        and span[0].is_name
        and span[1].is_punct(".")
        and span[2].is_name
        and span[2].kind is not TokenKind.KEYWORD
    ):
        return "".join(x.text for x in span)
    return None


def _agg_calls(toks: list[Token]) -> Iterator[tuple[int, int]]:
    for i, t in enumerate(toks):
        if t.upper not in _AGGS or t.kind is not TokenKind.IDENTIFIER or i + 1 >= len(toks):
            continue
        if toks[i + 1].is_punct("(") and not (i > 0 and toks[i - 1].is_punct(".")):
            close = matching_paren(toks, i + 1)
            if close is not None:
                yield i, close


@_register("aggregate_swap")
def aggregate_swap(tokens: list[Token], text: str) -> Iterator[Change]:
    """SUM -> MAX, MAX -> MIN, MIN -> MAX, AVG -> SUM, COUNT(DISTINCT x) <-> COUNT(x), COUNT(*) -> COUNT(DISTINCT col)."""
    toks = code(tokens)
    calls = list(_agg_calls(toks))
    # COUNT(*) becomes a distinct count of a column another aggregate reads: a plausible slip.
    column = None
    for i, close in calls:
        first = i + 2
        if first < close and _is(toks[first], "DISTINCT"):
            first += 1
        col = _bare_column(toks, first, close - 1)
        if col is not None:
            column = col
            break
    for i, close in calls:
        t = toks[i]
        if t.upper in _AGG_SWAP:
            new = _same_case(_AGG_SWAP[t.upper], t.text)
            change = Change(f"{t.text} -> {new}", [(t.offset, t.end, new)], t.offset)
        elif close == i + 3 and toks[i + 2].text == "*":
            if column is None:
                continue
            new = f"{_same_case('DISTINCT', t.text)} {column}"
            star = toks[i + 2]
            change = Change(
                f"{t.text}(*) -> {t.text}({new})", [(star.offset, star.end, new)], t.offset
            )
        elif close > i + 3 and _is(toks[i + 2], "DISTINCT"):
            d = toks[i + 2]
            arg = _squash(text[toks[i + 3].offset : toks[close - 1].end])
            change = Change(
                f"{t.text}({d.text} {arg}) -> {t.text}({arg})",
                [(d.offset, toks[i + 3].offset, "")],
                t.offset,
            )
        elif close > i + 2:
            arg0 = toks[i + 2]
            arg = _squash(text[arg0.offset : toks[close - 1].end])
            distinct = _same_case("DISTINCT", t.text)
            change = Change(
                f"{t.text}({arg}) -> {t.text}({distinct} {arg})",
                [(arg0.offset, arg0.offset, f"{distinct} ")],
                t.offset,
            )
        else:
            continue
        yield change


# --- comparisons -----------------------------------------------------------------------------

_CMP_SWAP = {">": ">=", ">=": ">", "<": "<=", "<=": "<", "=": "<>", "<>": "=", "!=": "="}
_CLAUSES = _words(
    "SELECT FROM WHERE HAVING ON WHEN THEN ELSE GROUP ORDER WITH SET JOIN LIMIT PARTITION "
    "VALUES OVER WINDOW"
)
_PREDICATE_CLAUSES = frozenset({"WHERE", "ON", "HAVING", "WHEN"})


def _clause_of(toks: list[Token], i: int) -> str | None:
    """The clause keyword a token belongs to, looking back past parenthesised groups."""
    depth = 0
    for j in range(i - 1, -1, -1):
        t = toks[j]
        if t.is_punct(")"):
            depth += 1
        elif t.is_punct("("):
            depth = max(0, depth - 1)  # leaving our own group: keep looking outward
        elif depth == 0 and t.upper in _CLAUSES:
            return t.upper
    return None


def _operand(toks: list[Token], i: int, step: int) -> str:
    """The name (``t.col``), literal or token next to ``toks[i]`` on one side, for labels."""
    j, parts = i + step, []
    while 0 <= j < len(toks) and (
        (toks[j].is_name and toks[j].kind is not TokenKind.KEYWORD) or toks[j].is_punct(".")
    ):
        parts.append(toks[j].text)
        j += step
    if not parts and 0 <= i + step < len(toks):
        parts = [toks[i + step].text]
    return "".join(reversed(parts) if step < 0 else parts)


@_register("comparison")
def comparison(tokens: list[Token], text: str) -> Iterator[Change]:
    """Comparison boundaries in WHERE, ON, HAVING and CASE WHEN: > <-> >=, < <-> <=, = <-> <>."""
    toks = code(tokens)
    for i, t in enumerate(toks):
        if t.kind is not TokenKind.OPERATOR or t.text not in _CMP_SWAP:
            continue
        clause = _clause_of(toks, i)
        if clause not in _PREDICATE_CLAUSES:
            continue
        new = _CMP_SWAP[t.text]
        left, right = _operand(toks, i, -1), _operand(toks, i, 1)
        label = f"{left} {t.text} {right} -> {left} {new} {right} ({clause})"
        yield Change(label, [(t.offset, t.end, new)], t.offset)


# --- joins -----------------------------------------------------------------------------------


@_register("join_type")
def join_type(tokens: list[Token], text: str) -> Iterator[Change]:
    """JOIN (or INNER JOIN) -> LEFT JOIN and LEFT [OUTER] JOIN -> JOIN."""
    toks = code(tokens)
    for i, t in _keywords(toks, "JOIN"):
        prev = toks[i - 1] if i > 0 else None
        prev2 = toks[i - 2] if i > 1 else None
        if prev is not None and _is(prev, "OUTER") and prev2 is not None and _is(prev2, "LEFT"):
            start, new = prev2.offset, _same_case("JOIN", t.text)
        elif prev is not None and _is(prev, "LEFT"):
            start, new = prev.offset, _same_case("JOIN", t.text)
        elif prev is not None and _is(prev, "RIGHT", "FULL", "CROSS", "NATURAL", "OUTER"):
            continue
        elif prev is not None and _is(prev, "INNER"):
            start, new = prev.offset, _same_case("LEFT JOIN", t.text)
        else:
            start, new = t.offset, _same_case("LEFT JOIN", t.text)
        old = _squash(text[start : t.end])
        yield Change(f"{old} -> {new}", [(start, t.end, new)], start)


_ON_STOPS = _words("WHERE GROUP HAVING ORDER LIMIT JOIN LEFT RIGHT INNER FULL CROSS UNION WINDOW")


@_register("join_interval")
def join_interval(tokens: list[Token], text: str) -> Iterator[Change]:
    """Each interval bound in a join's ON condition doubled (interval joins)."""
    toks = code(tokens)
    for i, _ in _keywords(toks, "ON"):
        if _clause_of(toks, i) != "JOIN":
            continue
        last = _extent(toks, i + 1, _ON_STOPS)
        for j in range(i + 1, last + 1):
            iv = _interval_at(toks, j)
            if iv is None or j + 2 > last:
                continue
            new = _rescaled(iv, 2.0)
            if new is None:
                continue
            label = f"join bound {iv.literal()} -> {new[0]}"
            yield Change(label, [(iv.number.offset, iv.unit.end, new[0])], iv.number.offset)


# --- filters ---------------------------------------------------------------------------------

_FILTER_STOPS = _words("GROUP HAVING ORDER LIMIT WINDOW UNION EXCEPT INTERSECT MINUS WHERE")


def _conjuncts(toks: list[Token], first: int, last: int) -> list[tuple[int, int]] | None:
    """Top-level AND operands of a condition; None when a top-level OR makes them unsafe to cut."""
    between = 0
    has_or = False

    def is_and(t: Token) -> bool:
        nonlocal between, has_or
        if _is(t, "OR"):
            has_or = True
        elif _is(t, "BETWEEN"):
            between += 1
        elif _is(t, "AND"):
            if not between:
                return True
            between -= 1  # BETWEEN a AND b
        return False

    parts = _split(toks, first, last, is_and)
    return None if has_or else parts


@_register("filter_removal")
def filter_removal(tokens: list[Token], text: str) -> Iterator[Change]:
    """One conjunct of a WHERE/HAVING AND chain dropped, or the whole WHERE/HAVING clause."""
    toks = code(tokens)
    for i, t in _keywords(toks, "WHERE", "HAVING"):
        last = _extent(toks, i + 1, _FILTER_STOPS)
        if last <= i:
            continue
        cond = _squash(text[toks[i + 1].offset : toks[last].end])
        parts = _conjuncts(toks, i + 1, last) or []
        if len(parts) > 1:
            for k, (a, b) in enumerate(parts):
                edit = _drop_item(toks, parts, k)
                what = _squash(text[toks[a].offset : toks[b].end])
                yield Change(f"{t.text} drops `{what}`", [edit], toks[a].offset)
        start = toks[i - 1].end if i > 0 else t.offset
        yield Change(f"{t.text} `{cond}` removed", [(start, toks[last].end, "")], t.offset)


# --- GROUP BY --------------------------------------------------------------------------------

_GROUP_STOPS = _words("HAVING ORDER LIMIT WINDOW UNION EXCEPT INTERSECT MINUS")
_WINDOW_COLUMNS = frozenset({"window_start", "window_end", "window_time"})


def _last_name(col: str) -> str:
    return col.rsplit(".", 1)[-1].strip('`"').lower()


def _select_items(toks: list[Token], group_idx: int) -> list[tuple[int, int]] | None:
    """The SELECT list of the query a GROUP BY at ``group_idx`` belongs to."""
    depth = 0
    for j in range(group_idx - 1, -1, -1):
        t = toks[j]
        if t.is_punct(")"):
            depth += 1
        elif t.is_punct("("):
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and _is(t, "SELECT"):
            first = j + 1
            if first < len(toks) and _is(toks[first], "DISTINCT", "ALL"):
                first += 1
            last = _extent(toks, first, frozenset({"FROM"}))
            return _split(toks, first, last, lambda x: x.is_punct(","))
    return None


def _is_bare_item(toks: list[Token], a: int, b: int, name: str) -> bool:
    """``col``, ``t.col``, ``col AS alias`` or ``col alias`` naming ``name``."""
    for end in (b, b - 1, b - 2):
        if end < a:
            break
        col = _bare_column(toks, a, end)
        if col is None or _last_name(col) != name:
            continue
        rest = toks[end + 1 : b + 1]
        if (
            not rest
            or (len(rest) == 1 and rest[0].is_name)
            or (len(rest) == 2 and _is(rest[0], "AS") and rest[1].is_name)
        ):
            return True
    return False


@_register("group_by_column")
def group_by_column(tokens: list[Token], text: str) -> Iterator[Change]:
    """One column dropped from GROUP BY, and from the SELECT list where it appears bare."""
    toks = code(tokens)
    for i, t in enumerate(toks):
        if not (_is(t, "GROUP") and i + 1 < len(toks) and _is(toks[i + 1], "BY")):
            continue
        last = _extent(toks, i + 2, _GROUP_STOPS)
        items = _split(toks, i + 2, last, lambda x: x.is_punct(","))
        select = _select_items(toks, i) or []
        for k, (a, b) in enumerate(items):
            col = _bare_column(toks, a, b)
            if col is None or _last_name(col) in _WINDOW_COLUMNS:
                continue
            if len(items) > 1:
                edits = [_drop_item(toks, items, k)]
            else:
                edits = [(toks[i - 1].end, toks[b].end, "")]
            bare = [
                n
                for n, (sa, sb) in enumerate(select)
                if _is_bare_item(toks, sa, sb, _last_name(col))
            ]
            if bare and len(bare) == len(select):
                continue  # nothing left to select
            kept = select
            for n in reversed(bare):  # drop from the end so earlier indices stay valid
                edits.append(_drop_item(toks, kept, n))
                kept = kept[:n] + kept[n + 1 :]
            yield Change(f"GROUP BY drops {col}", edits, toks[a].offset)


# --- CASE ------------------------------------------------------------------------------------

_LITERAL_WORDS = frozenset({"TRUE", "FALSE", "NULL"})


def _case_results(toks: list[Token], case_idx: int) -> list[Token]:
    """Single-literal results (THEN and ELSE values) of the CASE at ``case_idx``, in order."""
    out: list[Token] = []
    nested = 0
    for j, t, depth in _nested(toks, case_idx + 1):
        if _is(t, "CASE"):
            nested += 1
        elif _is(t, "END"):
            if nested == 0:
                break
            nested -= 1
        elif nested == 0 and depth == 0 and _is(t, "THEN", "ELSE") and j + 2 < len(toks):
            value, after = toks[j + 1], toks[j + 2]
            literal = (
                value.kind in (TokenKind.STRING, TokenKind.NUMBER) or value.upper in _LITERAL_WORDS
            )
            if literal and _is(after, "WHEN", "ELSE", "END"):
                out.append(value)
    return out


@_register("case_literal")
def case_literal(tokens: list[Token], text: str) -> Iterator[Change]:
    """Two neighbouring literal results of a CASE (THEN/ELSE values) swapped."""
    toks = code(tokens)
    for i, _ in _keywords(toks, "CASE"):
        results = _case_results(toks, i)
        for x, y in itertools.pairwise(results):
            if x.text == y.text:
                continue
            edits = [(x.offset, x.end, y.text), (y.offset, y.end, x.text)]
            yield Change(f"CASE swaps {x.text} <-> {y.text}", edits, x.offset)


# --- watermark (a table's `watermark:` in the spec YAML) -------------------------------------


@_register("watermark_delay", Target.WATERMARK)
def watermark_delay(tokens: list[Token], text: str) -> Iterator[Change]:
    """A table's watermark delay doubled, and set to 0 (the `watermark:` of the spec, not SQL)."""
    toks = code(tokens)
    for i in range(len(toks)):
        iv = _interval_at(toks, i)
        if iv is None or iv.value == 0:
            continue
        doubled = _rescaled(iv, 2.0)
        if doubled is not None:
            label = f"watermark delay {iv.literal()} -> {doubled[0]}"
            yield Change(label, [(iv.number.offset, iv.unit.end, doubled[0])], iv.number.offset)
        if i >= 2 and toks[i - 1].text == "-":
            label = f"watermark delay {iv.literal()} -> 0"
            edit = (toks[i - 2].end, iv.unit.end, "")
            yield Change(label, [edit], iv.number.offset)


# --- statement sets ---------------------------------------------------------------------------


@_register("insert_drop")
def insert_drop(tokens: list[Token], text: str) -> Iterator[Change]:
    """One INSERT of several dropped: a branch of the statement set (a dead-letter route) lost."""
    toks = code(tokens)
    inserts: list[tuple[int, int]] = []  # first token, the `;` that ends it (or the last token)
    start: int | None = 0
    for i, t in enumerate(toks):
        if start is None:
            start = i
        if t.is_punct(";") or i == len(toks) - 1:
            if _is(toks[start], "INSERT"):
                inserts.append((start, i))
            start = None
    if len(inserts) < 2:
        return
    for a, b in inserts:
        target = next((toks[k].text for k in range(a + 1, b + 1) if not _is(toks[k], "INTO")), "?")
        # from the end of the statement before, so the text after it stays as it was
        cut_from = toks[a - 1].end if a > 0 else toks[a].offset
        yield Change(f"INSERT INTO {target} dropped", [(cut_from, toks[b].end, "")], toks[a].offset)

"""Legacy group windows rewritten to window TVFs: one rewriter for the Confluent dialect and the oracle.

``SELECT k, TUMBLE_START(ts, INTERVAL '1' HOUR) ... FROM t GROUP BY k, TUMBLE(ts, INTERVAL '1' HOUR)``
becomes ``SELECT k, window_start ... FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' HOUR))
GROUP BY k, window_start, window_end``. Confluent Cloud only has the TVF form, and the oracle
models only the TVF form, so both read legacy windows through this.

Mechanical when each SELECT block with a legacy window reads one table (optionally aliased)
and groups by exactly one window: HOP keeps its (slide, size) order, SESSION partitions by the
block's other grouping keys, ``*_START``/``*_END``/``*_ROWTIME`` become ``window_start``/
``window_end``/``window_time``. Anything else raises :class:`GroupWindowError`, which names the
offset of the construct; callers translate it into their own error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctt.sql.lexer import Token, TokenKind, code, tokenize

__all__ = [
    "GroupWindowError",
    "GroupWindowRewrite",
    "RewrittenWindow",
    "legacy_window_calls",
    "rewrite_group_windows",
]

LEGACY_WINDOWS = {"TUMBLE": 2, "HOP": 3, "SESSION": 2}  # name -> argument count
_AUX = {"START": "window_start", "END": "window_end", "ROWTIME": "window_time"}
_SET_OPS = frozenset({"UNION", "INTERSECT", "EXCEPT", "MINUS"})
_AFTER_FROM = frozenset({"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "QUALIFY"})
_AFTER_GROUP = frozenset({"HAVING", "ORDER", "LIMIT", "WINDOW", "QUALIFY"})


class GroupWindowError(ValueError):
    """A legacy group window that cannot be rewritten mechanically; ``offset`` is where."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class RewrittenWindow:
    """One window TVF the rewrite produced, so a caller can tell it from a user-written TVF."""

    offset: int  # where its ``TABLE(`` starts in the rewritten text
    kind: str  # TUMBLE, HOP or SESSION
    source: str  # the table, as written
    alias: str | None  # the FROM alias, kept after the TVF


@dataclass(frozen=True, slots=True)
class GroupWindowRewrite:
    sql: str  # the input when there was nothing to rewrite, byte for byte
    windows: tuple[RewrittenWindow, ...] = ()


@dataclass
class _Calls:
    """Legacy window and auxiliary function calls of one SELECT block (code token indexes)."""

    select: int
    level: int | None  # the "(" the block is in, None at top level
    windows: list[int]
    aux: list[int]


class _Scan:
    """Code tokens with their parenthesis structure."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.toks: list[Token] = code(tokenize(sql))
        self.inside: list[int | None] = []  # innermost enclosing "(" of each token
        self.close: dict[int, int] = {}
        stack: list[int] = []
        for i, tok in enumerate(self.toks):
            if tok.is_punct(")") and stack:
                self.close[stack.pop()] = i
            self.inside.append(stack[-1] if stack else None)
            if tok.is_punct("("):
                stack.append(i)

    def closing(self, open_idx: int) -> int:
        if open_idx not in self.close:
            raise GroupWindowError("unbalanced parentheses", offset=self.toks[open_idx].offset)
        return self.close[open_idx]

    def text(self, lo: int, hi: int) -> str:
        """Source text of code tokens ``lo..hi`` (inclusive), comments inside kept."""
        return self.sql[self.toks[lo].offset : self.toks[hi].end]

    def items(self, lo: int, hi: int, level: int | None) -> list[tuple[int, int]]:
        """Comma-separated (first, last) index ranges of ``lo..hi-1`` at ``level``."""
        out: list[tuple[int, int]] = []
        start = lo
        for i in range(lo, hi):
            if self.toks[i].is_punct(",") and self.inside[i] == level:
                out.append((start, i - 1))
                start = i + 1
        out.append((start, hi - 1))
        return out

    def name(self, lo: int, hi: int) -> list[Token] | None:
        """The parts of a dotted name spanning exactly ``lo..hi``; None if it is not one."""
        parts = self.toks[lo : hi + 1]
        if not parts or len(parts) % 2 == 0:
            return None
        names, dots = parts[::2], parts[1::2]
        if all(t.is_name for t in names) and all(t.is_punct(".") for t in dots):
            return names
        return None


def _calls(scan: _Scan) -> list[_Calls]:
    toks, n = scan.toks, len(scan.toks)
    blocks: dict[int, _Calls] = {}
    for i in range(n - 1):
        tok = toks[i]
        if (
            not tok.is_word
            or not toks[i + 1].is_punct("(")
            or (i > 0 and toks[i - 1].is_punct("."))
        ):
            continue
        name = tok.upper
        base, _, suffix = name.rpartition("_")
        if name in LEGACY_WINDOWS:
            if _is_tvf(scan, i):
                continue
            is_window = True
        elif base in LEGACY_WINDOWS and suffix == "PROCTIME":
            raise GroupWindowError(
                f"{name}() is processing time: it has no equivalent in the window TVF form",
                offset=tok.offset,
            )
        elif base in LEGACY_WINDOWS and suffix in _AUX:
            is_window = False
        else:
            continue
        select, level = _block(scan, i)
        block = blocks.setdefault(select, _Calls(select, level, [], []))
        (block.windows if is_window else block.aux).append(i)
    return list(blocks.values())


def legacy_window_calls(sql: str) -> list[Token]:
    """The ``TUMBLE``/``HOP``/``SESSION`` tokens of legacy group window calls (not the TVF form)."""
    scan = _Scan(sql)
    toks = scan.toks
    return [
        tok
        for i, tok in enumerate(toks[:-1])
        if tok.upper in LEGACY_WINDOWS
        and toks[i + 1].is_punct("(")
        and not (i > 0 and toks[i - 1].is_punct("."))
        and not _is_tvf(scan, i)
    ]


def _is_tvf(scan: _Scan, i: int) -> bool:
    """``TUMBLE(TABLE t, ...)``, ``TABLE(TUMBLE(...``, or named arguments: the TVF form."""
    toks = scan.toks
    if i + 2 < len(toks) and toks[i + 2].upper == "TABLE":
        return True
    if i >= 2 and toks[i - 1].is_punct("(") and toks[i - 2].upper == "TABLE":
        return True
    return any(t.text == "=>" and scan.inside[k] == i + 1 for k, t in enumerate(toks))


def _block(scan: _Scan, i: int) -> tuple[int, int | None]:
    """(index of the SELECT, enclosing "(") of the innermost SELECT block containing token i."""
    toks = scan.toks
    level = scan.inside[i]
    while level is not None and not (level + 1 < len(toks) and toks[level + 1].upper == "SELECT"):
        level = scan.inside[level]
    select = next(
        (k for k in range(i, -1, -1) if scan.inside[k] == level and toks[k].upper == "SELECT"),
        None,
    )
    if select is None:
        raise GroupWindowError(
            f"{toks[i].text}(...) outside a SELECT cannot be rewritten", offset=toks[i].offset
        )
    return select, level


def _first(scan: _Scan, lo: int, hi: int, level: int | None, words: frozenset[str]) -> int:
    """Index of the first token in ``lo..hi-1`` at ``level`` that is one of ``words``; else hi."""
    return next(
        (
            k
            for k in range(lo, hi)
            if scan.inside[k] == level and (scan.toks[k].upper or scan.toks[k].text) in words
        ),
        hi,
    )


@dataclass
class _Edit:
    start: int
    end: int
    text: str
    window: RewrittenWindow | None = None


def _rewrite_block(scan: _Scan, block: _Calls) -> list[_Edit]:
    """The edits that turn one SELECT block's legacy group window into a window TVF."""
    toks = scan.toks
    first = min(block.windows + block.aux)
    if len(block.windows) != 1:
        raise GroupWindowError(
            "legacy group window functions need exactly one TUMBLE/HOP/SESSION in GROUP BY "
            f"(found {len(block.windows)})",
            offset=toks[first].offset,
        )
    (win,) = block.windows
    kind = toks[win].upper
    frm, group, group_end = _clauses(scan, block, win)
    win_close = scan.closing(win + 1)
    args = scan.items(win + 2, win_close, win + 1)
    if len(args) != LEGACY_WINDOWS[kind] or any(lo > hi for lo, hi in args):
        raise GroupWindowError(
            f"{kind} takes {LEGACY_WINDOWS[kind]} arguments", offset=toks[win].offset
        )
    time_col = scan.name(*args[0])
    if time_col is None:
        raise GroupWindowError(
            f"the time attribute of {kind}(...) must be a column", offset=toks[args[0][0]].offset
        )

    # FROM must be one plain table, optionally aliased, up to WHERE/GROUP.
    from_end = _first(scan, frm + 1, group, block.level, _AFTER_FROM)
    table, alias = _table(scan, frm + 1, from_end - 1)
    if table is None:
        raise GroupWindowError(
            f"cannot rewrite a legacy {kind} window over a join or subquery mechanically",
            offset=toks[frm].offset,
        )

    keys = _group_keys(scan, block.level, group, group_end, win)
    size = ", ".join(scan.text(lo, hi) for lo, hi in args[1:])
    # one key as is, several in parentheses (a bare list would split the TVF's arguments)
    by = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
    part = f" PARTITION BY {by}" if kind == "SESSION" and keys else ""
    tvf = f"TABLE({kind}(TABLE {table}{part}, DESCRIPTOR({time_col[-1].text}), {size}))"
    return [
        _Edit(
            toks[frm + 1].offset,
            toks[from_end - 1].end,
            tvf + (f" AS {alias}" if alias else ""),
            RewrittenWindow(0, kind, table, alias),
        ),
        _Edit(toks[win].offset, toks[win_close].end, "window_start, window_end"),
        *_aux_edits(scan, block, kind),
    ]


def _clauses(scan: _Scan, block: _Calls, win: int) -> tuple[int, int, int]:
    """(FROM, GROUP, end of GROUP BY) of the block; the window must be a GROUP BY item."""
    toks, level = scan.toks, block.level
    end = len(toks) if level is None else scan.closing(level)
    end = _first(scan, block.select + 1, end, level, _SET_OPS | {";"})
    group = _first(scan, block.select + 1, end, level, frozenset({"GROUP"}))
    frm = _first(scan, block.select + 1, group, level, frozenset({"FROM"}))
    group_end = _first(scan, group + 2, end, level, _AFTER_GROUP)
    if (
        group + 1 >= end
        or toks[group + 1].upper != "BY"
        or frm >= group
        or scan.inside[win] != level
        or not group < win < group_end
    ):
        raise GroupWindowError(
            f"{toks[win].upper}(...) outside GROUP BY cannot be rewritten", offset=toks[win].offset
        )
    return frm, group, group_end


def _group_keys(scan: _Scan, level: int | None, group: int, group_end: int, win: int) -> list[str]:
    """The column names of the GROUP BY items besides the window (SESSION needs columns)."""
    toks = scan.toks
    kind = toks[win].upper
    keys: list[str] = []
    for lo, hi in scan.items(group + 2, group_end, level):
        if lo <= win <= hi:
            continue
        if lo > hi:
            raise GroupWindowError("an empty GROUP BY item", offset=toks[group].offset)
        key = scan.name(lo, hi)
        if kind == "SESSION" and key is None:
            raise GroupWindowError(
                f"SESSION key {scan.text(lo, hi)!r} must be a column to become PARTITION BY",
                offset=toks[lo].offset,
            )
        if key is not None:
            keys.append(key[-1].text)
    return keys


def _aux_edits(scan: _Scan, block: _Calls, kind: str) -> list[_Edit]:
    """TUMBLE_START(...) and the like become window_start, window_end or window_time."""
    toks = scan.toks
    edits: list[_Edit] = []
    for i in block.aux:
        base, _, suffix = toks[i].upper.rpartition("_")
        if base != kind:
            raise GroupWindowError(
                f"{toks[i].text}() does not match the {kind} window in GROUP BY",
                offset=toks[i].offset,
            )
        edits.append(_Edit(toks[i].offset, toks[scan.closing(i + 1)].end, _AUX[suffix]))
    return edits


def _table(scan: _Scan, lo: int, hi: int) -> tuple[str | None, str | None]:
    """``a.b.c [AS] alias`` spanning ``lo..hi`` -> (name, alias); (None, None) if not that."""
    for name_hi in range(hi, lo - 1, -1):
        parts = scan.name(lo, name_hi)
        if parts is None:
            continue
        rest = scan.toks[name_hi + 1 : hi + 1]
        table = ".".join(t.text for t in parts)
        if not rest:
            return table, None
        if rest[0].upper == "AS":
            rest = rest[1:]
        if len(rest) == 1 and rest[0].is_name and rest[0].kind is not TokenKind.KEYWORD:
            return table, rest[0].text
        return None, None
    return None, None


def rewrite_group_windows(sql: str) -> GroupWindowRewrite:
    """``sql`` with every legacy group window in window TVF form (see the module docstring)."""
    scan = _Scan(sql)
    edits = [e for block in _calls(scan) for e in _rewrite_block(scan, block)]
    if not edits:
        return GroupWindowRewrite(sql)
    out: list[str] = []
    windows: list[RewrittenWindow] = []
    pos = 0
    length = 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < pos:
            raise GroupWindowError("overlapping group window functions", offset=edit.start)
        out.append(sql[pos : edit.start])
        length += edit.start - pos
        if edit.window is not None:
            w = edit.window
            windows.append(RewrittenWindow(length, w.kind, w.source, w.alias))
        out.append(edit.text)
        length += len(edit.text)
        pos = edit.end
    out.append(sql[pos:])
    return GroupWindowRewrite("".join(out), tuple(windows))

"""``ctt analyze``: write change-analysis.json, the changed files and the components each maps to.

The range comes from ``--base``/``--head``, GitLab's variables or the working
tree (``ctt.ci.analyze`` decides); this module writes the document and shows it.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from ctt.ci.analysis import ChangeAnalysis
from ctt.ci.select import run_analyze
from ctt.console import Output

__all__ = ["analyze", "under"]

SHOWN_FILES = 50
"""Changed files listed on the terminal; the document always has them all."""


def under(root: Path, path: Path) -> Path:
    """A config path given relative to ``--repo``."""
    return path if path.is_absolute() else root / path


def analyze(
    out: Output,
    *,
    repo: Path,
    base: str | None,
    head: str | None,
    use_merge_base: bool,
    output: Path,
    config: Path,
    suites: Path,
    cache_dir: Path | None,
) -> ChangeAnalysis:
    analysis, warnings = run_analyze(
        repo,
        base=base,
        head=head,
        use_merge_base=use_merge_base,
        selection_file=under(repo, config),
        suites_file=under(repo, suites),
        cache_dir=under(repo, cache_dir) if cache_dir else None,
    )
    for text in warnings:
        out.warn(escape(text))
    output.write_text(analysis.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if out.json_mode:
        out.emit_json(analysis)
    rng = f"{(analysis.base or 'empty tree')[:12]}..{(analysis.head or 'working tree')[:12]}"
    out.info(f"{len(analysis.files)} changed file(s) ({analysis.source.value} {rng}) -> {output}")
    for f in analysis.files[:SHOWN_FILES]:
        old = f" (from {f.old_path})" if f.old_path else ""
        out.info(escape(f"  {f.status.value:<9} {f.path}{old}  {', '.join(f.components)}"))
    return analysis

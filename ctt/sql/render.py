"""Jinja2 rendering of Flink SQL: sandboxed, strict about undefined names, templates under flink/sql/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ctt.config.spec_scan import SQL_ROOT as _SQL_ROOT
from ctt.config.spec_scan import resolve_template
from ctt.errors import ConfigError

SQL_ROOT = Path(_SQL_ROOT)


def find_sql_root(start: Path) -> Path | None:
    """``flink/sql`` in the nearest ancestor of ``start`` (the spec's repository)."""
    found = resolve_template("", start, Path.is_dir)
    return found.root if found else None


def _env(root: Path | None) -> SandboxedEnvironment:
    loader = jinja2.FileSystemLoader(str(root)) if root else None
    return SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_text(text: str, params: dict[str, Any], *, file: str, line_offset: int = 0) -> str:
    """Render inline SQL; errors point at the spec file line of the SQL."""
    try:
        return _env(None).from_string(text).render(**params)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template error: {exc.message}", file=file, line=line_offset + (exc.lineno or 1) - 1
        ) from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"template error: {exc.message}",
            file=file,
            line=line_offset or None,
            hint="define it under `params:`",
        ) from None


def render_template(name: str, params: dict[str, Any], *, spec_dir: Path) -> tuple[str, Path]:
    """Render ``flink/sql/<name>``; returns the SQL and the template's path.

    The template is found by :func:`ctt.config.spec_scan.resolve_template`, the
    rule selection uses too, so a change to the file selects the specs that run it.
    """
    found = resolve_template(name, spec_dir.resolve(), Path.is_dir)
    if found is None:
        raise ConfigError(f"no flink/sql/ directory above {spec_dir} to find template {name!r}")
    root, rel = found
    path = found.path
    env = _env(root)
    try:
        return env.get_template(rel).render(**params), path
    except jinja2.TemplateNotFound:
        raise ConfigError(f"SQL template {rel!r} not found under {root}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template error: {exc.message}", file=str(path), line=exc.lineno
        ) from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(
            f"template error: {exc.message}", file=str(path), hint="define it under `params:`"
        ) from None

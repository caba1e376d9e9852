"""Rendering the stack's config templates (``stack/templates/``) with Jinja2."""

from __future__ import annotations

from pathlib import Path

import jinja2

from ctt.stack import paths


def render(template: str, target: Path, **ctx: object) -> None:
    """Render ``stack/templates/<template>`` into ``target``; a missing variable is an error."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    text = (paths.stack_resources() / "templates" / template).read_text()
    target.write_text(env.from_string(text).render(**ctx))

"""Dependencies point one way (docs/architecture.md): read from ctt's imports with ast."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("architecture", ROOT / "scripts" / "architecture.py")
assert _spec and _spec.loader
arch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arch)


def test_no_arrow_runs_back_up() -> None:
    assert arch.violations(arch.imports()) == []


def test_no_import_cycle_between_modules() -> None:
    assert arch.module_cycles() == []


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in (ROOT / "ctt").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in (ROOT / "ctt").glob("*.py")}
    assert (packages | modules) - set(arch.LAYERS) == set()


def test_sideways_arrows_stay_within_a_layer() -> None:
    for src, dst in arch.SIDEWAYS:
        assert arch.LAYERS[src] == arch.LAYERS[dst], (src, dst)


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: config importing the runner is an arrow back up."""
    arrows = {("config", "flinktest"): ["ctt/config/spec.py:1"]}
    assert arch.violations(arrows) == ["ctt/config/spec.py:1: config -> flinktest runs back up (1 import(s))"]


def test_docs_show_the_layers_as_built() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert arch.doc_with_table(doc, arch.imports()) == doc, "run: uv run python scripts/architecture.py --write"

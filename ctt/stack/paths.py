"""Where the stack keeps its artifacts (cache), its state file and its run directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

import ctt


def cache_dir() -> Path:
    """Artifact cache (XDG cache); ``CTT_CACHE_DIR`` overrides it."""
    env = os.environ.get("CTT_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("ctt")) / "stack"


def state_dir() -> Path:
    """Where the running stack's state file and data live; ``CTT_STATE_DIR`` overrides it."""
    env = os.environ.get("CTT_STATE_DIR")
    return Path(env) if env else Path(platformdirs.user_state_dir("ctt")) / "stack"


def stack_resources() -> Path:
    """The ``stack/`` folder: pinned versions, poms, lock file and config templates.

    In a checkout it sits beside the package; in a wheel it is packaged as ``ctt/_stack``.
    """
    package = Path(ctt.__file__).resolve().parent
    for candidate in (package.parent / "stack", package / "_stack"):
        if (candidate / "versions.yaml").is_file():
            return candidate
    raise FileNotFoundError("ctt's stack/ resources are missing from this installation")

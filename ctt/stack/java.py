"""Finding a Java runtime and its major version."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ctt.errors import InfraError


class JavaError(InfraError):
    """No usable Java: missing or too old."""


def java_binary() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def java_version(java: Path) -> int | None:
    """Major version (17, 21, ...) from ``java -version``."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major


def require_java(minimum: int) -> Path:
    java = java_binary()
    if java is None:
        raise JavaError(
            "Java is not installed (no JAVA_HOME, no java on PATH)",
            hint=f"install a JDK {minimum}+, e.g. `apt-get install openjdk-{minimum}-jre-headless`",
        )
    version = java_version(java)
    if version is None or version < minimum:
        raise JavaError(
            f"{java} is Java {version or 'unknown'}, the stack needs Java {minimum}+",
            hint=f"install Java {minimum}+ and set JAVA_HOME to it",
        )
    return java

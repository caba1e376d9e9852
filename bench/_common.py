"""Shared by the benchmarks: the machine description and writing one section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"


def run_cli(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """``argv`` from the repository root as a user runs it (no colour): (process, wall seconds)."""
    t0 = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, time.monotonic() - t0


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True, check=False).stdout
    total = next((ln.split()[1] for ln in mem.splitlines() if ln.startswith("Mem:")), "?")
    return f"{os.cpu_count()} cores (`nproc`), {total} GB RAM (`free -g`), {cpu}"


def write_section(title: str, body: str, command: str, machine_text: str) -> None:
    """Replace (or append) the ``### title`` subsection under ``## Continuous testing``."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    head = "## Continuous testing: execution and aggregation"
    block = f"### {title}\n\nCommand: `{command}`  \nMachine: {machine_text}\n\n{body.strip()}\n"
    if head not in text:
        text = text.rstrip() + f"\n\n{head}\n\n{block}"
    else:
        start = text.index(head)
        nxt = re.search(r"^## ", text[start + len(head) :], flags=re.M)
        end = start + len(head) + nxt.start() if nxt else len(text)
        section = text[start:end]
        pat = re.compile(rf"^### {re.escape(title)}\n.*?(?=^### |\Z)", flags=re.M | re.S)
        section = (
            pat.sub(lambda _m: block + "\n", section)
            if pat.search(section)
            else section.rstrip() + f"\n\n{block}"
        )
        text = (
            text[:start] + section.rstrip() + "\n" + ("\n" + text[end:] if end < len(text) else "")
        )
    DOC.write_text(text, encoding="utf-8")


def replace_section(head: str, body: str, command: str, machine_text: str) -> None:
    """Replace (or append) the whole ``## head`` section of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"## {head}\n\nCommand: `{command}`  \nMachine: {machine_text}\n\n{body.strip()}\n"
    pat = re.compile(rf"^## {re.escape(head)}\n.*?(?=^## |\Z)", flags=re.M | re.S)
    text = (
        pat.sub(lambda _m: block + "\n", text)
        if pat.search(text)
        else text.rstrip() + f"\n\n{block}"
    )
    DOC.write_text(text, encoding="utf-8")

"""The monitoring and scheduling libraries stay out of ``ctt``'s start-up: ``import ctt.cli``
(what every command pays) loads none of them; only the commands that use them do."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("opentelemetry", "prometheus_client", "google.protobuf", "croniter", "requests")


def test_startup_does_not_import_the_exporters() -> None:
    code = (
        "import sys, ctt.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules if m.startswith({HEAVY!r})}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

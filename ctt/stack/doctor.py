"""`ctt doctor`: is this machine ready to run the local stack? Each check says what to do."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from pydantic import BaseModel

from ctt.errors import InfraError
from ctt.stack import artifacts, paths, ports, postgres, state
from ctt.stack.java import java_binary, java_version


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    advice: str | None = None

    @classmethod
    def of(cls, name: str, ok: bool, detail: str, advice: str) -> Check:
        """A check whose ``advice`` is shown only when it fails."""
        return cls(name=name, ok=ok, detail=detail, advice=None if ok else advice)


def _java() -> Check:
    minimum = artifacts.load_versions().java_min
    java = java_binary()
    if java is None:
        advice = f"install a JDK {minimum}+ (e.g. apt-get install openjdk-{minimum}-jre-headless)"
        return Check.of("java", False, "not found", advice)
    version = java_version(java)
    ok = version is not None and version >= minimum
    advice = f"Kafka 4 and Flink 2 need Java {minimum}+: set JAVA_HOME"
    return Check.of("java", ok, f"{java} (Java {version})", advice)


def _maven() -> Check:
    if artifacts.is_cached():
        return Check(name="maven", ok=True, detail="not needed: artifacts are cached")
    mvn = shutil.which("mvn")
    if mvn is None:
        advice = (
            "install Maven (apt-get install maven): it resolves the pinned Kafka and Flink jars"
        )
        return Check.of("maven", False, "not found", advice)
    out = subprocess.run([mvn, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout.splitlines() or ["?"])[0]
    return Check(
        name="maven",
        ok=out.returncode == 0,
        detail=first.replace("\x1b[1m", "").replace("\x1b[m", ""),
    )


def _cache() -> Check:
    cached = artifacts.is_cached()
    lay = artifacts.layout()
    return Check(
        name="artifacts",
        ok=True,
        detail=f"{'cached' if cached else 'not cached yet'} in {lay.root}",
        advice=None if cached else "`ctt stack fetch` downloads them once (about 400 MB)",
    )


def _connect() -> Check:
    """The Kafka Connect worker and JDBC sink jars (`--with connect`), fetched on first use."""
    v = artifacts.load_versions()
    cached = artifacts.is_cached(connect=True)
    where = artifacts.layout(v).connect_home
    return Check(
        name="connect",
        ok=True,
        detail=(
            f"Kafka Connect {v.kafka.version} + debezium-connector-jdbc "
            f"{v.connect.jdbc_sink.version}: {'cached' if cached else 'not cached yet'} in {where.parent}"
        ),
        advice=None if cached else "`ctt stack fetch` (or the first `--with connect`) fetches them",
    )


def _postgres() -> Check:
    """Server binaries for `--with postgres` (not needed by the default stack: never a failure)."""
    v = artifacts.load_versions()
    try:
        server = postgres.find_server(v.postgres.min_major)
        prefix = postgres.run_as()
    except InfraError as exc:
        return Check(
            name="postgres",
            ok=True,
            detail=f"not available for --with postgres: {exc.message}",
            advice=exc.hint,
        )
    runs_as = f", runs as {postgres.SERVICE_USER!r} (ctt is root)" if prefix else ""
    return Check(
        name="postgres",
        ok=True,
        detail=f"PostgreSQL {server.version} in {server.bin_dir}{runs_as}",
    )


def _disk() -> Check:
    root = paths.cache_dir()
    probe = root if root.exists() else root.parent
    while not probe.exists():
        probe = probe.parent
    free_gb = shutil.disk_usage(probe).free / 1e9
    ok = free_gb >= 2 or (artifacts.is_cached() and free_gb >= 0.5)
    advice = "free at least 2 GB (artifacts ~700 MB, Kafka and Flink data)"
    return Check.of("disk", ok, f"{free_gb:.1f} GB free at {probe}", advice)


def _ports() -> Check:
    st = state.read()
    if st is not None and st.alive_components():
        extras = "".join(
            f", {name} {port}"
            for name, port in (("Connect", st.ports.connect), ("PostgreSQL", st.ports.postgres))
            if port
        )
        return Check(
            name="ports",
            ok=True,
            detail=f"stack running on Kafka {st.ports.kafka}, Flink {st.ports.flink_rest}{extras}",
        )
    try:
        ports.pick_free(5)
    except OSError as exc:
        return Check.of("ports", False, str(exc), "free some local ports")
    busy = [p for p in (9092, 8081, 8083) if not ports.is_free(p)]
    detail = "free ports available (ctt picks free ones by default)"
    if busy:
        detail += "; in use: " + ", ".join(f"{p} by {ports.owner(p) or 'unknown'}" for p in busy)
    return Check(name="ports", ok=True, detail=detail)


CHECKS: list[Callable[[], Check]] = [_java, _maven, _cache, _connect, _postgres, _disk, _ports]


def run_checks() -> list[Check]:
    return [check() for check in CHECKS]

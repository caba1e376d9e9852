"""Pinned stack artifacts: resolve once into the cache, verify by sha256, then work offline.

Kafka, the Flink extras, the Kafka Connect worker and its JDBC sink plugin come
from Maven Central through ``mvn`` and the poms in ``stack/``; the Flink
distribution's jars come from the PyPI wheel ``apache-flink-libraries`` through
``pip`` with ``--require-hashes``. Every file that ends up in the cache is
checked against ``stack/artifacts.lock``. The Connect entries are fetched only
when a stack with Connect starts (or by ``ctt stack fetch``), so the default
stack neither downloads nor waits for them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import BaseModel

from ctt.errors import InfraError
from ctt.stack import paths

LOCK_FILE = "artifacts.lock"
_MARKER = ".verified"


class WheelPin(BaseModel):
    package: str
    version: str
    sha256: str


class KafkaPin(BaseModel):
    version: str
    pom: str


class FlinkPin(BaseModel):
    version: str
    connector: str
    wheel: WheelPin
    pom: str


class JdbcSinkPin(BaseModel):
    version: str
    postgresql_driver: str
    pom: str


class ConnectPin(BaseModel):
    """Kafka Connect runs the broker's own version; only its pom and the plugin are pinned here."""

    pom: str
    jdbc_sink: JdbcSinkPin


class PostgresPin(BaseModel):
    package: str
    min_major: int


class Versions(BaseModel):
    """``stack/versions.yaml``."""

    java_min: int
    kafka: KafkaPin
    flink: FlinkPin
    connect: ConnectPin
    postgres: PostgresPin


class ArtifactError(InfraError):
    """An artifact could not be fetched or did not match its pinned checksum."""


def load_versions() -> Versions:
    res = paths.stack_resources()
    return Versions.model_validate(yaml.safe_load((res / "versions.yaml").read_text()))


class Layout(BaseModel):
    """Where the verified artifacts of one pinned version set live in the cache."""

    root: Path
    kafka_version: str
    flink_version: str
    jdbc_sink_version: str

    @property
    def kafka_home(self) -> Path:
        return self.root / f"kafka-{self.kafka_version}"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_home / "libs"

    @property
    def flink_home(self) -> Path:
        return self.root / f"flink-{self.flink_version}"

    @property
    def flink_lib(self) -> Path:
        return self.flink_home / "lib"

    @property
    def flink_opt(self) -> Path:
        return self.flink_home / "opt"

    @property
    def bash_java_utils(self) -> Path:
        return self.flink_home / "bin" / "bash-java-utils.jar"

    def gateway_jar(self) -> Path:
        return self.flink_opt / f"flink-sql-gateway-{self.flink_version}.jar"

    @property
    def connect_home(self) -> Path:
        return self.root / f"connect-{self.kafka_version}"

    @property
    def connect_libs(self) -> Path:
        return self.connect_home / "libs"

    @property
    def jdbc_sink_home(self) -> Path:
        return self.root / f"jdbc-sink-{self.jdbc_sink_version}"

    @property
    def connect_plugin_path(self) -> Path:
        """Connect's ``plugin.path``: one folder per plugin below it."""
        return self.jdbc_sink_home / "plugins"


def layout(versions: Versions | None = None) -> Layout:
    v = versions or load_versions()
    return Layout(
        root=paths.cache_dir(),
        kafka_version=v.kafka.version,
        flink_version=v.flink.version,
        jdbc_sink_version=v.connect.jdbc_sink.version,
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    except FileNotFoundError:
        raise ArtifactError(
            f"cannot fetch {what}: {cmd[0]!r} is not installed", hint="run `ctt doctor`"
        ) from None
    if proc.returncode != 0:
        lines = [
            ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln or "error" in ln
        ]
        detail = lines[0].strip() if lines else (proc.stderr or proc.stdout).strip()[-300:]
        raise ArtifactError(
            f"download of {what} failed: {detail}",
            hint="check network access to the package registries",
        )


def _mvn_copy(pom: Path, dest: Path, *, transitive: bool, what: str) -> None:
    repo = paths.cache_dir() / "m2"
    cmd = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(pom),
        f"-Dmaven.repo.local={repo}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={dest}",
        "-DincludeScope=runtime",
    ]
    if not transitive:
        cmd.append("-DexcludeTransitive=true")
    _run(cmd, what)


def _fetch_kafka(v: Versions, lay: Layout, staging: Path) -> None:
    res = paths.stack_resources()
    _mvn_copy(
        res / v.kafka.pom, staging / "libs", transitive=True, what=f"Apache Kafka {v.kafka.version}"
    )


def _fetch_flink(v: Versions, lay: Layout, staging: Path) -> None:
    res = paths.stack_resources()
    wheel = v.flink.wheel
    with tempfile.TemporaryDirectory(prefix="ctt-wheel-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"{wheel.package}=={wheel.version} --hash=sha256:{wheel.sha256}\n")
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--require-hashes",
                "-r",
                str(req),
                "-d",
                tmp,
            ],
            f"{wheel.package} {wheel.version} (Flink distribution jars)",
        )
        whl = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(whl) as zf:
            for member in zf.namelist():
                if member.startswith("pyflink/lib/") and member.endswith(".jar"):
                    target = staging / "lib" / Path(member).name
                elif member == "pyflink/bin/bash-java-utils.jar":
                    target = staging / "bin" / "bash-java-utils.jar"
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    extras = staging / "extras"
    _mvn_copy(
        res / v.flink.pom,
        extras,
        transitive=False,
        what=f"flink-sql-gateway {v.flink.version} / flink-sql-connector-kafka {v.flink.connector}",
    )
    (staging / "opt").mkdir(exist_ok=True)
    for jar in extras.glob("*.jar"):
        dest = staging / ("opt" if jar.name.startswith("flink-sql-gateway") else "lib") / jar.name
        jar.rename(dest)
    extras.rmdir()


def _fetch_connect(v: Versions, lay: Layout, staging: Path) -> None:
    _mvn_copy(
        paths.stack_resources() / v.connect.pom,
        staging / "libs",
        transitive=True,
        what=f"Kafka Connect {v.kafka.version} (connect-runtime)",
    )


def _fetch_jdbc_sink(v: Versions, lay: Layout, staging: Path) -> None:
    pin = v.connect.jdbc_sink
    _mvn_copy(
        paths.stack_resources() / pin.pom,
        staging / "plugins" / "debezium-connector-jdbc",
        transitive=True,
        what=f"debezium-connector-jdbc {pin.version} + postgresql {pin.postgresql_driver}",
    )


def _stamp(files: dict[str, str] | None) -> str:
    """The marker's content: the lock entry it was verified against, so a changed lock refetches."""
    return hashlib.sha256(json.dumps(files or {}, sort_keys=True).encode()).hexdigest() + "\n"


def _is_current(home: Path, files: dict[str, str] | None) -> bool:
    marker = home / _MARKER
    return marker.is_file() and marker.read_text() == _stamp(files)


def _file_hashes(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): sha256(p) for p in sorted(home.rglob("*.jar"))}


def read_lock() -> dict[str, dict[str, str]]:
    path = paths.stack_resources() / LOCK_FILE
    if not path.is_file():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text())
    return data


def _verify(name: str, home: Path, lock: dict[str, dict[str, str]]) -> None:
    expected = lock.get(name)
    if expected is None:
        raise ArtifactError(
            f"{name} has no entry in stack/{LOCK_FILE}",
            hint="run `ctt stack fetch --relock` after changing stack/versions.yaml",
        )
    actual = _file_hashes(home)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(f for f in expected if f in actual and actual[f] != expected[f])
    if missing or extra or wrong:
        first = (wrong or missing or extra)[0]
        kind = "checksum mismatch" if wrong else ("missing file" if missing else "unexpected file")
        raise ArtifactError(
            f"{name}: {kind}: {first} (and {len(missing) + len(extra) + len(wrong) - 1} more)",
            hint="delete the cache entry and fetch again, or relock on purpose",
        )


Progress = Callable[[str], None]
Fetch = Callable[[Versions, Layout, Path], None]


def _entries(v: Versions, lay: Layout, *, connect: bool) -> list[tuple[str, Path, Fetch]]:
    """The cache entries to have: always Kafka and Flink, the Connect ones on request."""
    jobs: list[tuple[str, Path, Fetch]] = [
        (f"kafka-{v.kafka.version}", lay.kafka_home, _fetch_kafka),
        (f"flink-{v.flink.version}", lay.flink_home, _fetch_flink),
    ]
    if connect:
        jobs += [
            (f"connect-{v.kafka.version}", lay.connect_home, _fetch_connect),
            (f"jdbc-sink-{v.connect.jdbc_sink.version}", lay.jdbc_sink_home, _fetch_jdbc_sink),
        ]
    return jobs


def ensure(
    progress: Progress | None = None, *, relock: bool = False, connect: bool = True
) -> Layout:
    """Make sure every pinned artifact is in the cache and verified; fetch only what is missing.

    A verified entry carries a marker file, so later calls touch no network.
    With ``relock`` the fetched files' hashes are written to ``stack/artifacts.lock``.
    ``connect=False`` leaves out the Kafka Connect worker and its plugin (the default stack).
    """
    say = progress or (lambda _msg: None)
    v = load_versions()
    lay = layout(v)
    lay.root.mkdir(parents=True, exist_ok=True)
    current = {name for name, _h, _f in _entries(v, lay, connect=True)}
    lock = {name: files for name, files in read_lock().items() if name in current or not relock}
    for name, home, fetch in _entries(v, lay, connect=connect):
        if _is_current(home, lock.get(name)) and not relock:
            continue
        say(f"fetching {name} into {home}")
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=lay.root))
        try:
            fetch(v, lay, staging)
            if relock:
                lock[name] = _file_hashes(staging)
            else:
                _verify(name, staging, lock)
            if home.exists():
                shutil.rmtree(home)
            staging.rename(home)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        (home / _MARKER).write_text(_stamp(lock.get(name)))
        say(f"verified {name}")
    if relock:
        path = paths.stack_resources() / LOCK_FILE
        path.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
        say(f"wrote {path}")
    return lay


def is_cached(*, connect: bool = False) -> bool:
    """Whether the entries the stack needs are verified in the cache (with Connect's on request)."""
    v = load_versions()
    lock = read_lock()
    return all(
        _is_current(home, lock.get(name))
        for name, home, _f in _entries(v, layout(v), connect=connect)
    )

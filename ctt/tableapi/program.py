"""Load a Table API program, run it against a planning-only TableEnvironment, serialize its Table."""

from __future__ import annotations

import importlib.util
import os
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from ctt.config.spec import FlinkTest, TableApiProgram
from ctt.config.yaml_source import SourceMap
from ctt.errors import ConfigError, InfraError
from ctt.sql import ddl

__all__ = ["TableApiSql", "program_sql"]

_LOCK = threading.Lock()  # one py4j gateway per process: programs are built one at a time
_EXTRA_HINT = "install the extra: uv sync --extra table-api (or pip install 'ctt[table-api]')"


class TableApiSql(BaseModel):
    """The SQL a program's result Table stands for, as one CTAS into ``output``."""

    sql: str
    program: Path
    output: str


def _pyflink() -> Any:
    try:
        import pyflink.table as table_mod
    except ImportError:
        raise InfraError(
            "a table_api test needs PyFlink, which is not installed", hint=_EXTRA_HINT
        ) from None
    return table_mod


def _load(path: Path, function: str, where: Callable[[str], ConfigError]) -> Callable[..., Any]:
    if not path.is_file():
        raise where(f"table_api program {str(path)!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"ctt_table_api_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise where(f"table_api program {str(path)!r} is not a Python file")
    module: ModuleType = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise _raised(exc, path, "importing it") from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise where(f"table_api program {path.name} has no function {function!r}")
    return fn  # type: ignore[no-any-return]


def _message(exc: BaseException) -> str:
    """One line: the Java exception's when Flink refused (py4j), else the Python one's."""
    java = getattr(exc, "java_exception", None)
    text = str(java) if java is not None else f"{type(exc).__name__}: {exc}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _raised(exc: BaseException, path: Path, doing: str) -> ConfigError:
    """The user's program failed: at its own line, with the Java message when Flink refused."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    line = frames[-1].lineno if frames else None
    return ConfigError(
        f"the Table API program failed {doing}: {_message(exc)}", file=str(path), line=line
    )


_PLANNING_ONLY_ENV = {
    # The environment only plans, it never executes: without this PyFlink starts a loopback
    # server for Python workers, importing Apache Beam and gRPC (~2 s of CPU).
    "_python_worker_execution_mode": "process",
    # PyFlink's JVM lives for a run and only plans: the C1 compiler and the serial collector
    # take less CPU from the stack's JVMs beside it (as the stack's own JVMs do).
    "JVM_ARGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


def _environment(test: FlinkTest) -> Any:
    table_mod = _pyflink()
    for key, value in _PLANNING_ONLY_ENV.items():
        os.environ.setdefault(key, value)  # read by PyFlink; a value of the user's wins
    env = table_mod.TableEnvironment.create(table_mod.EnvironmentSettings.in_streaming_mode())
    env.get_config().set("table.local-time-zone", "UTC")
    for name, table in test.tables.items():
        # Planning only: nothing reads these; the runner declares the real ones in its session.
        env.execute_sql(ddl.source_table(name, table, topic=name, bootstrap="planning-only:9092"))
    return env


def program_sql(test: FlinkTest, spec_file: Path, smap: SourceMap | None = None) -> TableApiSql:
    """Run ``test.table_api``'s function and return the SQL of the Table it returns."""
    prog: TableApiProgram | None = test.table_api
    assert prog is not None
    loc = ("flink_transformation_tests", test.name, "table_api")

    def where(message: str) -> ConfigError:
        if smap is None:
            return ConfigError(message, file=str(spec_file))
        return smap.error(message, loc)

    path = (spec_file.parent / prog.program).resolve()
    table_mod = _pyflink()
    with _LOCK:
        fn = _load(path, prog.function, where)
        env = _environment(test)
        try:
            result = fn(env)
        except Exception as exc:
            raise _raised(exc, path, f"in {prog.function}()") from None
        if not isinstance(result, table_mod.Table):
            raise where(
                f"{path.name}:{prog.function}() returned {type(result).__name__}, not a Table"
            )
        try:
            query = result._j_table.getQueryOperation().asSerializableString()
        except Exception as exc:
            raise ConfigError(
                f"Flink cannot express the program's Table as SQL: {_message(exc)}",
                file=str(path),
                hint="Python UDFs and operations without a SQL form cannot run on the session "
                "cluster this way (docs/table-api.md)",
            ) from None
    return TableApiSql(
        sql=f"CREATE TABLE {ddl.quote(prog.output)} AS\n{query};\n",
        program=path,
        output=prog.output,
    )

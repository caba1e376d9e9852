"""The local stack: Kafka (KRaft) and a Flink session cluster with the SQL Gateway.

`up` renders configs into a run directory, starts the four JVMs at once, and
polls health with deadlines; `down` stops them and removes data. The state file
(``ctt.stack.state``) is the only link between calls, so any shell can manage
the stack that another one started. With ``--with connect,postgres`` a Kafka
Connect worker (``ctt.stack.connect``) and a PostgreSQL server
(``ctt.stack.postgres``) start beside them, at the same time; `up` on a running
stack adds the ones it lacks.
"""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil

from ctt.errors import InfraError
from ctt.polling import Backoff
from ctt.stack import (
    artifacts,
    certs,
    connect,
    health,
    paths,
    ports,
    postgres,
    process,
    state,
    warmup,
)
from ctt.stack.java import require_java
from ctt.stack.render import render as _render
from ctt.stack.settings import Extra, StackSettings
from ctt.stack.state import ComponentState, Ports, PostgresInfo, StackState

__all__ = ["LocalStack", "PortInUseError", "StackDiedError", "StackSettings"]

# The SASL listeners take PLAIN and both SCRAM mechanisms, for every SASL user.
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")

# Java 17 needs these opens for Flink's serializers and RPC (as Flink's own scripts pass).
_FLINK_JVM_OPENS = [
    *(
        f"--add-exports={m}=ALL-UNNAMED"
        for m in (
            "java.base/sun.net.util",
            "java.rmi/sun.rmi.registry",
            "jdk.compiler/com.sun.tools.javac.api",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.compiler/com.sun.tools.javac.parser",
            "jdk.compiler/com.sun.tools.javac.tree",
            "jdk.compiler/com.sun.tools.javac.util",
            "java.security.jgss/sun.security.krb5",
        )
    ),
    *(
        f"--add-opens=java.base/{p}=ALL-UNNAMED"
        for p in (
            "java.lang",
            "java.net",
            "java.io",
            "java.nio",
            "sun.nio.ch",
            "java.lang.reflect",
            "java.text",
            "java.time",
            "java.util",
            "java.util.concurrent",
            "java.util.concurrent.atomic",
            "java.util.concurrent.locks",
            "java.math",
        )
    ),
]


class StackDiedError(InfraError):
    """A component exited while starting."""


class PortInUseError(InfraError):
    """A configured port is taken."""


Say = Callable[[str], None]


def _check_free(wanted: dict[str, int]) -> None:
    for name, port in wanted.items():
        if port and not ports.is_free(port):
            who = ports.owner(port)
            raise PortInUseError(
                f"port {port} ({name.replace('_', ' ')}) is in use" + (f" by {who}" if who else ""),
                hint="stop that process or choose another port (0 picks a free one)",
            )


def _choose_ports(settings: StackSettings) -> Ports:
    _check_free(
        {
            "kafka": settings.kafka_port,
            "flink_rest": settings.flink_port,
            "sql_gateway": settings.gateway_port,
        }
    )
    free = iter(ports.pick_free(7))
    return _choose_extra_ports(
        settings,
        Ports(
            kafka=settings.kafka_port or next(free),
            kafka_controller=next(free),
            jobmanager_rpc=next(free),
            flink_rest=settings.flink_port or next(free),
            sql_gateway=settings.gateway_port or next(free),
            kafka_sasl=next(free) if settings.kafka_sasl_users else None,
            kafka_sasl_ssl=next(free) if settings.kafka_tls else None,
        ),
    )


def _choose_extra_ports(settings: StackSettings, base: Ports) -> Ports:
    """``base`` plus a port for each wanted extra that has none yet."""
    wanted = {
        "connect": settings.connect_port if settings.wants(Extra.CONNECT) else None,
        "postgres": settings.postgres_port if settings.wants(Extra.POSTGRES) else None,
    }
    missing = {k: v for k, v in wanted.items() if v is not None and getattr(base, k) is None}
    _check_free({k: v for k, v in missing.items() if v})
    free = iter(ports.pick_free(sum(1 for v in missing.values() if not v)))
    return base.model_copy(update={k: v or next(free) for k, v in missing.items()})


def _bash_java_utils(
    java: Path, lay: artifacts.Layout, conf: Path, what: str
) -> tuple[list[str], list[str]]:
    """JVM flags and dynamic properties Flink derives from its memory config (as its scripts do)."""
    cp = f"{lay.bash_java_utils}:{lay.flink_lib}/*"
    out = subprocess.run(
        [
            str(java),
            "-cp",
            cp,
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
            what,
            "--configDir",
            str(conf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    results = [
        ln.split(":", 1)[1]
        for ln in out.stdout.splitlines()
        if ln.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")
    ]
    if out.returncode != 0 or len(results) < 2:
        raise InfraError(
            f"Flink rejected its memory configuration: {(out.stdout + out.stderr).strip()[-300:]}"
        )
    return results[0].split(), results[1].split()


def _flink_classpath(lay: artifacts.Layout, *extra: Path) -> str:
    jars = sorted(lay.flink_lib.glob("*.jar"))
    # flink-dist must not shadow the table jars' service files: Flink's scripts put it last.
    jars.sort(key=lambda p: p.name.startswith("flink-dist"))
    return ":".join(str(p) for p in [*jars, *extra])


class LocalStack:
    """Starts, checks and stops the local stack recorded in the state file."""

    def __init__(self, settings: StackSettings | None = None, say: Say | None = None) -> None:
        self.settings = settings or StackSettings()
        self.say = say or (lambda _msg: None)
        self.added: list[Extra] = []  # extras the last `up` added to a running stack

    # -- queries ---------------------------------------------------------------------------
    def current(self) -> StackState | None:
        """The recorded stack if any of its processes still runs; a stale record is cleaned."""
        st = state.read()
        if st is None:
            if state.state_path().exists():
                state.remove()
            return None
        if not st.alive_components():
            self.say("found a stale state file (its processes are gone): cleaning it up")
            self._remove_run_dir(st.run_dir)
            if st.postgres is not None:
                postgres.remove_data(st.postgres.data_dir)
            state.remove()
            return None
        return st

    # -- up ----------------------------------------------------------------------------------
    def up(self) -> tuple[StackState, bool]:
        """Start the stack unless it runs; returns (state, started_now).

        On a running, healthy stack, the extras it lacks (``--with``) are added to it;
        ``started_now`` stays False, as the stack itself was there before.
        """
        existing = self.current()
        if existing is not None:
            healthy = health.component_health(existing)
            if not all(healthy.values()):
                broken = ", ".join(n for n, ok in healthy.items() if not ok)
                raise InfraError(
                    f"a stack is recorded but not healthy ({broken})",
                    hint="run `ctt stack down` and then `ctt stack up`",
                )
            if self._missing_extras(existing):
                self._add_extras(existing)
            return existing, False
        v = artifacts.load_versions()
        java = require_java(v.java_min)
        lay = artifacts.ensure(self.say, connect=self.settings.wants(Extra.CONNECT))
        chosen = _choose_ports(self.settings)
        run_dir = paths.state_dir() / "run"
        kept = (run_dir / "kafka-data" / "meta.properties").is_file()
        if not kept:
            self._remove_run_dir(run_dir)  # nothing kept by `down --keep`: start clean
            postgres.remove_data(postgres.data_dir(run_dir))
        for sub in ("conf", "logs", "kafka-data", "tmp", "checkpoints", "savepoints"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        st = StackState(
            run_dir=run_dir,
            started_at=datetime.now(UTC),
            slots=self.settings.slots,
            ports=chosen,
            kafka_version=v.kafka.version,
            flink_version=v.flink.version,
        )
        started = time.monotonic()
        try:
            self._start_kafka(java, lay, st)
            self._start_flink(java, lay, st)
            self._start_extras(java, lay, st, v)
            state.write(st)
            self._await_health(st, list(st.components))
        except BaseException:
            self.say("start failed: stopping what was started")
            self._stop(st, keep=True)
            state.remove()
            raise
        self.say(f"stack healthy in {time.monotonic() - started:.1f}s")
        if self.settings.warm_up:
            self.say(warmup.warm_up(st))
        return st, True

    # -- optional components: Kafka Connect and PostgreSQL ----------------------------------------
    def _missing_extras(self, st: StackState) -> list[Extra]:
        return [e for e in sorted(self.settings.extras) if e.value not in st.components]

    def _add_extras(self, st: StackState) -> None:
        """Start the wanted extras that the running stack lacks, beside it."""
        missing = self._missing_extras(st)
        self.say(f"adding {', '.join(missing)} to the running stack")
        v = artifacts.load_versions()
        java = require_java(v.java_min)
        lay = artifacts.ensure(self.say, connect=Extra.CONNECT in missing)
        before = dict(st.components)
        st.ports = _choose_extra_ports(self.settings, st.ports)
        started = time.monotonic()
        try:
            self._start_extras(java, lay, st, v)
            state.write(st)
            self._await_health(st, [e.value for e in missing])
        except BaseException:
            self.say("start failed: stopping what was added")
            added = {n: c for n, c in st.components.items() if n not in before}
            self._stop_components(added, postgres_data=st.postgres, keep=False)
            st.components = before
            st.ports = st.ports.model_copy(update={e.value: None for e in missing})
            st.postgres = None if Extra.POSTGRES in missing else st.postgres
            state.write(st)
            raise
        self.say(f"{', '.join(missing)} healthy in {time.monotonic() - started:.1f}s")
        self.added = missing

    def _start_extras(
        self, java: Path, lay: artifacts.Layout, st: StackState, v: artifacts.Versions
    ) -> None:
        # Connect's JVM boots while Kafka does (it waits for the broker itself); initdb runs
        # while all the JVMs boot.
        if self.settings.wants(Extra.CONNECT) and "connect" not in st.components:
            self._start_connect(java, lay, st)
        if self.settings.wants(Extra.POSTGRES) and "postgres" not in st.components:
            self._start_postgres(st, v)

    def _start_connect(self, java: Path, lay: artifacts.Layout, st: StackState) -> None:
        conf = st.run_dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        connect.render_config(conf, st.ports, lay)
        log = st.run_dir / "logs" / "connect.log"
        cmd = connect.command(
            java, lay, conf, heap=self.settings.connect_heap, options=self.settings.jvm_options
        )
        proc = process.spawn(cmd, log=log, cwd=st.run_dir)
        self._record(st, "connect", proc, st.ports.connect, st.kafka_version, log)

    def _start_postgres(self, st: StackState, v: artifacts.Versions) -> None:
        server = postgres.find_server(v.postgres.min_major)
        info = PostgresInfo(data_dir=postgres.data_dir(st.run_dir), version=server.version)
        if postgres.initialized(info.data_dir):
            self.say("reusing PostgreSQL data kept by `ctt stack down --keep`")
        else:
            postgres.init_cluster(server, info.data_dir, user=info.user)
        port = st.ports.postgres
        assert port is not None  # chosen with the extras
        log = st.run_dir / "logs" / "postgres.log"
        proc = process.spawn(postgres.command(server, info.data_dir, port), log=log)
        st.postgres = info
        self._record(st, "postgres", proc, port, server.version, log)

    def _record(
        self,
        st: StackState,
        name: str,
        proc: psutil.Process,
        port: int | None,
        version: str,
        log: Path,
    ) -> None:
        st.components[name] = ComponentState(
            name=name,
            pid=proc.pid,
            create_time=proc.create_time(),
            started_s=process.started_s(proc),
            port=port,
            version=version,
            log=log,
        )

    def _start_kafka(self, java: Path, lay: artifacts.Layout, st: StackState) -> None:
        conf = st.run_dir / "conf"
        props = conf / "server.properties"
        users = {u: p.get_secret_value() for u, p in self.settings.kafka_sasl_users.items()}
        tls = certs.issue(st.kafka_ca_file.parent) if st.kafka_ca_file else None
        _render(
            "server.properties.j2",
            props,
            ports=st.ports,
            data_dir=st.run_dir / "kafka-data",
            sasl_users=users,
            scram_mechanisms=SCRAM_MECHANISMS,
            tls=tls,
        )
        props.chmod(0o600)  # it may hold SASL passwords
        shutil.copy(
            paths.stack_resources() / "templates" / "kafka-log4j2.properties",
            conf / "kafka-log4j2.properties",
        )
        cp = f"{lay.kafka_libs}/*"
        if (st.run_dir / "kafka-data" / "meta.properties").is_file():
            self.say("reusing Kafka data kept by `ctt stack down --keep`")
        else:
            self._format_kafka(java, cp, conf, props, users)
        log = st.run_dir / "logs" / "kafka.log"
        proc = process.spawn(self._kafka_cmd(java, lay, conf), log=log)
        self._record(st, "kafka", proc, st.ports.kafka, st.kafka_version, log)

    @staticmethod
    def _format_kafka(java: Path, cp: str, conf: Path, props: Path, users: dict[str, str]) -> None:
        """Format KRaft storage once, with a fresh cluster id and the SASL users' SCRAM
        credentials (KRaft keeps them in its metadata log, so they are written here)."""
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = [
            arg
            for user, password in users.items()
            for mechanism in SCRAM_MECHANISMS
            for arg in ("--add-scram", f"{mechanism}=[name={user},password={password}]")
        ]
        fmt = subprocess.run(
            [
                str(java),
                "-cp",
                cp,
                f"-Dlog4j2.configurationFile={conf / 'kafka-log4j2.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(props),
                *scram,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if fmt.returncode != 0:
            raise InfraError(
                f"formatting Kafka storage failed: {(fmt.stdout + fmt.stderr).strip()[-300:]}"
            )

    def _kafka_cmd(self, java: Path, lay: artifacts.Layout, conf: Path) -> list[str]:
        heap = self.settings.kafka_heap
        return [
            str(java),
            *self.settings.jvm_options,
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={conf / 'kafka-log4j2.properties'}",
            "-cp",
            f"{lay.kafka_libs}/*",
            "kafka.Kafka",
            str(conf / "server.properties"),
        ]

    def _start_flink(self, java: Path, lay: artifacts.Layout, st: StackState) -> None:
        conf = st.run_dir / "conf"
        _render(
            "config.yaml.j2",
            conf / "config.yaml",
            ports=st.ports,
            settings=self.settings,
            run_dir=st.run_dir,
        )
        shutil.copy(
            paths.stack_resources() / "templates" / "flink-log4j.properties",
            conf / "log4j.properties",
        )
        for name in ("jobmanager", "taskmanager", "sql-gateway"):
            self._spawn_flink(java, lay, st, name)

    def _spawn_flink(self, java: Path, lay: artifacts.Layout, st: StackState, which: str) -> None:
        """Start one Flink process (again) with the run directory's config and record it."""
        conf = st.run_dir / "conf"
        logs = st.run_dir / "logs"
        common = [
            *self.settings.jvm_options,
            *_FLINK_JVM_OPENS,
            f"-Dlog4j.configurationFile=file:{conf / 'log4j.properties'}",
            f"-Dlog4j2.configurationFile=file:{conf / 'log4j.properties'}",
        ]
        env = {
            "FLINK_CONF_DIR": str(conf),
            "FLINK_LIB_DIR": str(lay.flink_lib),
            "FLINK_OPT_DIR": str(lay.flink_opt),
            "FLINK_HOME": str(lay.flink_home),
        }
        jm_jvm, jm_dyn = (
            _bash_java_utils(java, lay, conf, "GET_JM_RESOURCE_PARAMS")
            if which == "jobmanager"
            else ([], [])
        )
        tm_jvm, tm_dyn = (
            _bash_java_utils(java, lay, conf, "GET_TM_RESOURCE_PARAMS")
            if which == "taskmanager"
            else ([], [])
        )
        cp = _flink_classpath(lay)
        specs = [
            (
                "jobmanager",
                st.ports.flink_rest,
                [*jm_jvm, *common],
                [
                    "-cp",
                    cp,
                    "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                    "--configDir",
                    str(conf),
                    *jm_dyn,
                ],
            ),
            (
                "taskmanager",
                None,
                [*tm_jvm, *common],
                [
                    "-cp",
                    cp,
                    "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                    "--configDir",
                    str(conf),
                    *tm_dyn,
                ],
            ),
            (
                "sql-gateway",
                st.ports.sql_gateway,
                [f"-Xmx{self.settings.gateway_heap}", *common],
                [
                    "-cp",
                    _flink_classpath(lay, lay.gateway_jar()),
                    "org.apache.flink.table.gateway.SqlGateway",
                ],
            ),
        ]
        for name, port, jvm, main in (spec for spec in specs if spec[0] == which):
            log = logs / f"{name}.log"
            out = logs / f"{name}.out"
            proc = process.spawn([str(java), *jvm, f"-Dlog.file={log}", *main], log=out, env=env)
            self._record(st, name, proc, port, st.flink_version, log)

    def _await_health(self, st: StackState, names: list[str]) -> None:
        """Poll the health of ``names`` (and that no process died) until all pass or time runs out."""
        checks: dict[str, Callable[[], bool]] = {
            "kafka": lambda: health.kafka_ready(st.bootstrap_servers),
            "taskmanager": lambda: health.flink_ready(st.flink_rest_url),
            "sql-gateway": lambda: health.gateway_ready(st.gateway_url),
            "connect": lambda: connect.ready(st.require_connect()),
            "postgres": lambda: health.postgres_ready(st, create=True),
        }
        pending = {name: check for name, check in checks.items() if name in names}
        extras = any(e.value in pending for e in Extra)
        deadline_s = (
            self.settings.extras_start_deadline_s if extras else self.settings.start_deadline_s
        )
        end = time.monotonic() + deadline_s
        backoff = Backoff(0.5)
        while pending:
            for name, comp in st.components.items():
                if not comp.alive():
                    raise self._died(name, comp)
            for name in list(pending):
                if pending[name]():
                    self.say(f"{name} is healthy")
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > end:
                waiting = ", ".join(pending)
                raise InfraError(
                    f"stack not healthy after {deadline_s:.0f}s (waiting for {waiting})",
                    hint="see `ctt stack logs <component>` and `ctt doctor`",
                )
            backoff.wait()

    @staticmethod
    def _died(name: str, comp: ComponentState) -> StackDiedError:
        candidates = [comp.log, comp.log.with_suffix(".out")]
        lines: list[str] = []
        for path in candidates:
            lines = [ln for ln in process.tail(path, 40) if ln.strip()]
            if lines:
                break
        errors = [ln for ln in lines if "ERROR" in ln or "Exception" in ln] or lines
        last = " | ".join(ln.strip()[:200] for ln in errors[-3:]) or "no log output"
        return StackDiedError(f"{name} died while starting: {last}", hint=f"full log: {comp.log}")

    # -- down --------------------------------------------------------------------------------
    def down(self, *, keep: bool = False) -> StackState | None:
        st = state.read()
        if st is None:
            return None
        self._stop(st, keep=keep)
        state.remove()
        return st

    def _stop(self, st: StackState, *, keep: bool) -> None:
        self._stop_components(st.components, postgres_data=st.postgres, keep=keep)
        if not keep:
            self._remove_run_dir(st.run_dir)

    def _stop_components(
        self,
        components: dict[str, ComponentState],
        *,
        postgres_data: PostgresInfo | None,
        keep: bool,
    ) -> None:
        # Connect and Flink first (they talk to Kafka while winding down), Kafka last;
        # PostgreSQL on SIGINT, its fast shutdown (SIGTERM waits for every client to leave).
        order = ["connect", "sql-gateway", "taskmanager", "jobmanager", "kafka", "postgres"]
        alive = {n: components[n] for n in order if n in components and components[n].alive()}
        fast = {c.pid: signal.SIGINT for n, c in alive.items() if n == "postgres"}
        pids = [c.pid for c in alive.values()]
        killed = process.terminate(pids, deadline_s=self.settings.stop_deadline_s, signals=fast)
        if killed:
            self.say(f"SIGKILL sent to {len(killed)} process(es) that ignored SIGTERM")
        if postgres_data is not None and "postgres" in components and not keep:
            postgres.remove_data(postgres_data.data_dir)

    @staticmethod
    def _remove_run_dir(run_dir: Path) -> None:
        if run_dir.is_dir() and run_dir.is_relative_to(paths.state_dir()):
            shutil.rmtree(run_dir, ignore_errors=True)

    # -- kafka restart (failure testing) ---------------------------------------------------------
    def restart_kafka(self, *, deadline_s: float = 60.0) -> StackState:
        """Stop the broker (SIGTERM) and start it again on the same port and data."""
        st = self.current()
        if st is None:
            raise InfraError("no stack is running", hint="run `ctt stack up`")
        comp = st.components["kafka"]
        process.terminate([comp.pid], deadline_s=self.settings.stop_deadline_s)
        v = artifacts.load_versions()
        java = require_java(v.java_min)
        lay = artifacts.layout(v)
        proc = process.spawn(self._kafka_cmd(java, lay, st.run_dir / "conf"), log=comp.log)
        self._record(st, "kafka", proc, comp.port, comp.version, comp.log)
        state.write(st)
        if not process.wait_until(
            lambda: health.kafka_ready(st.bootstrap_servers), deadline_s=deadline_s
        ):
            raise InfraError(f"Kafka did not come back within {deadline_s:.0f}s")
        return st

    # -- Flink process faults (recovery testing) -------------------------------------------------
    def kill(self, component: str) -> int:
        """SIGKILL one Flink process by its recorded pid (no shutdown hooks run); its pid."""
        st = self._running()
        comp = st.components[component]
        if not comp.alive():
            raise InfraError(f"{component} (pid {comp.pid}) is not running")
        process.kill(comp.pid)
        return comp.pid

    def restart(self, component: str) -> StackState:
        """Start ``component`` again (the stack's supervision): stop it first if it still runs."""
        st = self._running()
        comp = st.components[component]
        if comp.alive():
            process.terminate([comp.pid], deadline_s=self.settings.stop_deadline_s)
        v = artifacts.load_versions()
        java = require_java(v.java_min)
        self._spawn_flink(java, artifacts.layout(v), st, component)
        state.write(st)
        return st

    def _running(self) -> StackState:
        st = state.read()
        if st is None:
            raise InfraError("no stack is running", hint="run `ctt stack up`")
        return st

"""``ctt env lease|renew|release|list`` and ``ctt run --env-pool``: shared test environments.

The pools come from environments.yaml; the leases live in the history database
(:mod:`ctt.ci.envpool`), so every job that points at the same database agrees.
"""

from __future__ import annotations

import functools
import os
import shlex
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.table import Table

from ctt.config.durations import parse_duration
from ctt.config.environments import DEFAULT_ENVIRONMENTS_FILE, EnvPool, load_env_pools
from ctt.config.yaml_source import suggest
from ctt.console import Output
from ctt.errors import InfraError, UsageError

__all__ = ["default_holder", "lease", "leased", "list_envs", "release", "renew", "with_env_pool"]


def default_holder() -> str:
    """Who holds a lease: the CI job when there is one, and always host and process."""
    job = os.environ.get("CI_JOB_NAME")
    job_id = os.environ.get("CI_JOB_ID")
    who = f"{job}#{job_id}" if job and job_id else (job or "local")
    return f"{who}@{socket.gethostname()}:{os.getpid()}"


def _seconds(text: str | None, what: str) -> float | None:
    try:
        return parse_duration(text) if text else None
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


def _pool(config: Path, name: str) -> EnvPool:
    pools = load_env_pools(config).pools
    if name not in pools:
        near = suggest(name, pools)
        raise UsageError(
            f"no environment pool {name!r} in {config}",
            hint=f"did you mean {near!r}?" if near else f"pools: {', '.join(pools) or 'none'}",
        )
    return pools[name]


def _store(history: str | None) -> Any:
    from ctt.ci.envpool import EnvPoolStore
    from ctt.ci.history import HistoryStore

    return EnvPoolStore(HistoryStore.open(history or os.environ.get("CTT_HISTORY_URL")))


def lease(
    out: Output,
    pool: str,
    *,
    config: Path = DEFAULT_ENVIRONMENTS_FILE,
    history: str | None = None,
    ttl: str | None = None,
    wait: str = "0s",
    holder: str | None = None,
    shell: bool = False,
) -> None:
    """Lease an environment and print it (``--shell``: ``export`` lines for ``eval``)."""
    got = _store(history).lease(
        pool,
        _pool(config, pool),
        holder or default_holder(),
        ttl=_seconds(ttl, "--ttl"),
        wait=_seconds(wait, "--wait") or 0.0,
    )
    if got.recovered_from:
        out.warn(f"took over the stale lease of {got.recovered_from} on {got.name}")
    if out.json_mode:
        out.emit_json(got)
    elif shell:
        env = {**got.env, **_marks(got.pool, got.name, got.lease_id)}
        lines = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in env.items())
        out.out.print(lines, markup=False, highlight=False, soft_wrap=True)
    else:
        out.info(
            f"leased {pool}/{got.name} until {got.expires_at:%H:%M:%S} UTC: lease {got.lease_id}"
        )


def renew(out: Output, lease_id: str, *, ttl: str, history: str | None = None) -> None:
    got = _store(history).renew(lease_id, _seconds(ttl, "--ttl") or 0.0)
    if out.json_mode:
        out.emit_json(got)
    else:
        out.info(f"renewed {got.pool}/{got.name} until {got.expires_at:%H:%M:%S} UTC")


def release(out: Output, lease_id: str, *, history: str | None = None) -> None:
    if not _store(history).release(lease_id):
        raise UsageError(f"lease {lease_id} is not held", hint="'ctt env list' shows the leases")
    out.info(f"released lease {lease_id}")


def list_envs(out: Output, pool: str | None = None, *, history: str | None = None) -> None:
    states = _store(history).list(pool)
    if out.json_mode:
        out.emit_json([s.model_dump(mode="json") for s in states])
        return
    table = Table(title=f"{len(states)} environments")
    for col in ("pool", "environment", "state", "holder", "expires", "leases"):
        table.add_column(col)
    for s in states:
        expires = f"{s.expires_at:%H:%M:%S}" if s.expires_at else ""
        table.add_row(s.pool, s.name, s.state, s.holder or "", expires, str(s.leases))
    out.table(table)


def _marks(pool: str, name: str, lease_id: str) -> dict[str, str]:
    return {"CTT_ENV_POOL": pool, "CTT_ENV_NAME": name, "CTT_ENV_LEASE": lease_id}


@contextmanager
def leased(
    out: Output,
    pool: str,
    *,
    config: Path = DEFAULT_ENVIRONMENTS_FILE,
    history: str | None = None,
    wait: float = 600.0,
) -> Iterator[dict[str, str]]:
    """Hold an environment of ``pool`` while the block runs, its variables in ``os.environ``.

    A background thread renews the lease every third of its TTL; the lease is
    released at the end, also when the block fails. A lease lost meanwhile (this
    process stalled past its TTL and another job took the environment) fails the
    run, since its results may mix two jobs' use of one environment.
    """
    spec = _pool(config, pool)
    store = _store(history)
    got = store.lease(pool, spec, default_holder(), wait=wait)
    if got.recovered_from:
        out.warn(f"took over the stale lease of {got.recovered_from} on {pool}/{got.name}")
    out.info(f"environment {pool}/{got.name} leased (lease {got.lease_id})")
    env = {**got.env, **_marks(pool, got.name, got.lease_id)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    stop = threading.Event()
    lost: list[str] = []

    def keep() -> None:
        while not stop.wait(spec.ttl / 3):
            try:
                store.renew(got.lease_id, spec.ttl)
            except (UsageError, InfraError) as exc:
                lost.append(str(exc))
                return

    renewer = threading.Thread(target=keep, name="ctt-env-renew", daemon=True)
    renewer.start()
    try:
        yield env
    finally:
        stop.set()
        renewer.join(timeout=30)
        store.release(got.lease_id)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        out.info(f"environment {pool}/{got.name} released")
    if lost:
        raise InfraError(f"the lease on {pool}/{got.name} was lost during the run: {lost[0]}")


def with_env_pool(fn: Callable[..., None]) -> Callable[..., None]:
    """``env_pool=NAME`` (and ``env_config``, ``env_history``) run ``fn`` inside :func:`leased`."""

    @functools.wraps(fn)
    def wrapper(
        out: Output,
        *args: Any,
        env_pool: str | None = None,
        env_config: Path = DEFAULT_ENVIRONMENTS_FILE,
        env_history: str | None = None,
        **kwargs: Any,
    ) -> None:
        if env_pool is None:
            return fn(out, *args, **kwargs)
        with leased(out, env_pool, config=env_config, history=env_history):
            return fn(out, *args, **kwargs)

    return wrapper

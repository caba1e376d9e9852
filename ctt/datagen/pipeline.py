"""Generate in a worker process while the caller produces: ``ctt generate`` on two cores.

One Python thread that generates (about 5-7 us per record) and also produces and
writes the ground truth (about 4-5 us) reaches only about 40% of Kafka's own
producer tool. :class:`PipelinedRecords` moves generation, value encoding and the
ground-truth lines (all but the offset) into a forked worker process that sends
batches of plain tuples; :func:`ctt.kafka.produce.produce` recognises it and
sends those tuples without making a :class:`GeneratedRecord` per record.

The records are those of :func:`ctt.datagen.generate.generate` for the same
arguments, byte for byte and in the same order: the worker runs that very
generator. Iterating a :class:`PipelinedRecords` yields them as
:class:`GeneratedRecord` (tests/unit/datagen/test_pipeline.py compares both paths).

Without ``fork`` (not Linux) the batches are made in the calling process.
"""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import pickle
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from ctt.config.datagen import Format, GeneratorConfig, MalformedKind, TableShape
from ctt.datagen.generate import _Generator
from ctt.datagen.ground_truth import line_parts_of
from ctt.errors import ConfigError, InfraError
from ctt.kafka.packed import (
    CLOSING,
    FIELDS,
    INDEX,
    KEY,
    LATE,
    MALFORMED,
    META,
    PARTITION,
    TIMESTAMP,
    VALUE,
    WATERMARK,
    Packed,
)
from ctt.kafka.record import GeneratedRecord

BATCH = 1000
"""Records per batch: large enough that pickling is cheap per record, small enough to start fast."""
DEPTH = 8
"""Batches the worker may run ahead (bounded: it cannot fill memory, or run far before produce)."""

# One record as a tuple, laid out as produce() sends it: the layout is ctt.kafka.packed's.


def _packer(json_values: bool, headers: list[tuple[str, bytes]] | None) -> Callable[..., Packed]:
    """Makes the tuple of a record from :class:`GeneratedRecord`'s fields (no record in between).

    ``fields`` is left out when it is the JSON value itself.
    """
    keys: dict[bytes, bytes] = {}

    def make(
        index: int,
        key: bytes | None,
        value: bytes,
        fields: dict[str, Any] | None,
        event_time_ms: int,
        partition: int,
        watermark_ms: int | None,
        late: bool,
        malformed: MalformedKind | None,
        closing: bool,
        _headers: object,
    ) -> Packed:
        prefix, suffix = line_parts_of(
            json_values,
            keys,
            index,
            key,
            value,
            fields,
            event_time_ms,
            partition,
            watermark_ms,
            late,
            malformed,
            closing,
        )
        size = len(value)
        meta = (
            size,
            size + (len(key) if key else 0),
            prefix,
            suffix,
            late,
            None if malformed is None else malformed.value,
            closing,
            index,
            watermark_ms,
            None if json_values and malformed is None and fields is not None else fields,
        )
        return (value, key, partition, event_time_ms, headers, meta)

    return make


def unpack(p: Packed, headers: tuple[tuple[str, bytes], ...], json_values: bool) -> GeneratedRecord:
    """The :class:`GeneratedRecord` of a tuple made by :func:`pack`."""
    meta = p[META]
    malformed = None if meta[MALFORMED] is None else MalformedKind(meta[MALFORMED])
    fields = meta[FIELDS]
    if fields is None and json_values and malformed is None:
        fields = orjson.loads(p[VALUE])  # exact: the value is orjson's encoding of fields
    return GeneratedRecord(
        meta[INDEX],
        p[KEY],
        p[VALUE],
        fields,
        p[TIMESTAMP],
        p[PARTITION],
        meta[WATERMARK],
        meta[LATE],
        malformed,
        meta[CLOSING],
        headers,
    )


def _batches_of(gen: _Generator, json_values: bool, size: int) -> Iterator[list[Packed]]:
    out: list[Packed] = []
    for packed in gen.run(_packer(json_values, list(gen.headers) or None)):
        out.append(packed)
        if len(out) >= size:
            yield out
            out = []
    if out:
        yield out


def _work(gen: _Generator, q: Any, json_values: bool, size: int) -> None:
    """The worker process: batches into ``q``, then ``None``; a failure as ``("error", text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    gc.freeze()  # the parent's objects: never scanned (and never copied on write) here
    try:
        for batch in _batches_of(gen, json_values, size):
            q.put(_dumps(batch))
        q.put(None)
    except Exception as exc:  # reported to the parent, which raises it
        q.put(("error", isinstance(exc, ConfigError), f"{type(exc).__name__}: {exc}"))


def _dumps(batch: list[Packed]) -> bytes:
    """Pickle without a memo (a third cheaper): tuples of bytes, ints and JSON-like values."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: nothing in a batch refers to itself
    pickler.dump(batch)
    return buf.getvalue()


def _can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


class PipelinedRecords:
    """``generate(table, config, references=...)`` made in a worker process, in batches.

    Settings are checked here, in the caller, as :func:`generate` does. The
    worker starts at once (forked before the caller creates its producer) and
    runs at most :data:`DEPTH` batches ahead. Call :meth:`close` (or use it as
    a context manager) if the records are not consumed to the end.
    """

    def __init__(
        self,
        table: TableShape,
        config: GeneratorConfig,
        *,
        references: dict[str, list[dict[str, Any]]] | None = None,
        batch: int = BATCH,
        fork: bool | None = None,
    ) -> None:
        self._args = (table, config, references)
        self._gen = _Generator(table, config, references)  # raises ConfigError now
        self.json_values = config.format is Format.JSON
        self.headers = self._gen.headers
        self._batch = batch
        self._fork = _can_fork() if fork is None else fork
        self._proc: BaseProcess | None = None
        self._queue: Any = None
        if self._fork:
            self._start()

    def _start(self) -> None:
        # the child would write the parent's unflushed output a second time when it exits
        sys.stdout.flush()
        sys.stderr.flush()
        ctx = multiprocessing.get_context("fork")
        self._queue = ctx.Queue(maxsize=DEPTH)
        self._proc = ctx.Process(
            target=_work,
            args=(self._gen, self._queue, self.json_values, self._batch),
            name="ctt-datagen",
            daemon=True,
        )
        self._proc.start()

    def batches(self) -> Iterator[list[Packed]]:
        """The records as lists of :func:`pack` tuples, in emission order."""
        if not self._fork:
            gen, self._gen = self._gen, _Generator(*self._args)
            yield from _batches_of(gen, self.json_values, self._batch)
            return
        if self._proc is None:
            self._start()
        proc, q = self._proc, self._queue
        assert proc is not None
        try:
            while True:
                try:
                    item = q.get(timeout=1.0)
                except queue.Empty:
                    if not proc.is_alive():
                        raise InfraError(
                            f"the generator process ended without its records "
                            f"(exit code {proc.exitcode})"
                        ) from None
                    continue
                if item is None:
                    break
                if isinstance(item, tuple):
                    _, settings, text = item
                    if settings:
                        raise ConfigError(f"generator: {text.split(': ', 1)[1]}")
                    raise InfraError(f"the generator process failed: {text}")
                yield pickle.loads(item)
        finally:
            self.close()

    def __iter__(self) -> Iterator[GeneratedRecord]:
        headers, json_values = self.headers, self.json_values
        for batch in self.batches():
            for p in batch:
                yield unpack(p, headers, json_values)

    def close(self) -> None:
        """Stop the worker (if running); iterating again starts a new one."""
        proc, q = self._proc, self._queue
        self._proc = self._queue = None
        if proc is None:
            return
        if proc.is_alive():
            proc.terminate()
        proc.join(5.0)
        q.close()
        q.cancel_join_thread()

    def __enter__(self) -> PipelinedRecords:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit there may be nothing to stop
            self.close()


def generate_pipelined(
    table: TableShape,
    config: GeneratorConfig,
    *,
    references: dict[str, list[dict[str, Any]]] | None = None,
) -> PipelinedRecords:
    """:func:`ctt.datagen.generate.generate`'s records, generated in a worker process."""
    return PipelinedRecords(table, config, references=references)

"""A run on a Flink cluster and Kafka that ctt did not start (``ctt run --profile``, ``CTT_*``).

The runner is the one the local stack uses, over the same engine (SQL Gateway + Flink
REST); this module builds its seams from a :class:`~ctt.config.cluster.ClusterProfile`
(auth headers, Kafka security, Kafka as Flink reaches it), sizes the run to the slots
the cluster has free, says up front which tests need the local stack, and at the end
removes whatever of its own run is still there. Other runs sharing the cluster are
never touched: everything is chosen by this run's id (:mod:`ctt.flinktest.leftovers`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from ctt.config.cluster import ClusterProfile
from ctt.config.spec import LoadedTest
from ctt.engines.base import Capacity, EngineError
from ctt.engines.factory import EngineFactory, LocalEngineSettings, engine_factory
from ctt.engines.flink_rest import FlinkRest
from ctt.errors import CttError, InfraError
from ctt.flinktest import leftovers
from ctt.kafka.client import ConfluentKafka
from ctt.kafka.naming import session_name

__all__ = ["RemoteTarget"]

Say = Callable[[str], None]


class RemoteTarget:
    """The runner's engine factory and Kafka client for one run on an existing cluster."""

    def __init__(
        self,
        cluster: ClusterProfile,
        *,
        run_id: str,
        say: Say,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.run_id = run_id
        self.say = say
        self._rest_headers = cluster.rest_headers(env)
        self._unreached = False
        self.kafka = ConfluentKafka(
            cluster.kafka.bootstrap_servers, config=cluster.kafka_client_config(env)
        )
        self.flink_kafka = (cluster.flink_bootstrap, cluster.flink_kafka_properties(env))
        self.engines: EngineFactory = engine_factory(
            LocalEngineSettings(
                gateway_url=cluster.flink.gateway_url,
                rest_url=cluster.flink.rest_url,
                properties=cluster.flink.session_properties,
                gateway_headers=cluster.gateway_headers(env),
                rest_headers=self._rest_headers,
                session_name=session_name(run_id),
                elastic_slots=cluster.flink.elastic_slots,
            )
        )

    @contextlib.contextmanager
    def rest(self) -> Iterator[FlinkRest]:
        api = FlinkRest(
            self.cluster.flink.rest_url,
            headers={k: v.get_secret_value() for k, v in self._rest_headers.items()} or None,
        )
        try:
            yield api
        finally:
            api.close()

    def describe(self) -> str:
        return self.cluster.describe()

    def capacity(self) -> Capacity:
        with self.rest() as api:
            overview = api.overview()
        return Capacity(
            free_slots=int(overview.get("slots-available", 0)),
            total_slots=int(overview.get("slots-total", 0)),
        )

    def parallel(self, requested: int | None) -> int:
        """Tests at once: ``requested``, or the slots free now (each test's job takes one),
        at most the profile's ``max_parallel``; with elastic slots (TaskManagers started on
        demand) ``requested``, else ``max_parallel``, else the slots free now (at least 1)."""
        try:
            cap = self.capacity()
        except EngineError as exc:
            raise InfraError(str(exc), hint=exc.hint) from None
        free, total = cap.free_slots or 0, cap.total_slots or 0
        limit = self.cluster.max_parallel
        if self.cluster.flink.elastic_slots:
            chosen = requested or limit or max(1, free)
            self.say(f"elastic slots ({free} of {total} free now): {chosen} test(s) at once")
            return chosen
        if requested is not None:
            if requested > free:
                self.say(
                    f"{requested} tests at once but {free} of {total} slots free: "
                    "tests wait for a slot as other jobs finish"
                )
            return requested
        chosen = max(1, min(free, limit) if limit else free)
        self.say(
            f"{free} of {total} TaskManager slots free: {chosen} test(s) at once"
            + ("" if free else " (each waits for a slot)")
        )
        return chosen

    def check_kafka(self, timeout_s: float = 15.0) -> None:
        """Reach the brokers once before any test: a wrong CA file, password or address is
        one error with its cause at the start, not a timeout in every test."""
        try:
            self.kafka.admin.reach(timeout_s)
        except CttError as exc:
            self._unreached = True  # nothing of this run is on it: no cleanup to wait for
            raise InfraError(
                str(exc),
                hint="check kafka.bootstrap_servers, security_protocol, ssl_ca_location, "
                "the SASL user and CTT_KAFKA_SASL_PASSWORD",
            ) from None

    @staticmethod
    def refusal(lt: LoadedTest) -> str | None:
        """Why this test needs the local stack, or None."""
        if lt.test.recovery is not None:
            return "recovery kills and restarts the TaskManager, which only the local stack lets ctt do"
        return None

    def cleanup(self, *, keep_topics: bool = False) -> leftovers.Leftovers:
        """Remove what of this run is still on the cluster (idempotent; nothing of other runs)."""
        if self._unreached:
            return leftovers.Leftovers(topics=[], jobs=[])
        try:
            with self.rest() as api:
                found = leftovers.find(self.kafka.admin, api, leftovers.of_run(self.run_id))
                if keep_topics:
                    found.topics = []
                leftovers.remove(self.kafka.admin, api, found)
            return found
        except CttError as exc:
            self.say(f"cleanup: could not remove what run {self.run_id} left: {exc}")
            return leftovers.Leftovers(topics=[], jobs=[])

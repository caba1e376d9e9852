"""The sink side of a test: a Kafka Connect JDBC sink from the output topic into PostgreSQL.

``connect.py`` is the Connect REST client, ``connector.py`` the connector's settings and
lifecycle (run-scoped name, status watch, delete), ``postgres.py`` the target reader,
``envelope.py`` the JSON-with-schema records Flink writes for the connector, and
``watch.py`` the poller that notes when each row became visible. The runner drives them
(``ctt.flinktest.sink_run``); docs/spec-reference.md, ``sink:``.
"""

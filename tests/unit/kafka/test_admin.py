"""Topic administration against a broker that does not answer: a KafkaError, not a crash."""

from __future__ import annotations

import socket

import pytest

from ctt.kafka.admin import KafkaError, TopicAdmin


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("action", ["create", "delete"])
def test_an_unanswered_request_is_a_kafka_error_naming_the_topic(action: str) -> None:
    admin = TopicAdmin(f"127.0.0.1:{_closed_port()}", timeout_s=0.5)
    with pytest.raises(KafkaError, match=rf"cannot {action} topic t1: no answer from Kafka within"):
        if action == "create":
            admin.create({"t1": 1})
        else:
            admin.delete(["t1"])

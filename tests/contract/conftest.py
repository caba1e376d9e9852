"""Contract fixtures: Confluent's OpenAPI specs from ``../shared/reference/confluent-cloud``.

The repo is cloned with ``shared/`` beside it (``/work/main`` next to ``/work/shared``
here, any folder in CI); without the specs the contract tests skip and say why.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctt.engines.confluent import ConfluentEngine, ConfluentSettings

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "confluent-cloud"
ORG = str(uuid.UUID(int=0xC77))


@pytest.fixture(scope="session")
def spec_docs() -> dict[str, dict[str, Any]]:
    from tests.contract.confluent_server import SPEC_FILES, load_specs

    missing = [f for f in SPEC_FILES if not (SPEC_DIR / f).is_file()]
    if missing:
        pytest.skip(f"Confluent OpenAPI specs not found: {SPEC_DIR}/{missing[0]}")
    return load_specs(SPEC_DIR)


@pytest.fixture(scope="session")
def spec_apis(spec_docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from tests.contract.confluent_server import patched

    return patched(spec_docs)


@pytest.fixture
def server(spec_apis: dict[str, Any], spec_docs: dict[str, dict[str, Any]]) -> Iterator[Any]:
    from tests.contract.confluent_server import ContractApp, ContractServer

    srv = ContractServer(ContractApp(spec_apis, spec_docs))
    yield srv
    srv.close()
    assert srv.app.violations == [], "\n".join(srv.app.violations)


class Sleeps(list[float]):
    """Records the client's backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_settings(url: str, **overrides: Any) -> ConfluentSettings:
    values: dict[str, Any] = {
        "flink_api_key": "FLINKKEY",
        "flink_api_secret": "flink-secret",
        "org_id": ORG,
        "env_id": "env-abc123",
        "compute_pool_id": "lfcp-00001",
        "flink_rest_endpoint": url,
        "cloud_api_key": "CLOUDKEY",
        "cloud_api_secret": "cloud-secret",
        "cloud_api_endpoint": url,
        "telemetry_endpoint": url,
        "database": "lkc-xyz",
        "principal_id": "sa-123",
        "poll_interval_s": 0.0,
        "wait_timeout_s": 5.0,
    }
    values.update(overrides)
    return ConfluentSettings.model_validate(values)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def engine(server: Any, sleeps: Sleeps) -> Iterator[ConfluentEngine]:
    eng = ConfluentEngine(make_settings(server.url), sleep=sleeps, rng=random.Random(7))
    yield eng
    eng.close()

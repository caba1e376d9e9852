# The two quick-start commands (README): `make run` and `make test`. Both install what they need.
.PHONY: install run test test-fast lint bench

install:
	bash scripts/bootstrap.sh

# The main job: every spec under specs/ on the local stack (started if needed).
run: install
	uv run --frozen ctt run

# Every test: unit, contract, integration (real Kafka + Flink, started once), e2e.
test: install
	uv run --frozen pytest

# Unit and contract tests only: no JVM.
test-fast:
	uv run --frozen pytest -m "not integration and not e2e"

lint:
	uv run --frozen ruff check ctt tests bench
	uv run --frozen ruff format --check ctt
	uv run --frozen mypy ctt

bench: install
	uv run --frozen python bench/run_all.py $(BENCH_ARGS)

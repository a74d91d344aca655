# certdesk: `make run` to start it on a laptop, `make test` to run the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format typecheck check bench drill docs clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python -m config.run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Measures, never asserts (no test asserts a time): its own PostgreSQL database and Redis db 3
# (BENCH_DATABASE_URL, BENCH_REDIS_URL), about six minutes; not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m bench.run

# Fault drill: its own PostgreSQL, Redis, gunicorn, Celery worker and beat and an SMTP sink on
# spare ports under a temporary folder; the broker-down, broker-frozen and database-frozen cases;
# prints a table; about two minutes; not part of `make test` (docs/operations.md).
drill: $(STAMP)
	$(BIN)/python -m drill

# The documentation site (docs/, mkdocs.yml) into var/site/: open var/site/index.html. Strict: a
# link to a missing page or heading fails it (CI builds it after the tests).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

check: lint typecheck test

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache

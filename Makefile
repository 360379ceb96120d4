# ivig: two commands do everything on a fresh machine with python3, make and git.
#   make run   - set up .venv with pinned dependencies, then run the main job
#   make test  - same set-up, then ruff, mypy --strict, pytest with coverage
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest docs lock bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# The main job: the service (API, CDS Hooks, FHIR, web application) on a fresh SQLite registry
# with demonstration data; it prints the URL and one API token per role. Ctrl-C stops it.
run: setup
	@$(BIN)/ivig serve --demo

test: setup lint typecheck pytest

lint: setup
	@$(BIN)/ruff check --quiet src tests benchmarks
	@$(BIN)/ruff format --check --quiet src tests benchmarks

typecheck: setup
	@$(BIN)/mypy --no-error-summary src

pytest: setup
	@$(BIN)/pytest -q -p no:cacheprovider --cov --cov-report=term:skip-covered --cov-fail-under=85

docs: setup
	@$(BIN)/ivig kb docs > docs/knowledge.md

bench: setup
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Re-pin dependencies after changing pyproject.toml (writes requirements.lock).
lock:
	@rm -rf /tmp/ivig-lock && $(PYTHON) -m venv /tmp/ivig-lock
	@/tmp/ivig-lock/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	@/tmp/ivig-lock/bin/pip freeze --exclude-editable | grep -v '^ivig' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage

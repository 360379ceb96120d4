# ivig: two commands do everything on a fresh machine with python3, make and git.
#   make run   - set up .venv with pinned dependencies, then run the main job
#   make test  - same set-up, then ruff, mypy --strict, pytest with coverage
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint imports typecheck pytest docs lock check-core bench clean

setup: $(STAMP)

# Every dependency (the core, every adapter's extra, the test tools) pinned with its hashes, then
# ivig itself without dependencies: the lock alone decides what is installed.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# The main job: the service (API, CDS Hooks, FHIR, web application) on a fresh SQLite registry
# with demonstration data; it prints the URL and one API token per role. Ctrl-C stops it.
run: setup
	@$(BIN)/ivig serve --demo

test: setup lint imports typecheck pytest

lint: setup
	@$(BIN)/ruff check --quiet src tests benchmarks
	@$(BIN)/ruff format --check --quiet src tests benchmarks

# The import contracts of pyproject.toml (the layer diagram in CONTRIBUTING.md); quiet when kept.
imports: setup
	@out=$$($(BIN)/lint-imports --no-cache --no-logo 2>&1) || { echo "$$out"; exit 1; }

typecheck: setup
	@$(BIN)/mypy --no-error-summary src tests

pytest: setup
	@$(BIN)/pytest -q -p no:cacheprovider --cov --cov-report=term:skip-covered --cov-fail-under=85

docs: setup
	@$(BIN)/ivig kb docs > docs/knowledge.md
	@$(BIN)/ivig kb verification > docs/verification.md

bench: setup
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Re-pin dependencies after changing pyproject.toml: `uv pip compile` (uv from PyPI, in a
# throwaway venv) writes requirements.lock (everything `make setup` installs) and
# requirements-core.lock (the core alone), with the hashes of every platform's files. Versions
# already pinned are kept unless pyproject.toml needs others; `make lock UPGRADE=--upgrade` moves
# everything to the newest release.
UV_VERSION := 0.13.9
COMPILE = $$tmp/bin/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(UPGRADE)
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PYTHON) -m venv "$$tmp" \
	  && "$$tmp/bin/pip" install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
	  && $(COMPILE) --extra dev -o requirements.lock \
	  && $(COMPILE) -o requirements-core.lock

# The core installs and runs alone: a fresh venv from requirements-core.lock, ivig without its
# extras, then the knowledge validated from scratch and `ivig dose` (CI runs it after the tests).
check-core:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PYTHON) -m venv "$$tmp/venv" \
	  && "$$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r requirements-core.lock \
	  && "$$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps . \
	  && cd "$$tmp" && IVIG_CACHE_DIR="$$tmp/cache" "$$tmp/venv/bin/python" -c \
	     'import ivig.core.recommend, ivig.core.pk; from ivig.knowledge import load_knowledge; load_knowledge()' \
	  && IVIG_CACHE_DIR="$$tmp/cache" "$$tmp/venv/bin/ivig" dose --sex female --age 54 --height-cm 160 \
	     --weight-kg 90 --condition cidp --phase maintenance --policy au-2026 >/dev/null \
	  && ! "$$tmp/venv/bin/python" -c 'import fastapi' 2>/dev/null \
	  && echo "check-core: ivig.core, ivig.knowledge and ivig dose run with the core dependencies only"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage

# The two commands of the README: `make run` and `make test`; and `make bench`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CATALOGUES := $(wildcard lms/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test bench install translations extract lint format

run: install translations
	$(BIN)/lms db upgrade
	$(BIN)/lms courses import courses
	$(BIN)/lms demo
	$(BIN)/lms run --host 127.0.0.1 --port 5000

test: install translations lint
	$(BIN)/pytest

# Benchmarks, never part of the test gate: every benchmark with its baseline in the same run,
# at two data sizes, on the machine's PostgreSQL and Redis (started when not running); one
# table of figures and ratios, written to benchmarks/results/bench.json (see benchmarks/README.md).
# Options go through BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`.
bench: install translations
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

translations: $(COMPILED)

lms/translations/%/LC_MESSAGES/messages.mo: lms/translations/%/LC_MESSAGES/messages.po | install
	$(BIN)/pybabel compile --use-fuzzy -d lms/translations -l $* -i $< -o $@

# Re-extract the strings and merge them into both catalogues (then translate the new ones).
extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o lms/translations/messages.pot .
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching --ignore-obsolete

lint: install
	$(BIN)/ruff check lms tests migrations
	$(BIN)/ruff format --check lms tests migrations

format: install
	$(BIN)/ruff check --fix lms tests migrations
	$(BIN)/ruff format lms tests migrations

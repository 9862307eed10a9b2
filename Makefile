# The two commands of the README: `make run` and `make test`.
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

# Benchmarks, never part of the test gate: figures and ratios against a baseline of the
# same run (see benchmarks/README.md).
bench: install translations
	$(BIN)/python benchmarks/certificates.py --n 1000 --json benchmarks/results-certificates.json
	$(BIN)/python benchmarks/reports.py --scale 100000 --json benchmarks/results-reports.json

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

# PoreGuide: `make chat` to talk to the assistant, `make test` to run every check.
# Each target sets up what it needs first; `make setup` is idempotent and quick when nothing changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
SPACY_MARKER := var/spacy/poreguide_en/poreguide_fingerprint.json
MODEL := models/poreguide.tar.gz
TRAIN_INPUTS := config.yml domain.yml $(wildcard data/*.yml) bot/knowledge/treatments.yml bot/nlu/spelling.py bot/nlu/text_normalizer.py
WEB_DEPS := web/node_modules/.installed
ACTION_PORT ?= 5055
RASA_PORT ?= 5005
USERS ?= 50
FUZZ_EXAMPLES ?= 3000
TURNS ?= 20
DEADLINE ?= 900
BENCH_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Quiet TensorFlow's start-up chatter and SQLAlchemy 2.0 migration notices from Rasa's own code.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup seed train chat serve actions test fuzz browser bench report loadtest requests requests-csv lock clean

help:
	@echo "make chat     set everything up and talk to PoreGuide in the terminal"
	@echo "make test     set everything up and run the whole test suite"
	@echo "make fuzz     long Hypothesis fuzz of every channel, on SQLite then PostgreSQL (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES))"
	@echo "make setup    venv, spaCy pipeline, database, model (each only when out of date)"
	@echo "make train    retrain the model if data, domain, config or knowledge changed"
	@echo "make serve    action server + Rasa server (REST, website page /chat, Telegram/Slack if configured)"
	@echo "make actions  run the action server in the foreground on port $(ACTION_PORT)"
	@echo "make bench    PoreGuide vs Rasa's default bot: timings, memory, NLU quality (var/bench/)"
	@echo "make report   conversation analytics from the tracker store (var/report/report.html)"
	@echo "make loadtest USERS=50 TURNS=20 against a running 'make serve'"
	@echo "make requests      list consultation requests (staff); make requests-csv CSV=file.csv exports them"
	@echo "make lock     regenerate constraints.txt from the current venv"
	@echo "make clean    remove the venv, var/ and models/"

setup: $(INSTALLED) $(SPACY_MARKER) seed $(MODEL)

$(INSTALLED): pyproject.toml constraints.txt scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] < (3, 11))'; then \
	  rm -rf $(VENV) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV) || exit 1; \
	fi
	@echo "Installing dependencies (first time: about 3 minutes, 2.7 GB)..."
	@$(PY) -m pip install --quiet --upgrade "pip>=23,<25" "wheel<0.44" > $(VENV)/pip.log 2>&1 \
	  && $(PY) -m pip install --quiet -c constraints.txt -e '.[test]' >> $(VENV)/pip.log 2>&1; \
	status=$$?; grep -v "^WARNING: Location" $(VENV)/pip.log | grep -i -e error -e warning | head -20; exit $$status
	@touch $@

# The spaCy pipeline and data/vocabulary.yml are generated from the knowledge base vocabulary.
$(SPACY_MARKER): bot/knowledge/treatments.yml $(wildcard bot/nlp/*.py) | $(INSTALLED)
	@$(PY) -m bot.nlp build
	@touch $@

seed: $(INSTALLED)
	@$(PY) -m bot.knowledge seed

$(MODEL): $(TRAIN_INPUTS) | $(INSTALLED) $(SPACY_MARKER)
	@echo "Training the model (about a minute or two)..."
	@$(RASA) train --fixed-model-name poreguide --out models
	@touch $@

train: $(INSTALLED) $(SPACY_MARKER) $(MODEL)

chat: setup
	@$(PY) -m bot.launcher chat --action-port $(ACTION_PORT) --rasa-port $(RASA_PORT)

serve: setup $(WEB_DEPS)
	@$(PY) -m bot.launcher serve --action-port $(ACTION_PORT) --rasa-port $(RASA_PORT)

# The website widget's socket.io client, rasa-webchat (tested against our server) from npm.
$(WEB_DEPS): web/package.json web/package-lock.json
	@echo "Installing the website's JavaScript dependencies (npm ci)..."
	@cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's Chromium, driven by Playwright in the browser tests (Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

actions: $(INSTALLED) seed
	@SANIC_HOST=127.0.0.1 $(RASA) run actions --port $(ACTION_PORT)

test: setup $(WEB_DEPS) browser
	@set -o pipefail; $(PY) -m pytest

# The long fuzz run: FUZZ_EXAMPLES generated requests per channel test against real servers on
# 127.0.0.1, conversations in SQLite, then in PostgreSQL (127.0.0.1:5432, TEST_POSTGRES_URL). The
# short run (150 each) is part of `make test`. Figures: var/fuzz/last-run-*.json.
fuzz: setup
	@set -o pipefail; FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -p no:cacheprovider tests/test_hardening_fuzz.py
	@set -o pipefail; HARDENING_TRACKER=postgres FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -p no:cacheprovider tests/test_hardening_fuzz.py

bench: setup
	@$(PY) -m bot.benchmarks $(BENCH_ARGS)

report: $(INSTALLED)
	@$(PY) -m bot.analytics

loadtest: $(INSTALLED)
	@$(PY) -m bot.loadtest --users $(USERS) --turns $(TURNS) --deadline $(DEADLINE) --url http://127.0.0.1:$(RASA_PORT)

CSV ?= var/consultation-requests.csv

requests: $(INSTALLED)
	@$(PY) -m bot.consultations list

requests-csv: $(INSTALLED)
	@$(PY) -m bot.consultations export --csv $(CSV)

lock: $(INSTALLED)
	@{ echo "# Exact versions for a reproducible install: pip install -c constraints.txt -e '.[test]'"; \
	  echo "# Regenerate with 'make lock' after changing dependencies in pyproject.toml."; \
	  $(PY) -m pip freeze --exclude-editable 2>/dev/null | grep -v -i '^poreguide'; } > constraints.txt

clean:
	rm -rf $(VENV) var models results .pytest_cache web/node_modules

# PoreGuide: `make chat` to talk to the assistant, `make test` to run every check.
# Each target sets up what it needs first; `make setup` is idempotent and quick when nothing changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
# The action server's own venv (issue 19): newest Python 3.11-3.13 here, else none and $(VENV) runs it.
ACTION_VENV := .venv-actions
ACTION_INSTALLED := $(ACTION_VENV)/.installed
SPACY_MARKER := var/spacy/poreguide_en/poreguide_fingerprint.json
MODEL := models/poreguide.tar.gz
TRAIN_INPUTS := config.yml domain.yml $(wildcard data/*.yml) bot/knowledge/treatments.yml $(wildcard bot/nlu/*.py) $(wildcard bot/safety/*.py)
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

.PHONY: help setup seed train chat serve actions test fuzz browser bench readme-table report loadtest requests requests-csv lock clean

help:
	@echo "make chat     set everything up and talk to PoreGuide in the terminal"
	@echo "make test     set everything up and run the whole test suite (make lint first)"
	@echo "make check    make lint, then the tests that need no server: the edit-test loop, under 2 minutes"
	@echo "make lint     ruff (lint, format check) and mypy on bot/ and actions/; settings in pyproject.toml"
	@echo "make fuzz     long Hypothesis fuzz of every channel, on SQLite then PostgreSQL (FUZZ_EXAMPLES=$(FUZZ_EXAMPLES))"
	@echo "make setup    venv, spaCy pipeline, database, model (each only when out of date)"
	@echo "make train    retrain the model if data, domain, config or knowledge changed"
	@echo "make serve    action server + Rasa server (REST, website page /chat, Telegram/Slack if configured)"
	@echo "make actions  run the action server in the foreground on port $(ACTION_PORT)"
	@echo "make bench    PoreGuide vs Rasa's default bot: timings, memory, NLU quality (var/bench/)"
	@echo "make report   conversation analytics from the tracker store (var/report/report.html)"
	@echo "make loadtest USERS=50 TURNS=20 against a running 'make serve'"
	@echo "make requests      list consultation requests (staff); make requests-csv CSV=file.csv exports them"
	@echo "make purge    delete conversations, requests and staff notices past their retention period"
	@echo "make staff    the staff web page alone on 127.0.0.1:$${STAFF_PORT:-5006} (accounts: python -m bot.staff_page add-user NAME)"
	@echo "make lock     regenerate constraints.txt from the current venv"
	@echo "make clean    remove the venv, var/ and models/"

setup: $(INSTALLED) $(ACTION_INSTALLED) $(SPACY_MARKER) seed $(MODEL)

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

# rasa-sdk and the actions only (actions/requirements.lock), on a supported Python: the Rasa server
# stays on 3.10 in $(VENV). Without Python 3.11-3.13 this says so and the launcher uses $(VENV).
$(ACTION_INSTALLED): actions/requirements.lock constraints.txt scripts/action-venv.sh scripts/find-action-python.sh
	@scripts/action-venv.sh $(ACTION_VENV)

# The spaCy pipeline and data/vocabulary.yml are generated from the knowledge base vocabulary.
$(SPACY_MARKER): bot/knowledge/treatments.yml bot/nlu/spacy_pipeline.py bot/nlu/patterns.py bot/nlu/training_vocabulary.py | $(INSTALLED)
	@$(PY) -m bot.nlu build
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

# Debian's nginx for tests/test_deploy_nginx.py (the real nginx with deploy/nginx.conf).
.PHONY: nginx
nginx:
	@command -v nginx >/dev/null || { echo "Installing Debian's nginx for the proxy tests..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nginx >/dev/null; }

# The container deployment (deploy/) built and run here, end to end through nginx: podman behind the
# Docker API with docker-compose, base images made locally when no registry answers (deploy/test/).
.PHONY: deploy-test
deploy-test:
	@command -v podman >/dev/null && command -v docker-compose >/dev/null && command -v debootstrap >/dev/null \
	  && command -v nginx >/dev/null || { echo "Installing podman, docker-compose, debootstrap and nginx from Debian..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    podman buildah docker-compose debootstrap netavark aardvark-dns runc iptables nginx >/dev/null; }
	@$(SUDO) deploy/test/run.sh

actions: $(INSTALLED) $(ACTION_INSTALLED) seed
	@$(PY) -m bot.launcher actions --action-port $(ACTION_PORT)

# DEPLOY_TEST=1 (what CI runs) first builds and checks the container stack (make deploy-test): about 5 minutes
# when its base images and dependency layer are cached on the machine, 12-15 minutes from nothing.
test: lint setup $(WEB_DEPS) browser nginx
	@[ "$(DEPLOY_TEST)" != 1 ] || $(MAKE) --no-print-directory deploy-test
	@set -o pipefail; $(PY) -m pytest

# Fast, strict checks (settings in pyproject.toml), first in `make test`: ruff, mypy and the import layering
# (import-linter) always all run, so one pass reports every problem. `ruff format .` and `ruff check --fix .` repair most of what they find.
.PHONY: lint check
lint: $(INSTALLED)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy bot actions || status=1; \
	$(VENV)/bin/lint-imports --no-cache > $(VENV)/lint-imports.log 2>&1 || { cat $(VENV)/lint-imports.log; status=1; }; \
	exit $$status

# The edit-test loop: lint, then the tests that need no server (neither `slow` nor `server`, marked in
# tests/conftest.py): no Rasa, action server, PostgreSQL, Redis or SMTP. `make test` runs them all.
check: lint $(ACTION_INSTALLED)
	@set -o pipefail; $(PY) -m pytest -q -m "not slow and not server"

# The long fuzz run: FUZZ_EXAMPLES generated requests per channel test against real servers on
# 127.0.0.1, conversations in SQLite, then in PostgreSQL (127.0.0.1:5432, TEST_POSTGRES_URL). The
# short run (150 each) is part of `make test`. Figures: var/fuzz/last-run-*.json.
fuzz: setup
	@set -o pipefail; FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -p no:cacheprovider tests/test_hardening_fuzz.py
	@set -o pipefail; HARDENING_TRACKER=postgres FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -p no:cacheprovider tests/test_hardening_fuzz.py

bench: setup
	@$(PY) -m tooling.benchmarks $(BENCH_ARGS)

# The README's results table, from docs/bench/results.json and the kept load-test pair.
readme-table: $(INSTALLED)
	@$(PY) -m tooling.benchmarks.readme_table

report: $(INSTALLED)
	@$(PY) -m bot.analytics

# CHAOS=1: no `make serve` needed; own servers on 127.0.0.1 (PostgreSQL and Redis when there), the action
# server and a Rasa replica SIGKILLed during the run (tooling/loadtest_chaos.py). ARGS="--seed 7 ..." adds options.
loadtest: $(INSTALLED) $(if $(CHAOS),$(MODEL))
	@$(PY) -m tooling.loadtest_command --users $(USERS) --turns $(TURNS) --deadline $(DEADLINE) \
	  $(if $(CHAOS),--chaos,--url http://127.0.0.1:$(RASA_PORT)) $(ARGS)

CSV ?= var/consultation-requests.csv

requests: $(INSTALLED)
	@$(PY) -m bot.consultations list

requests-csv: $(INSTALLED)
	@$(PY) -m bot.consultations export --csv $(CSV)

# The retention purge now (the action server also runs it daily): conversations, consultation requests
# and staff notices older than RETENTION_*_DAYS (.env.example), printing how many of each it removed.
.PHONY: purge
purge: $(INSTALLED)
	@$(PY) -m bot.staff purge

# The staff web page alone (issue 15): requests, statuses, transcripts, CSV, deletion, audit log.
# STAFF_PORT (5006), STAFF_INTERFACE (127.0.0.1) and STAFF_SECRET from the environment or .env.
.PHONY: staff
staff: $(INSTALLED)
	@$(PY) -m bot.staff_page serve

lock: $(INSTALLED)
	@{ echo "# Exact versions for a reproducible install: pip install -c constraints.txt -e '.[test]'"; \
	  echo "# Regenerate with 'make lock' after changing dependencies in pyproject.toml."; \
	  $(PY) -m pip freeze --exclude-editable 2>/dev/null | grep -v -i '^poreguide'; } > constraints.txt
	@scripts/lock-actions.sh

clean:
	rm -rf $(VENV) $(ACTION_VENV) var models results .pytest_cache web/node_modules

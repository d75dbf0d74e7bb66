# tokenwatch — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

RUN_DIR  ?= .run
TOOLS    := .tools
BUF      := $(TOOLS)/node_modules/.bin/buf
CARGO    ?= cargo

##@ Setup

.PHONY: up
up: ## Start local Postgres and Redis on loopback (data in .run/), write .run/env
	@deploy/local/up.sh

.PHONY: down
down: ## Stop local Postgres and Redis
	@deploy/local/down.sh

.PHONY: clean-run
clean-run: down ## Stop and delete the local data (.run/, and its Postgres data if kept elsewhere)
	@if [ -f $(RUN_DIR)/ports ]; then source $(RUN_DIR)/ports; [ -n "$${pg_base:-}" ] && rm -rf "$$pg_base"; fi; true
	rm -rf $(RUN_DIR)

$(BUF):
	@command -v npm >/dev/null || { echo "npm is needed for buf: apt-get install -y npm"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) @bufbuild/buf@1.75.0

.PHONY: tools
tools: $(BUF) ## Install the lint tools (buf, from npm) under .tools/

.PHONY: ipdb
ipdb: ## Fetch the IP → ASN / country data (npm ip-location-db) into data/ipdb/
	@scripts/fetch-ipdb.sh

##@ Build

.PHONY: build
build: ## Build every crate (debug)
	$(CARGO) build --workspace --all-targets

.PHONY: release
release: ## Build the tokenwatch binary optimized (target/release/tokenwatch)
	$(CARGO) build --release -p tokenwatch

##@ Test

.PHONY: test
test: ipdb up ## Fetch the IP data, start Postgres and Redis, then run every test
	@source $(RUN_DIR)/env && deploy/local/drop-test-databases.sh
	@source $(RUN_DIR)/env && if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --profile ci; \
	else \
		$(CARGO) test --workspace; \
	fi

##@ Lint

.PHONY: lint
lint: $(BUF) ## fmt check, clippy -D warnings, buf lint, docs, log message format
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd proto && ../$(BUF) lint
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet
	scripts/check_log_format.sh

##@ Run

.PHONY: demo
demo: ipdb up ## Start everything locally, show it working, stop cleanly on Ctrl-C
	@$(CARGO) build --quiet --release -p tokenwatch
	@scripts/demo.sh

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

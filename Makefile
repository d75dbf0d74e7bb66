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

# Pinned generator versions: the committed SDKs are what exactly these produce.
BUF_VERSION          := 1.75.0
PROTOC_GEN_ES        := 2.17.0
GRPCIO_TOOLS         := 1.85.1
PROTOC_GEN_ES_BIN    := $(TOOLS)/node_modules/.bin/protoc-gen-es
PYTHON_TOOLS         := $(TOOLS)/venv/.tools-grpcio-$(GRPCIO_TOOLS)-validate-1.37.0

$(BUF) $(PROTOC_GEN_ES_BIN):
	@command -v npm >/dev/null || { echo "npm is needed for buf: apt-get install -y npm"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(TOOLS) @bufbuild/buf@$(BUF_VERSION) @bufbuild/protoc-gen-es@$(PROTOC_GEN_ES)

$(PYTHON_TOOLS):
	@command -v python3 >/dev/null || { echo "python3 is needed for the SDKs: apt-get install -y python3-venv"; exit 1; }
	python3 -m venv $(TOOLS)/venv
	$(TOOLS)/venv/bin/pip install --quiet --disable-pip-version-check grpcio-tools==$(GRPCIO_TOOLS) pytest==8.3.4 kubernetes-validate==1.37.0
	touch $@

.PHONY: tools
tools: $(BUF) $(PROTOC_GEN_ES_BIN) $(PYTHON_TOOLS) ## Install buf, the SDK generators and pytest under .tools/

.PHONY: sdks
sdks: tools ## Regenerate the client SDKs (sdks/python, sdks/typescript) from the protos
	rm -rf sdks/python/src/tokenwatch/*/ sdks/typescript/gen
	cd proto && ../$(BUF) generate

.PHONY: sdks-check
sdks-check: tools ## Fail when the committed SDKs differ from what the protos generate
	@scripts/check-sdks.sh

.PHONY: ipdb
ipdb: ## Fetch the IP → ASN / country data (npm ip-location-db) into data/ipdb/
	@scripts/fetch-ipdb.sh

##@ Build

.PHONY: build
build: ## Build every crate (debug)
	$(CARGO) build --workspace --all-targets

.PHONY: console
console: ## Build the analyst console (console/) into crates/console/assets, which the binary embeds
	@scripts/console-tools.sh
	@cd console && node build.mjs

.PHONY: release
release: ## Build the tokenwatch binary optimized (target/release/tokenwatch)
	$(CARGO) build --release -p tokenwatch

##@ Test

.PHONY: test
test: ipdb up tools ## Fetch the IP data, start Postgres and Redis, run every test, then the SDKs' against a live server
	@scripts/console-tools.sh --browser
	@source $(RUN_DIR)/env && deploy/local/drop-test-databases.sh
	@source $(RUN_DIR)/env && if $(CARGO) nextest --version >/dev/null 2>&1; then \
		TOKENWATCH_TEST_LOG=$${TOKENWATCH_TEST_LOG:-warn} TOKENWATCH_CONSOLE_TESTS=required TOKENWATCH_PDF_TESTS=required $(CARGO) nextest run --workspace --profile ci; \
	else \
		$(CARGO) test --workspace; \
	fi
	@scripts/sdk-test.sh
	@scripts/fuzz.sh --seconds 5

.PHONY: fuzz
fuzz: ## Fuzz every input parser ten million executions each (hours; FUZZ_RUNS to change)
	@scripts/fuzz.sh --runs $${FUZZ_RUNS:-10000000}

##@ Lint

.PHONY: lint
# The contracts as last released: `buf breaking` holds v1 to them (`make proto-release` moves it).
PROTO_RELEASE := release/v0.1.0.json

lint: tools ## fmt check, clippy -D warnings, buf lint and breaking, SDKs current, k8s overlays valid, docs, log format, dependency direction
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd proto && ../$(BUF) lint
	cd proto && ../$(BUF) breaking --against $(PROTO_RELEASE)
	scripts/check-sdks.sh
	scripts/check-console.sh
	scripts/check-kubernetes.sh
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet
	scripts/check_log_format.sh
	scripts/check-deps.sh

.PHONY: proto-release
proto-release: tools ## Record the protos as released (the baseline of buf breaking): VERSION=x.y.z
	@[ -n "$(VERSION)" ] || { echo "usage: make proto-release VERSION=x.y.z"; exit 1; }
	cd proto && ../$(BUF) build -o release/v$(VERSION).json
	@echo "now point PROTO_RELEASE in the Makefile at release/v$(VERSION).json"

##@ Run

.PHONY: demo
demo: ipdb up ## Start everything locally, show it working, stop cleanly on Ctrl-C
	@echo "demo: building tokenwatch (release; the first build takes 10-15 minutes on 2 cores, later ones seconds)"
	@$(CARGO) build --release -p tokenwatch
	@scripts/demo.sh

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
		/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

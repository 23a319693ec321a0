# Wild Rydes fan-out: the one interface for setup, tests and deploys. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Every folder under services/ with a manifest (service.toml), producers first: never typed again.
SERVICES := $(shell python3 -m scripts.services list)
# Where deploys go: aws (your configured profile/region) or local (localcloud on this machine).
TARGETS := aws local
# Stack names are $(STACK_PREFIX)-platform, $(STACK_PREFIX)-<service>: change it for a second environment.
# TARGET, STACK_PREFIX and SERVICE are taken as typed ($(value ...): make never expands them)
# and reach recipes through the environment, quoted: never pasted into a shell command. The
# scripts check them before anything touches AWS.
override TARGET := $(if $(value TARGET),$(value TARGET),aws)
override STACK_PREFIX := $(if $(value STACK_PREFIX),$(value STACK_PREFIX),wild-rydes)
override SERVICE := $(value SERVICE)
export TARGET STACK_PREFIX SERVICE

# Bytecode caches spare every Python start recompiling the repo's modules, and pytest its
# assertion rewriting; some machines turn them off for everything. make test's workers each
# collect every test module: 11.4 CPU-s each without them, 6.3 with. They go to .pycache/, not
# beside the sources: `sam build --cached` hashes a function's or layer's folder, and a new
# __pycache__ there would rebuild the layer (its wheels installed again) after every test run.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/.pycache

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt 2>/dev/null | cksum | cut -d' ' -f1)
# checkov pins boto3 and friends to versions aws-sam-cli cannot share: its own venv inside .venv,
# needed by make lint only (so make demo does not wait for it).
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements-checkov.txt 2>/dev/null | cksum | cut -d' ' -f1)
# Recursive (=): worked out only by make test, not by every make run.
TEST_WORKERS = $(shell echo $$(( $$(nproc) + 2 )))
STACKS := $(PY) -m scripts.stacks --target "$${TARGET}" --prefix "$${STACK_PREFIX}"

# Refuse a missing or unknown SERVICE / TARGET before anything touches AWS.
define require_service
	@if [ -z "$${SERVICE}" ] || [ -z "$(filter $(SERVICE),$(SERVICES))" ] || [ "$(words $(SERVICE))" != 1 ]; then \
	  echo "error: SERVICE='$${SERVICE}' is not a service. Use SERVICE=<name> with one of: $(SERVICES)" >&2; exit 2; fi
endef
define require_target
	@if [ -z "$(filter $(TARGET),$(TARGETS))" ] || [ "$(words $(TARGET))" != 1 ]; then \
	  echo "error: TARGET='$${TARGET}' is not a target. Use one of: $(TARGETS)" >&2; exit 2; fi
endef

.PHONY: help
help: ## List the targets
	@echo "Usage: make <target> [SERVICE=<$(subst $() ,|,$(SERVICES))>] [TARGET=aws|local]"
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: setup
setup: $(STAMP) $(CHECKOV_STAMP) ## Create .venv with the pinned toolchain and install the git hook (no-op when current)

$(STAMP): requirements-dev.txt
	@command -v python3.11 >/dev/null || { echo "error: python3.11 not found (pyenv install 3.11)" >&2; exit 1; }
	@test -x $(PY) || python3.11 -m venv $(VENV)
	@# pip compiles what it installs on one core; compileall -j 0 compiles it on every core
	@# (a fresh install on 2 cores: 76 s with pip's compile, 53 + 15 s this way).
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	@# A file that does not compile (a package's template, say) is only reported: pip's own
	@# compile skips such files too, and the stamp below must not wait on them.
	$(PY) -m compileall -q -j 0 $(VENV)/lib || echo "warning: some files of $(VENV) did not compile (see above)" >&2
	@if [ -d .git ]; then $(VENV)/bin/pre-commit install --install-hooks >/dev/null; fi
	@rm -f $(VENV)/.installed-*; touch $@

$(CHECKOV_STAMP): requirements-checkov.txt | $(STAMP)
	@test -x $(CHECKOV_VENV)/bin/python || python3.11 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-checkov.txt
	$(CHECKOV_VENV)/bin/python -m compileall -q -j 0 $(CHECKOV_VENV)/lib || echo "warning: some files of $(CHECKOV_VENV) did not compile (see above)" >&2
	@rm -f $(CHECKOV_VENV)/.installed-*; touch $@

.PHONY: lint
lint: setup ## Run every pre-commit check over all files (ruff, cfn-lint, checkov, YAML, whitespace)
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

.PHONY: test
test: setup ## Lint and the test suites (unit, templates, localcloud, end-to-end; not sam_apps, faults)
	@# Lint runs beside the tests and reports after them (scripts/beside.py says why); either
	@# failing fails. The tests: a file per worker at a time (module fixtures such as the
	@# end-to-end suite's deployment are built once), handed out in collection order, where
	@# conftest.py puts the longest files first (xdist's own reordering, by test count, started
	@# the end-to-end files last: 216-228 s where this order takes 197 s). As those mostly wait
	@# (batching windows, deploy polls), two workers more than cores keep every core busy (2
	@# cores, four interleaved pairs of runs: pytest 141-150 s with 4 workers, 151-172 s with 3,
	@# at the same CPU). The many-SAM-apps suite (marker sam_apps, ~36 CPU-s) is left to `make
	@# test-sam-apps`, which .ci/run runs next: with it the suite needed 307-337 CPU-s, over 3
	@# minutes on 2 cores.
	$(PY) -m scripts.beside --beside "$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure" \
	  -- $(VENV)/bin/pytest -q --numprocesses $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  -m "not sam_apps"

.PHONY: test-service
test-service: setup ## Tests of one stack: make test-service SERVICE=accounting
	$(require_service)
	$(VENV)/bin/pytest -q services/$(SERVICE)/tests

.PHONY: deploy-platform
deploy-platform: ## sam build + deploy the platform stack (topic, key, exports)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) deploy platform

.PHONY: deploy
deploy: ## sam build + deploy one service: make deploy SERVICE=accounting
	$(require_service)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) deploy $(SERVICE)

.PHONY: deploy-all
deploy-all: ## Deploy the platform, then every service
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) deploy platform $(SERVICES)

.PHONY: destroy
destroy: ## Delete one service stack: make destroy SERVICE=accounting
	$(require_service)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) destroy $(SERVICE)

.PHONY: destroy-platform
destroy-platform: ## Delete the platform stack (refused while a service still imports it)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) destroy platform

.PHONY: destroy-all
destroy-all: ## Delete every service, then the platform
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) destroy $(SERVICES) platform

# --- localcloud: the whole system on this machine, no Docker, no AWS account -----------------

.PHONY: local-up
local-up: setup ## Start localcloud in the background (idempotent; state in .localcloud/)
	$(PY) -m localcloud up

.PHONY: local-down
local-down: setup ## Stop localcloud and every process it started
	$(PY) -m localcloud down

.PHONY: local-status
local-status: setup ## Is localcloud running, and which stacks does it hold
	$(PY) -m localcloud status

.PHONY: local-env
local-env: setup ## Print export lines for AWS_ENDPOINT_URL, credentials, WILDRYDES_API_URL/KEY
	@$(PY) -m localcloud env --prefix "$${STACK_PREFIX}"

.PHONY: logs
logs: ## Recent logs of one service's functions: make logs SERVICE=accounting [TARGET=local]
	$(require_service)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(STACKS) logs $(SERVICE)

.PHONY: smoke
smoke: ## Submit the seed ride and show which services received it (TARGET=aws|local)
	$(require_target)
	@$(MAKE) -s --no-print-directory $(STAMP)
	$(PY) -m scripts.smoke --target "$${TARGET}" --prefix "$${STACK_PREFIX}"

.PHONY: trace
# RIDE and SINCE reach the scripts through the environment, never pasted into the shell.
trace: override export RIDE := $(value RIDE)
trace: $(STAMP) ## The journey of one ride through every service: make trace RIDE=<id> [TARGET=local]
	$(require_target)
	@$(PY) -m scripts.trace --target "$${TARGET}" --prefix "$${STACK_PREFIX}" -- "$${RIDE-}"

.PHONY: stats
stats: override export SINCE := $(if $(value SINCE),$(value SINCE),1h)
stats: $(STAMP) ## Per service, its metrics' counts and DLQ depths: make stats [SINCE=1h] [TARGET=local]
	$(require_target)
	@$(PY) -m scripts.stats --target "$${TARGET}" --prefix "$${STACK_PREFIX}" --since "$${SINCE}"

.PHONY: replay
# SINCE and RIDE, like SERVICE, reach the script through the environment, never the shell.
replay: override export SINCE := $(value SINCE)
replay: override export RIDE := $(value RIDE)
replay: $(STAMP) ## Backfill a consumer from the Rides table: make replay SERVICE=x [SINCE=<ISO-8601>] [RIDE=<id>]
	$(require_target)
	@$(PY) -m scripts.replay --target "$${TARGET}" --prefix "$${STACK_PREFIX}" --service "$${SERVICE-}" --since "$${SINCE-}" --ride "$${RIDE-}"

.PHONY: redrive
redrive: override export FROM := $(value FROM)
redrive: $(STAMP) ## Bring a consumer's DLQ back to its queue: make redrive SERVICE=x [FROM=dlq|delivery]
	$(require_target)
	@$(PY) -m scripts.redrive --target "$${TARGET}" --prefix "$${STACK_PREFIX}" --service "$${SERVICE-}" --from "$${FROM-}"

.PHONY: demo
demo: $(STAMP) ## Run everything locally: localcloud, all five stacks, rides that show the filters
	$(PY) -m scripts.demo

.PHONY: new-service
# NAME and FILTER reach the script through the environment, never pasted into the shell, and
# as typed: $(value ...) keeps make from expanding the "$or" of a filter policy, and only a NAME
# given on the command line counts (some shells export a NAME of their own).
new-service: override export NAME := $(if $(filter command line,$(origin NAME)),$(value NAME),)
new-service: override export FILTER := $(value FILTER)
new-service: $(STAMP) ## Scaffold a consumer service: make new-service NAME=<name> [FILTER='<SNS filter policy JSON>']
	@$(PY) -m scripts.new_service --name "$${NAME-}" --filter "$${FILTER-}"

.PHONY: test-e2e
test-e2e: setup ## Only the end-to-end tests (deploys all stacks into a private localcloud)
	$(VENV)/bin/pytest -q tests/e2e

.PHONY: test-faults
test-faults: setup ## AWS-side faults (throttling, 5xx, resets, a killed worker, a DLQ) in a private localcloud
	@# Not part of `make test` (pyproject's norecursedirs): a localcloud of its own with the
	@# fault proxy (LOCALCLOUD_FAULTS), about 2 minutes; the figures print at the end.
	$(VENV)/bin/pytest -q tests/faults

.PHONY: test-sam-apps
test-sam-apps: setup ## SAM apps of many shapes (queue, stream, S3, EventBridge, HTTP API, nested) deployed into localcloud
	@# Not part of `make test` (its time budget): the files marked sam_apps, one per worker.
	$(VENV)/bin/pytest -q --numprocesses 2 --dist loadfile -m sam_apps localcloud/tests

# --- CI: what .github/workflows call ------------------------------------------------------------

.PHONY: changed-stacks
changed-stacks: ## Stacks a change touches, as JSON: make changed-stacks BASE_SHA=<rev> [HEAD_SHA=<rev>]
	@# Standard library only, so CI can plan before installing anything; values come from the
	@# environment (BASE_SHA, HEAD_SHA, STACK, GITHUB_OUTPUT), never pasted into the shell.
	@python3 -m scripts.changed_stacks

.PHONY: test-core
test-core: setup ## Tests no single stack owns: platform, shared layer, localcloud, tooling (not e2e)
	$(VENV)/bin/pytest -q platform/tests shared/tests localcloud/tests tests --ignore=tests/e2e

.PHONY: bootstrap-ci
bootstrap-ci: setup ## Deploy the GitHub Actions deploy role once per account: make bootstrap-ci GITHUB_REPO=owner/name
	$(PY) -m scripts.bootstrap_ci --prefix "$${STACK_PREFIX}"

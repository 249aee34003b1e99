# wxless: `make run` (local stack) and `make test` (the whole suite) work on a fresh machine
# with nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run run-fresh test lint fmt bench package install clean soak infra deploy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 (make package) requires it
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# `make run` keeps its data in .local/state (WXLESS_LOCAL_STATE; set it empty to keep nothing);
# `make run-fresh` (or `make run FRESH=1`) moves that aside to .local/state.previous and starts empty.
LOCAL_STATE ?= .local/state
FRESH ?=

run: $(STAMP)
	WXLESS_LOCAL_STATE="$${WXLESS_LOCAL_STATE-$(LOCAL_STATE)}" WXLESS_LOCAL_FRESH="$(FRESH)" \
	  exec $(BIN)/python infra/local_run.py  # exec: make stays the parent (PR_SET_PDEATHSIG)

run-fresh: FRESH = 1
run-fresh: run

test: $(STAMP)
	@test -n "$$WXLESS_SKIP_BROWSER" || bash infra/install_browser.sh  # Chromium for tests/browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make bench` also installs the peers it compares with (wechatpy, WeRoBot), never needed by tests.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# The long forms of the reliability checks: 60 s of mixed load with retries on the local stack,
# then 10 minutes of coverage-guided fuzzing of the callback body.
soak: $(STAMP)
	WXLESS_LOAD_SECONDS=60 WXLESS_LOAD_CLIENTS=16 $(BIN)/python -m pytest -q tests/load
	$(BIN)/python tests/fuzz/atheris_callback.py -max_total_time=600 -rss_limit_mb=2048

# Deployment (README "Deploy"): `make infra` regenerates infra/template.json and the IAM policies
# from the code; `make package` builds the Lambda artifact and proves it (cfn-lint, import from the
# unzipped zip); `make deploy` is for an operator with AWS credentials and the aws CLI, never CI.
STAGE ?= dev
PACKAGE_ARGS ?=
DEPLOY_BUCKET ?=
ALARM_TOPIC_ARN ?=
TIMEZONE ?= Asia/Shanghai
OUT := build/package/$(STAGE)

infra: $(STAMP)
	$(BIN)/python infra/build.py

package: $(STAMP)
	$(BIN)/python infra/package.py --stage $(STAGE) $(PACKAGE_ARGS)

deploy: package
	@test -n "$(DEPLOY_BUCKET)" || { echo "set DEPLOY_BUCKET=<S3 bucket for deployment artifacts>"; exit 2; }
	@missing=$$(aws ssm get-parameters --query InvalidParameters --output text \
	    --names $$($(BIN)/python infra/build.py --ssm-names $(STAGE))); \
	  test -z "$$missing" || { echo "create these SSM parameters first: $$missing"; exit 2; }
	aws cloudformation package --use-json --template-file $(OUT)/out/sam.json \
	  --s3-bucket $(DEPLOY_BUCKET) --s3-prefix wxless-$(STAGE) --output-template-file $(OUT)/packaged.json
	aws cloudformation deploy --template-file $(OUT)/packaged.json --stack-name wxless-$(STAGE) \
	  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	  --parameter-overrides Stage=$(STAGE) AlarmTopicArn=$(ALARM_TOPIC_ARN) Timezone=$(TIMEZONE)
	aws cloudformation describe-stacks --stack-name wxless-$(STAGE) \
	  --query 'Stacks[0].Outputs' --output table

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build

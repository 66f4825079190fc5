# Two commands matter: `make demo` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench faults audit e2e clean venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	scripts/vendor-voice-sdk --optional
	$(BIN)/helpline demo

test: $(STAMP)
	scripts/ensure-chromium
	scripts/vendor-voice-sdk --optional
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy helpline ivr acd

bench: $(STAMP)
	$(BIN)/python -m bench

# Fault runs (docs/reliability.md): every scenario, 2 to 3 minutes each; exit 1 on a violation.
faults: $(STAMP)
	$(BIN)/python -m faults

# Dependency audit (docs/security.md): pip-audit against PyPI's vulnerability data, npm audit
# of the vendored Voice SDK. Needs the network, so `make test` never runs it.
audit: $(STAMP)
	scripts/audit

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# Two commands for a newcomer: `make run` starts the whole system, `make test` runs the tests.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PACKAGES := libs/common $(sort $(dir $(wildcard services/*/pyproject.toml)))
PYTEST_ARGS ?=

.PHONY: install infra test test-unit test-fast run demo reset bench contracts clean

$(VENV)/.installed: requirements.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES:/=))
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is not installed: install Python 3.11 or newer, or pass PYTHON=python3.x" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: $(PYTHON) is older than 3.11: pass PYTHON=python3.11 (or newer)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(addprefix -e ,$(PACKAGES))
	@touch $@

install: $(VENV)/.installed

infra:
	@scripts/ensure-infra.sh

test: install infra  ## every test: unit, integration, deploy checks, end to end
	@$(PY) -m scripts.preflight
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: install  ## fast pure-logic tests, no services needed
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

run: install infra  ## the whole system with the emulator and a demo academy (Ctrl-C stops it)
	$(PY) -m scripts.run_system

demo: install infra  ## plays the demo class to the end, prints logs, bills and payroll, exits
	$(PY) -m scripts.run_system --demo

reset: install  ## deletes the development database and vhost (asks first; YES=1 does not)
	@$(PY) -m scripts.reset $(if $(YES),--yes)

bench: install infra  ## every benchmark (or BENCH=bench.meet_calls for one)
	$(PY) -m bench $(BENCH)

contracts: install  ## docs/asyncapi.yaml and docs/events/*.schema.json from academy_common.contracts
	$(PY) -m scripts.contracts

clean:
	rm -rf $(VENV) .run

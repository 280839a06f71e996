# The two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
GOVCHAOS := $(VENV)/bin/govchaos

.PHONY: demo test bench soak clean venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m govchaos.demo

test: venv
	$(PY) -m pytest -q

bench: venv
	mkdir -p reports/bench
	$(PY) bench/policy.py --json reports/bench/policy.json
	$(PY) bench/audit.py --json reports/bench/audit.json
	$(PY) bench/gateway.py --json reports/bench/gateway.json
	$(PY) bench/failover.py --json reports/bench/failover.json
	$(PY) bench/harness.py --json reports/bench/harness.json
	$(PY) bench/report.py --json reports/bench/report.json

# Every standard scenario x 10 seeds (~30 min on 2 cores): a pass/flake table and JSON.
soak: venv
	mkdir -p reports/bench
	$(PY) bench/soak.py --json reports/bench/soak.json $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

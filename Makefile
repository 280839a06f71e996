# The two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
GOVCHAOS := $(VENV)/bin/govchaos

.PHONY: demo test bench clean venv

# opa-golib-python-bindings is the real OPA in-process (engine opa-go, the reference of the
# differential tests). Its metadata says Python >= 3.14 but it works on 3.11, so it is installed
# with --ignore-requires-python here instead of being a dependency in pyproject.toml.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	$(PIP) install --quiet --ignore-requires-python opa-golib-python-bindings==0.4.4
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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

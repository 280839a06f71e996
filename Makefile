# The two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
GOVCHAOS := $(VENV)/bin/govchaos

.PHONY: demo test bench soak clean venv litellm-check

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
	$(PY) bench/audit_volume.py --json reports/bench/audit_volume.json
	$(PY) bench/gateway.py --json reports/bench/gateway.json
	$(PY) bench/proxy_floor.py --json reports/bench/proxy_floor.json
	$(PY) bench/gateway.py --compare-workers --json reports/bench/gateway-workers.json
	$(PY) bench/failover.py --json reports/bench/failover.json
	$(PY) bench/harness.py --json reports/bench/harness.json
	$(PY) bench/report.py --json reports/bench/report.json
	$(PY) bench/gpu_detection.py --json reports/bench/gpu_detection.json

# LiteLLM in a venv of its own (its pins clash with ours), then the PII outage scenario against
# it: examples/external/litellm/README.md. litellm 1.109.1 pins certifi and
# litellm-proxy-extras releases the registry lacks; uv's --override takes the nearest ones.
# opentelemetry-sdk: without it LiteLLM retries a failing import on every request.
LITELLM_VENV    ?= .venv-litellm
LITELLM_VERSION ?= 1.109.1
LITELLM_DIR     := examples/external/litellm

$(LITELLM_VENV)/.installed: $(LITELLM_DIR)/overrides.txt
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet uv
	$(LITELLM_VENV)/bin/uv pip install --quiet --python $(LITELLM_VENV)/bin/python \
	    --override $(LITELLM_DIR)/overrides.txt 'litellm[proxy]==$(LITELLM_VERSION)' opentelemetry-sdk
	touch $@

litellm-check: venv $(LITELLM_VENV)/.installed
	GOVCHAOS_LITELLM_BIN=$(abspath $(LITELLM_VENV))/bin/litellm \
	    $(PY) -m pytest -q -p no:cacheprovider tests/integration/external/test_litellm.py

# Every standard scenario x 10 seeds (~30 min on 2 cores): a pass/flake table and JSON.
soak: venv
	mkdir -p reports/bench
	$(PY) bench/soak.py --json reports/bench/soak.json $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(LITELLM_VENV) build *.egg-info .pytest_cache .hypothesis

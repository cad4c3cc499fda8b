# The two commands: `make demo` and `make test`. Each installs whatever is missing first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SOLCX  := $(HOME)/.solcx/solc-v0.8.28

.PHONY: setup solcx test demo devnet-up devnet-down bench clean abi

setup: $(VENV)/.installed node_modules/.installed solcx

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: anything that depends on a looser torch would pull a CUDA build.
$(VENV)/.torch: | $(PY)
	$(PIP) install --quiet torch==2.13.0
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

# --ignore-scripts: the anvil launcher's postinstall would try to fetch a binary; the
# binary itself comes in @foundry-rs/anvil-linux-amd64.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# py-solc-x, brownie and forge look for solc here; rewritten each time so that it points
# at this checkout.
solcx:
	mkdir -p $(dir $(SOLCX))
	printf '#!/bin/sh\nexec node "%s/deploy/solc-shim.cjs" "$$@"\n' "$(CURDIR)" > $(SOLCX)
	chmod +x $(SOLCX)

# The ABI and bytecode that nodes load (pogo/net/abi/): regenerate after changing contracts/;
# tests/test_layout.py fails while they differ from a fresh compile.
abi: setup
	$(PY) -m pogo.dev.compiler

test: setup
	$(PY) -m pytest -q

demo: setup
	$(PY) -m pogo demo

devnet-up: setup
	$(PY) -m pogo devnet up

devnet-down:
	$(PY) -m pogo devnet down

bench: setup
	$(PY) -m benchmarks.core
	$(PY) -m benchmarks.gas

clean:
	-$(PY) -m pogo devnet down
	rm -rf $(VENV) node_modules .pogo build

# The two commands: `make demo` and `make test`. Each installs whatever is missing first.
# `make lint`: static analysis (slither over contracts/, ruff over the Python).
# `make fuzz`: the contract invariants (tests/forge/) at a large size.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SOLCX  := $(HOME)/.solcx/solc-v0.8.28
FORGE  := node_modules/@foundry-rs/forge-linux-amd64/bin/forge
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup solcx test demo devnet-up devnet-down bench clean abi lint fuzz brownie

setup: $(VENV)/.installed node_modules/.installed solcx $(CHROMIUM)

# Debian's chromium: the explorer's page test runs it headless. From the Debian mirror, once.
$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: anything that depends on a looser torch would pull a CUDA build.
$(VENV)/.torch: | $(PY)
	$(PIP) install --progress-bar on torch==2.13.0
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(PIP) install --progress-bar on -e '.[test]'
	touch $@

# --ignore-scripts: the anvil launcher's postinstall would try to fetch a binary; the
# binary itself comes in @foundry-rs/anvil-linux-amd64.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --progress
	touch $@

# py-solc-x, brownie and forge look for solc here; rewritten each time so that it points
# at this checkout.
solcx:
	mkdir -p $(dir $(SOLCX))
	printf '#!/bin/sh\nexec node "%s/deploy/solc-shim.cjs" "$$@"\n' "$(CURDIR)" > $(SOLCX)
	chmod +x $(SOLCX)

# brownie in a venv of its own (it pins its own web3); `make test` runs tests/test_brownie.py with it.
BROWNIE_VENV := .brownie-venv
brownie: $(BROWNIE_VENV)/bin/brownie solcx
	mkdir -p build/brownie
$(BROWNIE_VENV)/bin/brownie:
	$(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/pip install --quiet eth-brownie==1.22.2

# The ABI and bytecode that nodes load (pogo/net/abi/) and docs/EVENTS.md: regenerate after changing contracts/;
# tests/test_layout.py fails while they differ from a fresh compile.
abi: setup
	$(PY) -m pogo.dev.compiler
	$(PY) -m pogo.dev.eventsdoc

# Static analysis. slither and ruff live in their own venv, pinned, so that their dependencies
# never move web3 & co. in .venv and the findings do not change under a newer release.
# slither gets the repo's compiler settings exactly: a standard-json input built from
# pogo.dev.compiler.SETTINGS over every file in contracts/, compiled by deploy/solc (see
# slither.config.json, which also filters contracts/test/ out of the findings). Both run even if
# the first fails; any finding fails the target. Triage: docs/SLITHER.md.
LINT_VENV     := .lint-venv
LINT_BIN      := $(LINT_VENV)/bin
LINT_PKGS     := slither-analyzer==0.11.6 crytic-compile==0.4.2 ruff==0.17.6
SLITHER_INPUT := build/slither/input.json
PY_SOURCES    := pogo workers verifier deploy explorer benchmarks tests

$(LINT_BIN)/python:
	$(PYTHON) -m venv $(LINT_VENV)

$(LINT_VENV)/.installed: Makefile | $(LINT_BIN)/python
	$(LINT_BIN)/python -m pip install --quiet $(LINT_PKGS)
	touch $@

# crytic-compile reads foundry.toml through `forge config` even for a solc-json input, so forge
# goes on slither's PATH.
lint: $(VENV)/.installed node_modules/.installed $(LINT_VENV)/.installed
	mkdir -p $(dir $(SLITHER_INPUT))
	$(PY) -c 'import json, pathlib; from pogo.dev.compiler import SETTINGS; \
	files = sorted(p.as_posix() for p in pathlib.Path("contracts").rglob("*.sol")); \
	out = ["abi", "devdoc", "userdoc", "evm.bytecode.object", "evm.bytecode.sourceMap", \
	       "evm.deployedBytecode.object", "evm.deployedBytecode.sourceMap"]; \
	settings = {**SETTINGS, "outputSelection": {"*": {"*": out, "": ["ast"]}}}; \
	print(json.dumps({"language": "Solidity", "sources": {f: {"urls": [f]} for f in files}, "settings": settings}))' \
	> $(SLITHER_INPUT)
	@status=0; \
	echo "$(LINT_BIN)/slither $(SLITHER_INPUT) --compile-force-framework solc-json"; \
	PATH="$(CURDIR)/$(dir $(FORGE)):$$PATH" $(LINT_BIN)/slither $(SLITHER_INPUT) --compile-force-framework solc-json \
	    || status=1; \
	echo "$(LINT_BIN)/ruff check --output-format concise $(PY_SOURCES)"; \
	$(LINT_BIN)/ruff check --output-format concise $(PY_SOURCES) || status=1; \
	exit $$status

test: setup brownie
	$(PY) -m pytest -q

# The contract invariants of tests/forge/ at 2,000 runs x 200 calls with a fresh seed (make test
# runs them at 64 x 64 with a fixed seed, through tests/test_forge.py).

fuzz: setup
	FOUNDRY_PROFILE=fuzz $(FORGE) test --fuzz-seed $$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')

demo: setup
	$(PY) -m pogo demo

devnet-up: setup
	$(PY) -m pogo devnet up

devnet-down:
	$(PY) -m pogo devnet down

bench: setup
	$(PIP) install --quiet -e '.[test,bench]'
	$(PY) -m benchmarks.core
	$(PY) -m benchmarks.gas
	$(PY) -m benchmarks.scale --quick

clean:
	-$(PY) -m pogo devnet down
	rm -rf $(VENV) $(LINT_VENV) node_modules .pogo build
